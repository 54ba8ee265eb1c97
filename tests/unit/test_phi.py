"""The PHI detector: checksums, redaction, configuration, speed, and the labelled corpus."""

from __future__ import annotations

import random
import time
from collections import Counter
from itertools import pairwise

import pytest

from server.domain.phi import (
    DetectorConfig,
    Finding,
    Kind,
    detect,
    luhn_is_valid,
    nir_is_valid,
    ramq_is_valid,
    redact,
    snils_checksum,
    snils_is_valid,
)
from tests.unit.phi_corpus import CONFIG, CORPUS, parse


def kinds(text: str, config: DetectorConfig = CONFIG) -> list[tuple[Kind, str]]:
    return [(f.kind, f.text) for f in detect(text, config)]


# --- NIR -------------------------------------------------------------------------------------


def test_nir_key_is_97_minus_the_number_modulo_97() -> None:
    assert 97 - 2651113050075 % 97 == 9
    assert nir_is_valid("2 65 11 13 050 075 09")
    assert nir_is_valid("265111305007509")
    assert not nir_is_valid("2 65 11 13 050 075 10")  # key off by one
    assert not nir_is_valid("2 65 11 13 050 075 08")


def test_nir_corsica_counts_2a_as_19_and_2b_as_18() -> None:
    assert 97 - 2450919435061 % 97 == 26
    assert nir_is_valid("2 45 09 2A 435 061 26")
    assert not nir_is_valid("2 45 09 20 435 061 26")  # same digits without the A
    assert 97 - 2550318716799 % 97 == 96
    assert nir_is_valid("2 55 03 2B 716 799 96")
    assert not nir_is_valid("2 55 03 2A 716 799 96")


def test_nir_rejects_impossible_sex_digit_and_month() -> None:
    body = "5650113050075"  # sex digit 5 does not exist
    assert not nir_is_valid(body + f"{97 - int(body) % 97:02d}")
    body = "2651513050075"  # month 15
    assert not nir_is_valid(body + f"{97 - int(body) % 97:02d}")
    body = "2652013050075"  # month 20: unknown month, allowed
    assert nir_is_valid(body + f"{97 - int(body) % 97:02d}")


def test_nir_is_found_after_a_digit_that_starts_a_false_match() -> None:
    assert kinds("ticket 3 2 65 11 13 050 075 09") == [(Kind.NIR, "2 65 11 13 050 075 09")]


# --- SNILS, Luhn, RAMQ --------------------------------------------------------------------------


def test_snils_checksum() -> None:
    assert snils_checksum("112233445") == 95  # sum below 100 is the checksum itself
    assert snils_is_valid("112-233-445 95")
    assert not snils_is_valid("112-233-445 96")
    # A sum above 101 is reduced modulo 101.
    assert sum(int(d) * w for d, w in zip("275874400", range(9, 0, -1), strict=True)) == 220
    assert snils_checksum("275874400") == 18
    assert snils_is_valid("275-874-400 18")


@pytest.mark.parametrize(
    ("first_nine", "total"),
    [("050234316", 100), ("016103396", 101), ("999999999", 405)],
)
def test_snils_checksum_of_100_and_101_is_00(first_nine: str, total: int) -> None:
    assert sum(int(d) * w for d, w in zip(first_nine, range(9, 0, -1), strict=True)) == total
    expected = 0 if total in (100, 101) else total % 101  # 405 % 101 == 1
    assert snils_checksum(first_nine) == expected
    assert snils_is_valid(f"{first_nine}{expected:02d}")


def test_snils_numbers_up_to_001_001_998_carry_no_checksum() -> None:
    assert snils_is_valid("001-001-998 00")
    assert snils_is_valid("001-001-998 57")
    # ... so the detector asks for a keyword before flagging them.
    assert kinds("заявка 001-001-998 57") == []
    assert kinds("СНИЛС 001-001-998 57") == [(Kind.SNILS, "001-001-998 57")]


def test_luhn_for_the_ontario_health_card() -> None:
    assert luhn_is_valid("5459212352")
    assert not luhn_is_valid("5459212355")
    assert kinds("Health card 5459-212-352-MZ") == [(Kind.OHIP, "5459-212-352-MZ")]
    assert kinds("Health card 5459-212-355-MZ") == []
    # Ten bare digits need a keyword: without one they may be an order or a timestamp.
    assert kinds("order 5459212352") == []
    assert kinds("OHIP 5459212352") == [(Kind.OHIP, "5459212352")]


def test_ramq_date_part_must_be_plausible() -> None:
    assert ramq_is_valid("TREM 5803 1211")  # man born 1958-03-12
    assert ramq_is_valid("GAGL 8556 2318")  # woman born 1985-06-23 (month + 50)
    assert ramq_is_valid("ROYJ 0002 2912")  # 29 February
    assert not ramq_is_valid("ABCD 1234 5678")  # month 34
    assert not ramq_is_valid("GAGL 8563 0118")  # month 63 - 50 = 13
    assert not ramq_is_valid("TREM 5802 3011")  # 30 February


def test_oms_needs_a_policy_keyword_because_bank_cards_look_the_same() -> None:
    card = "4276 5901 3962 4596"
    assert luhn_is_valid(card.replace(" ", ""))
    assert kinds(f"Оплата картой {card} не прошла") == []
    assert kinds(f"Полис ОМС {card}") == [(Kind.OMS, card)]


# --- Dates of birth ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("née le 12/03/1985", "12/03/1985"),
        ("DOB: 1985-03-12", "1985-03-12"),
        ("born on March 12, 1985", "March 12, 1985"),
        ("дата рождения 12 марта 1985 г.", "12 марта 1985"),
        ("12.03.1985 (date de naissance)", "12.03.1985"),
    ],
)
def test_a_date_near_a_birth_keyword_is_a_birth_date(text: str, expected: str) -> None:
    assert kinds(text) == [(Kind.BIRTH_DATE, expected)]


@pytest.mark.parametrize(
    "text",
    [
        "depuis le 12/03/2025",
        "née le 31/02/1985",  # no such day
        "Patiente née à Lyon. Rendez-vous le 12/03/2025.",  # another sentence
        "né en 1985, revu le 12/03/2025",  # another number in between
    ],
)
def test_other_dates_are_not_birth_dates(text: str) -> None:
    assert kinds(text) == []


def test_a_keyword_after_a_date_counts_only_in_brackets() -> None:
    assert kinds("vu le 12/03/2025, née le 01/02/1980") == [(Kind.BIRTH_DATE, "01/02/1980")]
    assert kinds("vu le 01/02/1980 (née)") == [(Kind.BIRTH_DATE, "01/02/1980")]


# --- Overlaps and redaction --------------------------------------------------------------------


def test_a_nir_is_not_also_a_phone() -> None:
    text = "NIR 1 85 05 78 006 084 91, tél. 06 39 98 12 34"
    assert kinds(text) == [
        (Kind.NIR, "1 85 05 78 006 084 91"),
        (Kind.PHONE, "06 39 98 12 34"),
    ]


def test_a_configured_pattern_wins_over_a_phone_inside_it() -> None:
    config = DetectorConfig(identifier_patterns=(("PATIENT", r"\bPATIENT-\d{10}\b"),))
    assert kinds("dossier PATIENT-0639981234", config) == [(Kind.CUSTOM, "PATIENT-0639981234")]
    assert kinds("dossier 0639981234", config) == [(Kind.PHONE, "0639981234")]


def test_findings_are_sorted_and_do_not_overlap() -> None:
    for marked in CORPUS:
        findings = detect(parse(marked)[0], CONFIG)
        assert findings == sorted(findings, key=lambda f: f.start)
        assert all(a.end <= b.start for a, b in pairwise(findings))


def test_redact_replaces_each_finding_by_its_kind() -> None:
    text = "Mme X, née le 12/03/1985, NIR 2 65 11 13 050 075 09, mail x@exemple.fr, IPP 1234567."
    config = DetectorConfig(identifier_patterns=(("IPP", r"\bIPP\s*\d{7}\b"),))
    findings = detect(text, config)
    assert redact(text, findings) == "Mme X, née le [BIRTH_DATE], NIR [NIR], mail [EMAIL], [IPP]."
    for finding in findings:
        assert text[finding.start : finding.end] == finding.text


def test_redact_keeps_offsets_of_earlier_findings_valid() -> None:
    text = "a 06 39 98 12 34 b x@exemple.fr c"
    findings = [Finding(Kind.PHONE, 2, 16, "06 39 98 12 34", "phone-fr")]
    findings.append(Finding(Kind.EMAIL, 19, 31, "x@exemple.fr", "email"))
    assert redact(text, findings) == "a [PHONE] b [EMAIL] c"
    assert redact(text, reversed(findings)) == "a [PHONE] b [EMAIL] c"
    assert redact(text, []) == text


def test_redact_merges_overlapping_findings_instead_of_revealing_a_part() -> None:
    text = "id 0123456789 end"
    findings = [
        Finding(Kind.PHONE, 3, 13, "0123456789", "phone-fr"),
        Finding(Kind.CUSTOM, 8, 17, "56789 end", "X"),
    ]
    assert redact(text, findings) == "id [PHONE][X]"


# --- Configuration --------------------------------------------------------------------------


def test_configured_ipp_pattern_is_reported_with_its_label() -> None:
    config = DetectorConfig(identifier_patterns=(("IPP", r"\bIPP[\s:]*\d{6,10}\b"),))
    findings = detect("Patient IPP: 00123456 transféré, IPP 1234 incomplet.", config)
    assert [(f.kind, f.text, f.rule, f.marker) for f in findings] == [
        (Kind.CUSTOM, "IPP: 00123456", "IPP", "[IPP]")
    ]


def test_configuration_with_a_broken_pattern_fails_early() -> None:
    with pytest.raises(ValueError, match=r"IPP: missing \), unterminated"):
        DetectorConfig(identifier_patterns=(("IPP", r"IPP(\d+"),))
    with pytest.raises(ValueError, match="no label"):
        DetectorConfig(identifier_patterns=(("", r"\d+"),))


@pytest.mark.parametrize(
    "text",
    [
        "elodie marchand",
        "ÉLODIE MARCHAND",
        "Elodie Marchand",
        "MARCHAND Élodie",
        "Marchand, Elodie",
        "E\u0301lodie Marchand",  # accent typed as a combining character
    ],
)
def test_configured_names_ignore_case_accents_and_order(text: str) -> None:
    config = DetectorConfig(names=("Élodie Marchand",))
    assert kinds(f"Dossier de {text} verrouillé", config) == [(Kind.NAME, text)]


@pytest.mark.parametrize(
    "text", ["Élodie Marchandise", "Marchand Informatique", "Élodie", "Élodie Marchandon"]
)
def test_configured_names_match_whole_words_only(text: str) -> None:
    assert kinds(text, DetectorConfig(names=("Élodie Marchand",))) == []


def test_russian_names_are_found_in_their_declined_forms() -> None:
    config = DetectorConfig(names=("Мария Иванова",))
    for text in ("Мария Иванова", "Марии Ивановой", "Марию Иванову", "ИВАНОВА МАРИЯ"):
        assert kinds(f"Карта {text} задвоилась", config) == [(Kind.NAME, text)]
    assert kinds("Марина Иванова", config) == []


def test_names_are_not_in_the_explanation() -> None:
    finding = detect("Élodie Marchand", DetectorConfig(names=("Élodie Marchand",)))[0]
    assert "Marchand" not in finding.rule
    assert finding.marker == "[NAME]"


# --- Numbers as records and mail write them (issue 13, point 17) ---------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Dashes between digit groups.
        ("NIR 2-65-11-13-050-075-09 refusé", (Kind.NIR, "2-65-11-13-050-075-09")),
        ("NIR 2\u201165\u201111\u201113\u2011050\u2011075\u201109", (Kind.NIR, None)),
        ("Полис 7851-3137 3537-9907 не найден", (Kind.OMS, "7851-3137 3537-9907")),
        # Split across a line break, quoted or indented.
        ("NIR : 2 65 11 13\n050 075 09", (Kind.NIR, "2 65 11 13\n050 075 09")),
        ("> СНИЛС 275-874-\n> 400 18", (Kind.SNILS, "275-874-\n> 400 18")),
        ("Health card 5459-212-\r\n  352-MZ", (Kind.OHIP, "5459-212-\r\n  352-MZ")),
        # Unicode spaces between digit groups.
        ("NIR 2\u202f65\u202f11\u202f13\u202f050\u202f075\u202f09", (Kind.NIR, None)),
        ("СНИЛС 275\u2009874\u2009400\u200918", (Kind.SNILS, None)),
        ("tél. 06\u202f39\u202f98\u202f12\u202f34", (Kind.PHONE, None)),
        # A version code after a dash, a spaced dash or an en dash.
        ("OHIP 5459212352-MZ", (Kind.OHIP, "5459212352-MZ")),
        ("Health card 5459 212 352 - MZ", (Kind.OHIP, "5459 212 352 - MZ")),
        ("card 5459212352\u2013MZ", (Kind.OHIP, None)),
        # Keywords and orders of Russian and Ontario records.
        ("ЕНП 7763726516761222, прикрепление не найдено", (Kind.OMS, "7763726516761222")),
        ("Пациентка, 15.08.1983 г.р., не находит карту", (Kind.BIRTH_DATE, "15.08.1983")),
        ("Иванов И.И., 3 января 1949 г. р.", (Kind.BIRTH_DATE, "3 января 1949")),
        ("Пациент Орлов И.П. 09652351385 не отображается", (Kind.SNILS, "09652351385")),
        ("Белова Анна Сергеевна, 09652351385, запись", (Kind.SNILS, "09652351385")),
        ("Card number 1891041384 scanned at the desk", (Kind.OHIP, "1891041384")),
        ("HC# 1891041384 on the claim", (Kind.OHIP, "1891041384")),
        ("Patient 1891041384, DOB 1956-05-17", (Kind.OHIP, "1891041384")),
    ],
)
def test_identifiers_as_records_and_mail_write_them(
    text: str, expected: tuple[Kind, str | None]
) -> None:
    kind, written = expected
    found = [f for f in detect(text) if f.kind is kind]
    assert len(found) == 1, detect(text)
    # Offsets are the original text's, whatever normalisation the rules read.
    assert found[0].text == text[found[0].start : found[0].end]
    if written is not None:
        assert found[0].text == written


def test_redaction_replaces_the_original_characters_after_normalisation() -> None:
    text = "NIR\u00a0: 2\u202f65\u202f11\u202f13\n> 050\u202f075\u202f09 — tél. 06-39-98-12-34."
    assert redact(text, detect(text)) == "NIR\u00a0: [NIR] — tél. [PHONE]."


@pytest.mark.parametrize(
    "text",
    [
        "Le NIR 2-65-11-13-050-075-10 a une clé fausse.",  # the checksums still decide
        "СНИЛС 275\u2009874\u2009400\u200919 не проходит проверку.",
        "Order 4333917167 from the vendor portal.",  # ten digits, Luhn-valid, no keyword
        "Заказ 09652351385 от поставщика.",  # eleven digits, SNILS-valid, no context
        "Счёт от 15.08.2023 г. на оплату.",  # "г." alone is a year, not a birth
        "Version 2.14\n3.1045 and build 12\n34",
    ],
)
def test_normalisation_does_not_bring_false_alarms(text: str) -> None:
    assert detect(text) == []


# --- Speed ------------------------------------------------------------------------------------


def _log(size: int) -> str:
    rng = random.Random(20240312)
    lines: list[str] = []
    length = 0
    while length < size:
        line = (
            f"2024-03-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
            f"{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d} INFO [worker-{rng.randint(1, 16)}]"
            f" GET /api/tickets/{rng.randint(1, 99999)} from 10.{rng.randint(0, 255)}."
            f"{rng.randint(0, 255)}.{rng.randint(0, 255)} status=200 bytes={rng.randint(1, 10**6)}"
            f" trace={rng.getrandbits(64):016x} user=agent{rng.randint(1, 500)}@example.org"
        )
        if rng.random() < 0.02:
            line += " patient née le 12/03/1985 tel 06 39 98 12 34 NIR 2 65 11 13 050 075 09"
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines)


@pytest.mark.parametrize(
    "text",
    [
        _log(200_000),
        "1 " * 100_000,  # separators everywhere: the NIR pattern allows one between digits
        "a" * 200_000 + "@",  # a never-ending local part
        "a." * 100_000,  # a never-ending domain
        "x@" + "a." * 100_000,
        "0" * 200_000,
        "né le " * 35_000,
        "Élodie " * 30_000,
        "1\u202f" * 100_000,  # a Unicode space to normalise between every digit
        "1-\n> " * 50_000,  # a wrapped line after every digit
        "1 \t\n" * 50_000,
    ],
    ids=[
        *("log", "spaced-digits", "local-part", "dots", "domain", "zeros", "keywords", "names"),
        *("unicode-spaces", "wrapped", "breaks"),
    ],
)
def test_detect_is_fast_on_large_and_adversarial_text(text: str) -> None:
    config = DetectorConfig(
        identifier_patterns=(("IPP", r"\bIPP\s*\d{7,10}\b"),),
        names=("Élodie Marchand", "Мария Иванова"),
    )
    began = time.perf_counter()
    findings = detect(text, config)
    # About a second on an idle machine; catastrophic backtracking on 200 kB would take hours,
    # so a bound this loose catches it without failing on a loaded machine (load 20 on 2
    # cores made a 3-second bound fail).
    assert time.perf_counter() - began < 30
    assert all(f.kind in Kind for f in findings)


# --- The labelled corpus ----------------------------------------------------------------------


def test_corpus_precision_and_recall() -> None:
    gold_count: Counter[Kind] = Counter()
    found: Counter[Kind] = Counter()  # labelled entities the detector found
    predicted: Counter[Kind] = Counter()
    correct: Counter[Kind] = Counter()  # predictions that match a labelled entity
    errors: list[str] = []
    for marked in CORPUS:
        text, gold = parse(marked)
        findings = detect(text, CONFIG)

        def covers(f: Finding, kind: Kind, start: int, end: int) -> bool:
            return f.kind is kind and f.start <= start and end <= f.end

        for entity in gold:
            gold_count[entity.kind] += 1
            if any(covers(f, entity.kind, entity.start, entity.end) for f in findings):
                found[entity.kind] += 1
            else:
                errors.append(f"missed {entity.kind}: {text[entity.start : entity.end]!r}")
        for f in findings:
            predicted[f.kind] += 1
            if any(covers(f, e.kind, e.start, e.end) for e in gold):
                correct[f.kind] += 1
            else:
                errors.append(f"false {f.kind}: {f.text!r} in {text!r}")

    def ratio(numerator: int, denominator: int) -> float:
        return numerator / denominator if denominator else 1.0

    print(f"\n{len(CORPUS)} sentences")
    header = ("kind", "labelled", "found", "flagged", "right", "prec.", "recall")
    print(f"{header[0]:<11}", *(f"{h:>{max(len(h), 6)}}" for h in header[1:]))
    for kind in Kind:
        print(
            f"{kind:<11} {gold_count[kind]:>8} {found[kind]:>6} {predicted[kind]:>7}"
            f" {correct[kind]:>6} {ratio(correct[kind], predicted[kind]):>6.3f}"
            f" {ratio(found[kind], gold_count[kind]):>6.3f}"
        )
    total_gold, total_found = sum(gold_count.values()), sum(found.values())
    total_predicted, total_correct = sum(predicted.values()), sum(correct.values())
    precision, recall = ratio(total_correct, total_predicted), ratio(total_found, total_gold)
    print(
        f"{'overall':<11} {total_gold:>8} {total_found:>6} {total_predicted:>7}"
        f" {total_correct:>6} {precision:>6.3f} {recall:>6.3f}"
    )
    print("\n".join(errors))

    assert all(gold_count[kind] >= 15 for kind in Kind)
    assert recall >= 0.98
    assert precision >= 0.95
    weak = {kind: ratio(found[kind], gold_count[kind]) for kind in Kind}
    assert {kind: value for kind, value in weak.items() if value < 0.9} == {}


# --- The field corpus: identifiers as records and mail write them ------------------------------


def _score(samples: list[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """Per language: labelled, found, flagged, right; and the errors, printed by the test."""
    from tests.unit.phi_field_corpus import parse as parse_field

    counts: dict[str, dict[str, int]] = {}
    for language, marked in samples:
        text, gold = parse_field(marked)
        findings = detect(text)
        c = counts.setdefault(language, Counter())
        for entity in gold:
            c["labelled"] += 1
            if any(
                f.kind is entity.kind and f.start <= entity.start and entity.end <= f.end
                for f in findings
            ):
                c["found"] += 1
            else:
                print(f"missed {entity.kind} [{language}]: {text[entity.start : entity.end]!r}")
        for f in findings:
            c["flagged"] += 1
            if any(e.kind is f.kind and f.start <= e.start and e.end <= f.end for e in gold):
                c["right"] += 1
            else:
                print(f"false {f.kind} [{language}]: {f.text!r} in {text!r}")
    return counts


def test_field_corpus_recall_and_precision_per_language() -> None:
    from tests.unit.phi_field_corpus import SAMPLES

    counts = _score(list(SAMPLES))
    counts["overall"] = sum((Counter(c) for c in counts.values()), Counter())
    print(
        f"\n{'language':<9} {'samples':>7} {'labelled':>8} {'found':>6} {'flagged':>7}"
        f" {'right':>6} {'prec.':>6} {'recall':>6}"
    )
    figures = {}
    for language, c in counts.items():
        n = sum(1 for lang, _ in SAMPLES if language in (lang, "overall"))
        precision = c["right"] / c["flagged"] if c["flagged"] else 1.0
        recall = c["found"] / c["labelled"]
        figures[language] = (precision, recall)
        print(
            f"{language:<9} {n:>7} {c['labelled']:>8} {c['found']:>6} {c['flagged']:>7}"
            f" {c['right']:>6} {precision:>6.3f} {recall:>6.3f}"
        )
    assert all(
        sum(1 for lang, _ in SAMPLES if lang == language) >= 200 for language in ["fr", "en", "ru"]
    )
    for language, (precision, recall) in figures.items():
        assert recall >= 0.98, language
        assert precision >= 0.95, language
