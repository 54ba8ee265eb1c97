"""Personal health information (PHI) in free text: detection and redaction.

Pure rules, standard library only. Each rule is a small generator of candidate findings: a
regular expression finds the shape, then a checksum, a date check or nearby keywords decide,
because shapes alone would flag ticket numbers, versions, bank cards and ordinary dates.
``detect`` keeps one finding per stretch of text (the most specific kind wins) and ``redact``
replaces each finding by a marker naming its kind, such as ``[NIR]``.

No pattern nests quantifiers over the same characters, so no input can make a regular
expression backtrack catastrophically: logs of a few hundred kilobytes take well under a second.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache


class Kind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    NIR = "nir"  # French social security number
    RAMQ = "ramq"  # Québec health insurance number
    OHIP = "ohip"  # Ontario health card number
    SNILS = "snils"  # Russian individual insurance account number
    OMS = "oms"  # Russian compulsory medical insurance policy
    BIRTH_DATE = "birth_date"
    CUSTOM = "custom"  # identifier pattern configured by the deployment (IPP, patient number)
    NAME = "name"  # patient name configured by the deployment


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    start: int
    end: int
    text: str
    rule: str  # which rule, or which configured pattern, matched: for explanations

    @property
    def marker(self) -> str:
        """What replaces the finding in stored text: its kind, or the configured label."""
        return f"[{self.rule if self.kind is Kind.CUSTOM else self.kind.name}]"


# Words that make a nearby date a date of birth. Phrases, matched case-insensitively.
BIRTH_KEYWORDS: tuple[str, ...] = (
    *("né", "née", "né(e)", "nee", "ne(e)", "date de naissance", "naissance", "naiss."),
    *("ddn", "d.d.n."),
    *("dob", "d.o.b.", "date of birth", "birth date", "birthdate", "born"),
    *("рождения", "д.р.", "д. р.", "д/р", "родился", "родилась", "рожд.", "род."),
)


@dataclass(frozen=True)
class DetectorConfig:
    """What a deployment adds to the built-in rules.

    ``identifier_patterns`` are (label, regex) pairs such as ``("IPP", r"\\bIPP\\s*\\d{8}\\b")``;
    the label names the marker (``[IPP]``). ``names`` are patient names matched as whole words,
    ignoring case and accents, in either order ("Élodie Marchand", "MARCHAND Elodie").
    """

    identifier_patterns: tuple[tuple[str, str], ...] = ()
    names: tuple[str, ...] = ()
    birth_keywords: tuple[str, ...] = BIRTH_KEYWORDS

    def __post_init__(self) -> None:
        # A typo in the deployment's settings fails when they are loaded, not on the first upload.
        for label, pattern in self.identifier_patterns:
            if not label.strip():
                raise ValueError(f"identifier pattern {pattern!r} has no label")
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"identifier pattern {label}: {error}") from error


DEFAULT_CONFIG = DetectorConfig()


def detect(text: str, config: DetectorConfig = DEFAULT_CONFIG) -> list[Finding]:
    """Non-overlapping findings in ``text``, sorted by position.

    The rules read a normalised copy (see ``normalise``); findings are mapped back, so their
    offsets and text are the original's and ``redact`` replaces the right characters.
    """
    compiled = _compile(config)
    plain = normalise(text)
    found = _resolve(finding for rule in RULES for finding in rule(plain.text, compiled))
    return [plain.original(text, finding) for finding in found] if plain.changed else found


# --- Normalisation: separators and line breaks as records and mail write them --------------

# Spaces other than the plain one (no-break, narrow no-break, thin, figure...) and dashes
# other than the hyphen-minus (hyphen, non-breaking hyphen, figure and en dash, minus sign).
# The em dash stays: it separates clauses, not digit groups.
_ODD_SPACE = "\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000"
_ODD_DASH = "\u2010-\u2013\u2212\ufe63\uff0d"
# A line break, with the indentation and mail quote markers ("> ") of the next line: read as
# a wrapped number when a digit, capital or dash ends the line and a digit or capital follows.
_NORMALISED = re.compile(
    rf"(?P<space>[{_ODD_SPACE}])|(?P<dash>[{_ODD_DASH}])|(?:\r\n|\r|\n)(?:[ \t]*>)*[ \t]*"
)
_WRAPPED_BEFORE = re.compile(r"[\dA-Z-]")
_WRAPPED_AFTER = re.compile(r"[\dA-Z]")


@dataclass(frozen=True, slots=True)
class Normalised:
    """``text`` with separators made plain, and where its replaced stretches came from.

    ``replaced`` lists, in order, (start in ``text``, length there, original start, original
    end) for each replacement; every other character maps one to one.
    """

    text: str
    replaced: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.replaced)

    def _locate(self, position: int) -> tuple[int, int]:
        """The original (start, end) of the character at ``position``."""
        at = bisect_right(self.replaced, (position, len(self.text) + 1)) - 1
        if at < 0:
            return position, position + 1
        start, length, original_start, original_end = self.replaced[at]
        if position < start + length:
            return original_start, original_end
        original = original_end + position - (start + length)
        return original, original + 1

    def original(self, original: str, finding: Finding) -> Finding:
        start, end = self._locate(finding.start)[0], self._locate(finding.end - 1)[1]
        return Finding(finding.kind, start, end, original[start:end], finding.rule)


def normalise(text: str) -> Normalised:
    """Unicode spaces become a space and dash variants a hyphen ("123\u2011456\u202f789"
    reads "123-456 789"); a line break inside a number becomes a space, or nothing after a
    dash ("1234-567-" then "890" on the next line reads "1234-567-890")."""
    pieces: list[str] = []
    replaced: list[tuple[int, int, int, int]] = []
    cursor = length = 0
    for match in _NORMALISED.finditer(text):
        begin, stop = match.span()
        if match.group("space"):
            replacement = " "
        elif match.group("dash"):
            replacement = "-"
        else:
            while begin > cursor and text[begin - 1] in " \t":
                begin -= 1  # trailing spaces belong to the break
            if not (
                begin > 0
                and _WRAPPED_BEFORE.match(text, begin - 1)
                and _WRAPPED_AFTER.match(text, stop)
            ):
                continue
            replacement = "" if text[begin - 1] == "-" else " "
        pieces.append(text[cursor:begin])
        length += begin - cursor
        pieces.append(replacement)
        replaced.append((length, len(replacement), begin, stop))
        length += len(replacement)
        cursor = stop
    if not replaced:
        return Normalised(text)
    pieces.append(text[cursor:])
    return Normalised("".join(pieces), tuple(replaced))


def redact(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with each finding replaced by its marker, e.g. ``"NIR : [NIR]"``.

    Spans are replaced from the end so that earlier offsets stay valid. Overlapping findings
    (which ``detect`` never returns) are merged rather than half revealed.
    """
    pieces: list[str] = []
    cursor = len(text)  # everything from here on is already written out
    for finding in sorted(findings, key=lambda f: f.start, reverse=True):
        if finding.start >= cursor:
            continue  # inside a span already replaced
        pieces.append(text[min(finding.end, cursor) : cursor])
        pieces.append(finding.marker)
        cursor = finding.start
    pieces.append(text[:cursor])
    return "".join(reversed(pieces))


# --- Checksums, public so that forms can validate a number typed on its own -------------------


def luhn_is_valid(digits: str) -> bool:
    """The Luhn mod-10 check used by the Ontario health card and bank cards."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def nir_is_valid(number: str) -> bool:
    """French NIR: 13 characters and a key equal to 97 - (number mod 97).

    Corsican departments 2A and 2B count as 19 and 18. The first digit is the sex (1, 2) or
    3, 4, 7, 8 for foreign-born and temporary numbers; the month is 01-12, or 20 and above
    when it is unknown.
    """
    compact = _alnum(number).upper()
    if not _NIR_SHAPE.fullmatch(compact):
        return False
    month = int(compact[3:5])
    if month == 0 or 13 <= month <= 19:
        return False
    body = int(compact[:13].replace("2A", "19").replace("2B", "18"))
    return 97 - body % 97 == int(compact[13:])


def snils_checksum(first_nine: str) -> int:
    """Russian SNILS control number: digits weighted 9 to 1, summed, reduced modulo 101."""
    weights = range(9, 0, -1)
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, weights, strict=True))
    if total < 100:
        return total
    return total % 101 % 100  # 100 and 101 give 00, and so does a remainder of 100


def snils_is_valid(number: str) -> bool:
    """Eleven digits whose last two are the checksum (numbers up to 001-001-998 have none)."""
    digits = _alnum(number)
    if not re.fullmatch(r"\d{11}", digits):
        return False
    if int(digits[:9]) <= _SNILS_UNCHECKED:
        return True
    return snils_checksum(digits[:9]) == int(digits[9:])


def ramq_is_valid(number: str) -> bool:
    """Québec RAMQ: 4 letters, then YYMMDD (month + 50 for women) and 2 administrative digits."""
    compact = _alnum(number).upper()
    if not re.fullmatch(r"[A-Z]{4}\d{8}", compact):
        return False
    month, day = int(compact[6:8]), int(compact[8:10])
    if month > 50:
        month -= 50
    return _is_date(2000, month, day)  # a leap year, since the century is not encoded


# --- Rules: each yields candidates from the text, ``_resolve`` then settles overlaps ----------


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A configuration turned into regular expressions, once per configuration."""

    custom: tuple[tuple[str, re.Pattern[str]], ...]
    names: tuple[re.Pattern[str], ...]
    birth_before: re.Pattern[str]
    birth_after: re.Pattern[str]


Rule = Callable[[str, _Compiled], Iterator[Finding]]


def _finding(kind: Kind, match: re.Match[str], rule: str) -> Finding:
    return Finding(kind, match.start(), match.end(), match.group(), rule)


def _scan(
    pattern: re.Pattern[str], text: str, accept: Callable[[re.Match[str]], bool]
) -> Iterator[re.Match[str]]:
    """Accepted matches, retrying one character further on after a rejected one.

    ``finditer`` would resume after a rejected match and miss a valid number starting inside
    it ("ticket 3 1 85 05 ...").
    """
    position = 0
    while (match := pattern.search(text, position)) is not None:
        if accept(match):
            yield match
            position = match.end()
        else:
            position = match.start() + 1


def _near(pattern: re.Pattern[str], text: str, match: re.Match[str]) -> bool:
    """Whether a keyword occurs in the 60 characters before the match or the 30 after it."""
    start, end = match.span()
    return bool(
        pattern.search(text, max(0, start - 60), start) or pattern.search(text, end, end + 30)
    )


_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
_IMAGE_SUFFIXES = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp"})  # icon@2x.png


def _emails(text: str, _: _Compiled) -> Iterator[Finding]:
    for match in _EMAIL.finditer(text):
        suffix = match.group().rsplit(".", 1)[1]
        if not suffix.isalpha() or len(suffix) < 2 or suffix.lower() in _IMAGE_SUFFIXES:
            continue  # user@10.0.0.1, pkg@1.2.3, logo@2x.png
        if re.match(r":[\w/~]", text[match.end() : match.end() + 2]):
            continue  # git@gitlab.example.org:team/repo.git is a host, not a mailbox
        yield _finding(Kind.EMAIL, match, "email")


# Separators must repeat the first one (backreference), which keeps "06.12-34 5" and version
# strings out; a number running on ("-56" after a MAC address) is not a phone either.
_END = r"(?!\w|[.-]\d)"
_PHONES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("phone-fr", re.compile(rf"(?<![\w+.-])0[1-9]([ .-]?)\d\d\1\d\d\1\d\d\1\d\d{_END}")),
    (
        "phone-fr",
        re.compile(
            rf"(?<![\w+])(?:\+|00)33[ .]?(?:\(0\)[ .]?)?[1-9]([ .-]?)\d\d\1\d\d\1\d\d\1\d\d{_END}"
        ),
    ),
    # North America: +1 in front, or area code in brackets, or 3-3-4 with one separator.
    (
        "phone-nanp",
        re.compile(
            rf"(?<![\w+])\+1[ .-]?(?:\([2-9]\d\d\)|[2-9]\d\d)[ .-]?[2-9]\d\d[ .-]?\d{{4}}{_END}"
        ),
    ),
    (
        "phone-nanp",
        re.compile(rf"(?<![\w+.-])(?:1[ .-]?)?\([2-9]\d\d\)[ .-]?[2-9]\d\d[ .-]\d{{4}}{_END}"),
    ),
    (
        "phone-nanp",
        re.compile(rf"(?<![\w+.-])(?:1[ .-])?[2-9]\d\d([ .-])[2-9]\d\d\1\d{{4}}{_END}"),
    ),
    # Russia: +7 or a trunk 8, then a geographic (3xx, 4xx, 8xx) or mobile (9xx) code.
    (
        "phone-ru",
        re.compile(
            rf"(?<![\w+.-])(?:\+7|8)[ -]?(?:\([3489]\d\d\)|[3489]\d\d)"
            rf"[ -]?\d{{3}}[ -]?\d\d[ -]?\d\d{_END}"
        ),
    ),
)


def _phones(text: str, _: _Compiled) -> Iterator[Finding]:
    for rule, pattern in _PHONES:
        for match in pattern.finditer(text):
            yield _finding(Kind.PHONE, match, rule)


# Any single space, dot or dash between characters: "1 85 05 78 006 084 36", "1-85-05-...",
# overseas "971 23", or none.
_NIR = re.compile(r"(?<![\w.+-])[1-478](?:[ .-]?[\dAB]){14}(?!\w)")
_NIR_SHAPE = re.compile(r"[1-478]\d{4}(?:\d\d|2[AB])\d{8}")


def _nir_accepted(match: re.Match[str]) -> bool:
    # Dashes only on their own ("1-85-05-..."): a run of digits then a date ("123456
    # 2024-03-12" where a log line wrapped) is not a NIR written with dashes.
    number = match.group()
    if "-" in number and (" " in number or "." in number):
        return False
    return nir_is_valid(number)


def _nirs(text: str, _: _Compiled) -> Iterator[Finding]:
    for match in _scan(_NIR, text, _nir_accepted):
        yield _finding(Kind.NIR, match, "nir")


_SNILS = re.compile(r"(?<![\w-])\d{3}([- ]?)\d{3}([- ]?)\d{3}([- ]?)\d\d(?![\w-])")
_SNILS_UNCHECKED = 1_001_998
# A keyword, or a patient named just before: "Орлов И.П. 12345678901", "Белова Анна
# Сергеевна, 12345678901" (a surname and initials, or a patronymic).
_SNILS_CONTEXT = re.compile(
    r"(?i:снилс|snils|страхов|пациент|\bфио\b)"
    r"|\b[А-ЯЁ][а-яё]+\s+[А-ЯЁ]\.\s?[А-ЯЁ]\.|\b[А-ЯЁ][а-яё]+(?:вич|вна|ична)\b"
)


def _snils(text: str, _: _Compiled) -> Iterator[Finding]:
    def accept(match: re.Match[str]) -> bool:
        if not snils_is_valid(match.group()):
            return False
        grouped = any(match.group(n) for n in (1, 2, 3))
        checked = int(re.sub(r"\D", "", match.group())[:9]) > _SNILS_UNCHECKED
        # Eleven bare digits pass the checksum once in a hundred: ask for a keyword too.
        return (grouped and checked) or _near(_SNILS_CONTEXT, text, match)

    for match in _scan(_SNILS, text, accept):
        yield _finding(Kind.SNILS, match, "snils")


# 10 digits (4-3-3) and an optional 2-letter version code, after a space or a dash.
_OHIP = re.compile(r"(?<![\w-])\d{4}([- ]?)\d{3}([- ]?)\d{3}(?:(?: ?- ?| )?([A-Z]{2}))?(?![\w-])")
_OHIP_CONTEXT = re.compile(
    r"ohip|health|\bcard\b|\bcarte\b|assurance[\s-]*santé|\bhcn?\b|\bhc\s*#|\bvc\b"
    r"|version\s+code|ontario|\bd\.?o\.?b\b|date\s+of\s+birth",  # next to a date of birth
    re.I,
)


def _ohips(text: str, _: _Compiled) -> Iterator[Finding]:
    def accept(match: re.Match[str]) -> bool:
        if not luhn_is_valid(re.sub(r"\D", "", match.group())):
            return False
        # Ten bare digits pass Luhn once in ten (and may be a phone): ask for a keyword, a
        # version code, or the card's own grouping (4-3-3 with the same separator twice).
        first, second, version = match.groups()
        grouped = bool(first) and first == second
        return grouped or bool(version) or _near(_OHIP_CONTEXT, text, match)

    for match in _scan(_OHIP, text, accept):
        yield _finding(Kind.OHIP, match, "ohip")


_RAMQ = re.compile(r"(?<!\w)[A-Z]{4}[ -]?\d{4}[ -]?\d{4}(?!\w)")


def _ramqs(text: str, _: _Compiled) -> Iterator[Finding]:
    for match in _scan(_RAMQ, text, lambda m: ramq_is_valid(m.group())):
        yield _finding(Kind.RAMQ, match, "ramq")


# The unified policy is 16 digits, like a bank card: only a keyword tells them apart.
_OMS = re.compile(r"(?<![\w-])\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}(?![\w-])")
# "ЕНП" is the unified policy number ("единый номер полиса").
_OMS_CONTEXT = re.compile(
    r"полис|\bомс\b|\bенп\b|\boms\b|\bpolicy\b|медицинского\s+страхования", re.I
)


def _oms(text: str, _: _Compiled) -> Iterator[Finding]:
    for match in _scan(_OMS, text, lambda m: _near(_OMS_CONTEXT, text, m)):
        yield _finding(Kind.OMS, match, "oms")


_MONTHS: dict[str, int] = {
    **dict.fromkeys(("janvier", "janv", "january", "jan", "января"), 1),
    **dict.fromkeys(("février", "fevrier", "févr", "fevr", "february", "feb", "февраля"), 2),
    **dict.fromkeys(("mars", "march", "mar", "марта"), 3),
    **dict.fromkeys(("avril", "avr", "april", "apr", "апреля"), 4),
    **dict.fromkeys(("mai", "may", "мая"), 5),
    **dict.fromkeys(("juin", "june", "jun", "июня"), 6),
    **dict.fromkeys(("juillet", "juil", "july", "jul", "июля"), 7),
    **dict.fromkeys(("août", "aout", "august", "aug", "августа"), 8),
    **dict.fromkeys(("septembre", "sept", "september", "sep", "сентября"), 9),
    **dict.fromkeys(("octobre", "oct", "october", "октября"), 10),
    **dict.fromkeys(("novembre", "nov", "november", "ноября"), 11),
    **dict.fromkeys(("décembre", "decembre", "déc", "dec", "december", "декабря"), 12),
}
_MONTH = "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True))
_DATE = re.compile(
    r"(?<!\d)(?<!\d[./-])(?:"
    r"(?P<d1>\d\d?)(?P<s1>[./-])(?P<m1>\d\d?)(?P=s1)(?P<y1>\d{4}|\d\d)"  # 12/03/1985, 12.03.85
    r"|(?P<y2>\d{4})(?P<s2>[./-])(?P<m2>\d\d)(?P=s2)(?P<d2>\d\d)"  # 1985-03-12
    rf"|(?P<d3>\d\d?)(?:er|st|nd|rd|th)?\s+(?P<m3>{_MONTH})\.?,?\s+(?P<y3>\d{{4}})"  # 12 mars 1985
    # March 12, 1985
    rf"|(?<!\w)(?P<m4>{_MONTH})\.?\s+(?P<d4>\d\d?)(?:st|nd|rd|th)?,?\s+(?P<y4>\d{{4}})"
    r")(?!\d)(?![./-]\d)",
    re.I,
)
# Russian records put "г.р." (год рождения) or "года рождения" right after a date of birth.
_BIRTH_AFTER = r",?\s*(?:г\.?\s?р\.|года\s+рождения)"
# Between the keyword and the date: no other number and no end of sentence, and not far.
_GAP_BREAK = re.compile(r"\d|[.!?;]\s")
_GAP_MAX = 25


def _date_of(match: re.Match[str]) -> bool:
    """Whether the matched text is a real calendar date (either day/month order)."""
    groups = match.groupdict()
    for n in "1234":
        if groups[f"y{n}"] is None:
            continue
        year, day = int(groups[f"y{n}"]), int(groups[f"d{n}"])
        month_text = groups[f"m{n}"]
        month = int(month_text) if month_text.isdigit() else _MONTHS[month_text.lower()]
        if year < 100:
            year += 2000  # both centuries have the same calendar but for 1900
        if not 1900 <= year <= 2099:
            return False
        return _is_date(year, month, day) or (n == "1" and _is_date(year, day, month))
    return False


def _birth_dates(text: str, compiled: _Compiled) -> Iterator[Finding]:
    for match in _DATE.finditer(text):
        if _date_of(match) and _about_birth(text, match, compiled):
            yield _finding(Kind.BIRTH_DATE, match, "birth-date")


def _about_birth(text: str, match: re.Match[str], compiled: _Compiled) -> bool:
    """A birth keyword just before the date ("né le", "DOB:"), in brackets after it, or
    "г.р." after it."""
    keywords = compiled.birth_before.finditer(text, max(0, match.start() - 60), match.start())
    last = None
    for keyword in keywords:
        last = keyword  # the closest one counts
    if last is not None:
        gap = text[last.end() : match.start()]
        if len(gap) <= _GAP_MAX and not _GAP_BREAK.search(gap):
            return True
    return compiled.birth_after.match(text, match.end()) is not None


def _custom(text: str, compiled: _Compiled) -> Iterator[Finding]:
    for label, pattern in compiled.custom:
        for match in pattern.finditer(text):
            if match.end() > match.start():
                yield _finding(Kind.CUSTOM, match, label)


def _names(text: str, compiled: _Compiled) -> Iterator[Finding]:
    for index, pattern in enumerate(compiled.names):
        for match in pattern.finditer(text):
            yield _finding(Kind.NAME, match, f"name-{index + 1}")  # not the name: it is PHI


RULES: tuple[Rule, ...] = (
    _emails,
    _phones,
    _nirs,
    _snils,
    _ohips,
    _ramqs,
    _oms,
    _birth_dates,
    _custom,
    _names,
)

# Where candidates overlap, the earlier kind wins: a checksum beats a shape, and a configured
# pattern beats a phone-like run of digits inside it.
_PRECEDENCE = {
    kind: rank
    for rank, kind in enumerate(
        (
            Kind.NIR,
            Kind.SNILS,
            Kind.OHIP,
            Kind.RAMQ,
            Kind.OMS,
            Kind.CUSTOM,
            Kind.EMAIL,
            Kind.BIRTH_DATE,
            Kind.PHONE,
            Kind.NAME,
        )
    )
}


def _resolve(candidates: Iterable[Finding]) -> list[Finding]:
    """Keep the best of overlapping candidates: by kind precedence, then the longest."""
    kept: list[Finding] = []
    starts: list[int] = []
    ranked = sorted(candidates, key=lambda f: (_PRECEDENCE[f.kind], f.start - f.end, f.start))
    for finding in ranked:
        at = bisect_left(starts, finding.start)
        if at > 0 and kept[at - 1].end > finding.start:
            continue
        if at < len(kept) and kept[at].start < finding.end:
            continue
        starts.insert(at, finding.start)
        kept.insert(at, finding)
    return kept


# --- Configuration -------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _compile(config: DetectorConfig) -> _Compiled:
    keywords = "|".join(_keyword_regex(k) for k in config.birth_keywords) or r"(?!)"
    return _Compiled(
        custom=tuple((label, re.compile(p)) for label, p in config.identifier_patterns),
        names=tuple(_name_regex(name) for name in config.names if name.strip()),
        birth_before=re.compile(keywords, re.I),
        birth_after=re.compile(rf"\s*\(\s*(?:{keywords})|{_BIRTH_AFTER}", re.I),
    )


def _keyword_regex(phrase: str) -> str:
    """A phrase as a whole-word regex where any run of spaces matches."""
    body = r"\s*".join(re.escape(word) for word in phrase.split())
    head = r"(?<!\w)" if phrase[:1].isalnum() else ""
    tail = r"(?!\w)" if phrase[-1:].isalnum() else ""
    return f"{head}{body}{tail}"


def _fold(text: str) -> str:
    """Lower case without accents: "Élodie" -> "elodie", "Пётр" -> "петр"."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@lru_cache(maxsize=1)
def _letter_classes() -> dict[str, str]:
    """For each plain letter, every Latin or Cyrillic letter that folds to it ("e": "EeÉéÈè…")."""
    classes: dict[str, set[str]] = {}
    for code in (*range(0x41, 0x250), *range(0x400, 0x530)):
        char = chr(code)
        folded = _fold(char)
        if char.isalpha() and len(folded) == 1:
            classes.setdefault(folded, set()).add(char)
    return {letter: "".join(sorted(chars)) for letter, chars in classes.items()}


_COMBINING = "[\u0300-\u036f]*"  # accents typed as separate combining characters
# Russian names decline ("Иванова", "Ивановой", "Марии"): the stem plus a case ending.
_RU_ENDINGS = "а|я|у|ю|ы|и|е|й|ь|ой|ей|ом|ем|ём|ым|им|ою|ею|ью"
_RU_FINAL = set("аяйьоеиыу")


def _word_regex(word: str) -> str:
    classes = _letter_classes()
    folded = _fold(word)
    cyrillic = any("а" <= c <= "я" for c in folded)
    if cyrillic and len(folded) >= 4 and folded[-1] in _RU_FINAL:
        folded = folded[:-1]
    parts = []
    for char in folded:
        if char in "'’":
            parts.append("['’]?")
        elif char == "-":
            parts.append(r"[\s-]")
        elif char in classes:
            parts.append(f"[{classes[char]}]{_COMBINING}")
        else:
            parts.append(re.escape(char))
    ending = f"(?:{_RU_ENDINGS})?" if cyrillic else ""
    return "".join(parts) + ending


def _name_regex(name: str) -> re.Pattern[str]:
    """Whole words in the configured order or surname first ("MARCHAND, Élodie")."""
    words = [_word_regex(word) for word in name.split()]
    orders = [words]
    if len(words) > 1:
        orders.append([words[-1], *words[:-1]])
    separator = r"[\s,]{1,3}"
    alternatives = "|".join(separator.join(order) for order in orders)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?![\w\u0300-\u036f])", re.I)


_SEPARATORS = str.maketrans("", "", ".-\u2010\u2011\u2012\u2013\u2212")


def _alnum(number: str) -> str:
    """Without spaces, dots and dashes: "1 85-05.78" -> "1850578" (quicker than re.sub)."""
    return "".join(number.split()).translate(_SEPARATORS)


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# Markers of the built-in kinds, as stored (``[PHONE]``); configured labels stay as typed.
_STORED_MARKER = re.compile(
    r"\[(" + "|".join(k.name for k in Kind if k is not Kind.CUSTOM) + r")\]"
)


def localise_markers(text: str, name_of: Callable[[Kind], str]) -> str:
    """Stored text keeps stable markers; the reader sees each named in their language
    (``[PHONE]`` -> ``[номер телефона]``). ``name_of`` translates a kind."""
    return _STORED_MARKER.sub(lambda m: f"[{name_of(Kind[m.group(1)])}]", text)
