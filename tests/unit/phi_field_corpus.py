"""A second labelled corpus for the PHI detector, written the way records and mail write numbers.

Kept apart from ``phi_corpus`` (the rules' own examples): these sentences were written from
how identifiers show up in pasted records, forwarded mail and exported spreadsheets, not from
the rules. Identifiers are spelled with dashes, dots, Unicode spaces (U+00A0, U+202F, U+2009,
U+2007), dash variants (U+2010, U+2011, U+2013), wrapped across a line break (with or without
a mail quote marker), next to the keywords and in the orders French, Ontario, Québec and
Russian records use.

Everything is fictional and generated from a fixed seed: checksummed numbers (NIR key,
SNILS control number, Luhn for the Ontario card, RAMQ dates) are computed, so they are
valid by construction and belong to no one; phone numbers use ranges kept for fiction
(France 01 99 00 / 06 39 98, North America 555-01xx) or made-up ones. Hard negatives (order,
invoice and case numbers, phone-like identifiers, dates that are not births, numbers whose
checksum fails, bank cards, tax and company numbers) are sentences without markup.

``SAMPLES`` holds (language, marked text) pairs; ``parse`` turns the markup ``{{kind|text}}``
into spans (a span may hold a line break).
"""

# ruff: noqa: E501 - a sentence reads best on one line
from __future__ import annotations

import random
import re
from collections.abc import Callable

from server.domain.phi import Kind, luhn_is_valid, snils_checksum
from tests.unit.phi_corpus import Entity

_MARK = re.compile(r"\{\{(\w+)\|(.+?)\}\}", re.DOTALL)


def parse(marked: str) -> tuple[str, list[Entity]]:
    """The plain text and its labelled entities."""
    plain: list[str] = []
    entities: list[Entity] = []
    length = cursor = 0
    for match in _MARK.finditer(marked):
        before = marked[cursor : match.start()]
        plain.append(before)
        length += len(before)
        value = match.group(2)
        entities.append(Entity(Kind(match.group(1)), length, length + len(value)))
        plain.append(value)
        length += len(value)
        cursor = match.end()
    plain.append(marked[cursor:])
    return "".join(plain), entities


def m(kind: Kind, text: str) -> str:
    return f"{{{{{kind.value}|{text}}}}}"


NBSP, NNBSP, THIN, FIGURE = "\u00a0", "\u202f", "\u2009", "\u2007"
HYPHEN, NB_HYPHEN, EN_DASH = "\u2010", "\u2011", "\u2013"
SPACES = (" ", NBSP, NNBSP, THIN, FIGURE)
DASHES = ("-", HYPHEN, NB_HYPHEN, EN_DASH)
BREAKS = ("\n", "\r\n", "\n> ", " \n", "\n  ")  # a wrapped line, a quoted mail, an indent


# --- Numbers, valid by construction ---------------------------------------------------------


def nir_groups(rng: random.Random, valid: bool = True) -> list[str]:
    sex = rng.choice("12")
    year = f"{rng.randint(30, 99):02d}" if rng.random() < 0.8 else f"{rng.randint(0, 9):02d}"
    month = f"{rng.randint(1, 12):02d}"
    dept = rng.choice(["75", "69", "13", "44", "31", "59", "33", "2A", "2B", "06", "67", "35"])
    commune = f"{rng.randint(1, 899):03d}"
    order = f"{rng.randint(1, 999):03d}"
    body = sex + year + month + dept + commune + order
    key = 97 - int(body.replace("2A", "19").replace("2B", "18")) % 97
    if not valid:
        key = key % 97 + 1  # one off: the key no longer matches
    return [sex, year, month, dept, commune, order, f"{key:02d}"]


def snils_groups(rng: random.Random, valid: bool = True) -> list[str]:
    first = f"{rng.randint(2_000_000, 999_999_999):09d}"
    check = snils_checksum(first)
    if not valid:
        check = (check + rng.randint(1, 98)) % 100
    return [first[:3], first[3:6], first[6:], f"{check:02d}"]


def luhn_digits(rng: random.Random, length: int, valid: bool = True) -> str:
    while True:
        body = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(length - 1))
        if luhn_is_valid(body) == valid:
            return body


def ohip_groups(rng: random.Random, valid: bool = True) -> list[str]:
    digits = luhn_digits(rng, 10, valid)
    return [digits[:4], digits[4:7], digits[7:]]


def version_code(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXYZ") for _ in range(2))


def ramq(rng: random.Random) -> list[str]:
    letters = "".join(rng.choice("ABCDEFGHIJKLMNOPRSTUVWY") for _ in range(4))
    month = rng.randint(1, 12) + rng.choice((0, 50))
    return [
        letters,
        f"{rng.randint(30, 99):02d}{month:02d}",
        f"{rng.randint(1, 28):02d}{rng.randint(10, 99)}",
    ]


def oms(rng: random.Random) -> list[str]:
    digits = rng.choice("57") + "".join(rng.choice("0123456789") for _ in range(15))
    return [digits[i : i + 4] for i in range(0, 16, 4)]


def join(rng: random.Random, groups: list[str], style: str) -> str:
    """Groups written as records write them: ``style`` picks spaces, dashes, compact, dots,
    a Unicode space, or a line break somewhere in the middle."""
    if style == "compact":
        return "".join(groups)
    if style == "space":
        return " ".join(groups)
    if style == "dash":
        return "-".join(groups)
    if style == "dot":
        return ".".join(groups)
    if style == "unicode-space":
        return rng.choice(SPACES[1:]).join(groups)
    if style == "unicode-dash":
        return rng.choice(DASHES[1:]).join(groups)
    if style == "wrapped":
        cut = rng.randint(1, len(groups) - 1)
        sep = rng.choice((" ", "-"))
        head, tail = sep.join(groups[:cut]), sep.join(groups[cut:])
        # Mail wraps at a space (which the break replaces) or after a dash (which stays).
        return head + (sep if sep == "-" else "") + rng.choice(BREAKS) + tail
    raise ValueError(style)


NIR_STYLES = ("space", "compact", "dash", "dot", "unicode-space", "unicode-dash", "wrapped")
GROUP_STYLES = ("space", "dash", "unicode-space", "unicode-dash", "wrapped")


def nir(rng: random.Random, valid: bool = True) -> str:
    return join(rng, nir_groups(rng, valid), rng.choice(NIR_STYLES))


def snils(rng: random.Random, valid: bool = True, style: str | None = None) -> str:
    groups = snils_groups(rng, valid)
    style = style or rng.choice((*GROUP_STYLES, "classic", "classic", "compact"))
    if style == "classic":  # 123-456-789 01
        sep = rng.choice(SPACES)
        return "-".join(groups[:3]) + sep + groups[3]
    return join(rng, groups, style)


def ohip(rng: random.Random, valid: bool = True, vc: bool | None = None) -> str:
    style = rng.choice((*GROUP_STYLES, "compact"))
    number = join(rng, ohip_groups(rng, valid), style)
    if vc is None:
        vc = rng.random() < 0.5
    if vc:
        number += rng.choice(("-", " ", " - ", "-", EN_DASH, "")) + version_code(rng)
    return number


def ramq_number(rng: random.Random) -> str:
    return join(
        rng, ramq(rng), rng.choice(("space", "compact", "dash", "unicode-space", "wrapped"))
    )


def oms_number(rng: random.Random) -> str:
    return join(rng, oms(rng), rng.choice(("space", "compact", "dash", "unicode-space", "wrapped")))


def random_digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(n - 1))


# --- Phones, mail addresses, dates ------------------------------------------------------------


def phone_fr(rng: random.Random) -> str:
    pairs = [rng.choice(("06", "01")), rng.choice(("39", "99")), rng.choice(("98", "00"))]
    pairs += [f"{rng.randint(0, 99):02d}", f"{rng.randint(0, 99):02d}"]
    style = rng.choice(("space", "dot", "dash", "compact", "nnbsp", "intl"))
    if style == "nnbsp":
        return NNBSP.join(pairs)
    if style == "intl":
        return "+33 " + pairs[0][1] + " " + " ".join(pairs[1:])
    return join(rng, pairs, style)


def phone_nanp(rng: random.Random) -> str:
    area = rng.choice(("514", "438", "416", "613", "647", "819"))
    line = f"01{rng.randint(0, 99):02d}"
    return rng.choice(
        (
            f"({area}) 555-{line}",
            f"{area}-555-{line}",
            f"+1 {area} 555 {line}",
            f"{area}.555.{line}",
        )
    )


def phone_ru(rng: random.Random) -> str:
    code = rng.choice(("916", "903", "495", "812", "912"))
    a, b, c = f"{rng.randint(100, 999)}", f"{rng.randint(10, 99)}", f"{rng.randint(10, 99)}"
    return rng.choice(
        (
            f"+7 {code} {a}-{b}-{c}",
            f"8 ({code}) {a}-{b}-{c}",
            f"+7 ({code}) {a} {b} {c}",
            f"8{NBSP}{code}{NBSP}{a}-{b}-{c}",
            f"+7{code}{a}{b}{c}",
        )
    )


FIRST = ("marie", "julien", "k", "anne-sophie", "t", "olga", "ivan", "s", "jeanne", "mike")
LAST = ("lambert", "girard", "fontaine", "orlov", "belova", "carter", "nguyen", "roussel")
DOMAINS = ("example.fr", "example.com", "mail.example.ru", "clinique.example", "example.ca")


def email(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)}.{rng.choice(LAST)}{rng.choice(('', '12', '_pro'))}@{rng.choice(DOMAINS)}"


MONTHS = {
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
           "octobre", "novembre", "décembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "ru": ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
           "сентября", "октября", "ноября", "декабря"),
}  # fmt: skip


def birth(rng: random.Random, language: str) -> str:
    y, mo, d = rng.randint(1932, 2019), rng.randint(1, 12), rng.randint(1, 28)
    style = rng.choice(("numeric", "numeric", "iso", "words"))
    if style == "iso":
        return f"{y}-{mo:02d}-{d:02d}"
    if style == "words":
        month = MONTHS[language][mo - 1]
        return f"{month} {d}, {y}" if language == "en" else f"{d} {month} {y}"
    sep = "." if language == "ru" else rng.choice("/.")
    return f"{d:02d}{sep}{mo:02d}{sep}{y}"


def other_date(rng: random.Random, language: str) -> str:
    return (
        birth(rng, language).replace("19", "20", 1) if rng.random() < 0.5 else birth(rng, language)
    )


# --- Sentences ---------------------------------------------------------------------------------

Template = Callable[[random.Random], str]
K = Kind

FR_POSITIVE: tuple[Template, ...] = (
    lambda r: f"Bonjour, la carte Vitale ne passe plus. NIR : {m(K.NIR, nir(r))}. Merci.",
    lambda r: f"Numéro de sécurité sociale {m(K.NIR, nir(r))} refusé par l'INSi.",
    lambda r: f"N° SS {m(K.NIR, nir(r))} (assurée) : doublon dans le DPI.",
    lambda r: f"Matricule INS {m(K.NIR, nir(r))} inconnu du téléservice.",
    lambda r: f"> Patient : M. X\n> NIR : {m(K.NIR, nir(r))}\n> Motif : FSE rejetée",
    lambda r: f"Copie du dossier :\nNuméro de sécu. {m(K.NIR, nir(r))} — à corriger",
    lambda r: f"Ligne 12 de l'export : {m(K.NIR, nir(r))};DUPONT;consultation",
    lambda r: f"La patiente, née le {m(K.BIRTH_DATE, birth(r, 'fr'))}, n'a pas son compte-rendu.",
    lambda r: f"DDN : {m(K.BIRTH_DATE, birth(r, 'fr'))} — l'identité est à vérifier.",
    lambda r: f"Date de naissance : {m(K.BIRTH_DATE, birth(r, 'fr'))}, sexe F.",
    lambda r: f"M. Girard (né le {m(K.BIRTH_DATE, birth(r, 'fr'))}) apparaît deux fois.",
    lambda r: f"Merci de rappeler la patiente au {m(K.PHONE, phone_fr(r))} avant midi.",
    lambda r: f"Tél. : {m(K.PHONE, phone_fr(r))} (portable du fils)",
    lambda r: f"Le patient écrit depuis {m(K.EMAIL, email(r))} et ne reçoit pas le lien.",
    lambda r: f"Carte RAMQ {m(K.RAMQ, ramq_number(r))} refusée à l'admission.",
    lambda r: f"NAM : {m(K.RAMQ, ramq_number(r))} — la carte est expirée ?",
    lambda r: f"Carte santé de l'Ontario {m(K.OHIP, ohip(r))} non reconnue.",
    lambda r: f"Numéro de carte {m(K.OHIP, ohip(r))} (patiente ontarienne) à vérifier.",
    lambda r: f"Patient russe, SNILS {m(K.SNILS, snils(r))}, à saisir ?",
    lambda r: (
        f"Patiente {m(K.NIR, nir(r))}, tél. {m(K.PHONE, phone_fr(r))}, "
        f"née le {m(K.BIRTH_DATE, birth(r, 'fr'))}."
    ),
    lambda r: (
        f"Identité : DUPRÉ Jeanne\nNIR {m(K.NIR, nir(r))}\nDDN {m(K.BIRTH_DATE, birth(r, 'fr'))}"
    ),
    lambda r: f"Le NIR {m(K.NIR, nir(r))} et le NIR {m(K.NIR, nir(r))} désignent la même personne.",
)

FR_NEGATIVE: tuple[Template, ...] = (
    lambda r: f"Le NIR {nir(r, valid=False)} est refusé : la clé ne correspond pas.",
    lambda r: f"Commande n° {r.randint(2019, 2025)}-{r.randint(1, 999999):06d} livrée incomplète.",
    lambda r: (
        f"Facture FAC-{r.randint(2019, 2025)}-{r.randint(1, 12):02d}-{r.randint(1000, 9999)} à régler."
    ),
    lambda r: f"Bon de commande {random_digits(r, 10)} : 3 écrans manquants.",
    lambda r: f"Référence colis {random_digits(r, 13)}, livraison prévue lundi.",
    lambda r: f"Intervention prévue le {other_date(r, 'fr')} en salle de réunion.",
    lambda r: f"Le scanner ne fonctionne plus depuis le {other_date(r, 'fr')}.",
    lambda r: f"Patient né en {r.randint(1940, 2000)}, vu le {other_date(r, 'fr')}, CR absent.",
    lambda r: f"Le poste {r.randint(1000, 9999)} ne sonne plus, SDA 01 99 00 {r.randint(10, 99)}.",
    lambda r: (
        f"SIRET {random_digits(r, 3)} {random_digits(r, 3)} {random_digits(r, 3)} {random_digits(r, 5)} mal renseigné."
    ),
    lambda r: f"FINESS {random_digits(r, 9)} à mettre à jour dans le paramétrage.",
    lambda r: f"RPPS du médecin : {random_digits(r, 11)}, la CPS est bloquée.",
    lambda r: (
        f"Version {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}.{r.randint(1000, 9999)} déployée."
    ),
    lambda r: (
        f"L'imprimante a l'adresse 10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}."
    ),
    lambda r: f"Ticket #{r.randint(10000, 999999)} fusionné avec #{r.randint(10000, 999999)}.",
    lambda r: (
        f"Lot {r.randint(2019, 2025)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}-{r.randint(1, 9999):04d} de réactifs périmé."
    ),
    lambda r: (
        f"Carte bancaire {' '.join(random_digits(r, 4) for _ in range(4))} refusée chez le fournisseur."
    ),
    lambda r: f"Numéro de dossier fournisseur {random_digits(r, 15)} à rappeler.",
)

EN_POSITIVE: tuple[Template, ...] = (
    lambda r: f"OHIP {m(K.OHIP, ohip(r))} fails validation after the update.",
    lambda r: f"Health card {m(K.OHIP, ohip(r))} is flagged as expired at registration.",
    lambda r: f"HCN: {m(K.OHIP, ohip(r))}, please remove it from the attachment name.",
    lambda r: f"Card number {m(K.OHIP, ohip(r))} scanned at the front desk shows another patient.",
    lambda r: (
        f"Patient's health number {m(K.OHIP, ohip(r, vc=False))} has no version code on file."
    ),
    lambda r: f"Ontario health insurance no. {m(K.OHIP, ohip(r))} rejected by MC EDT.",
    lambda r: f"HC# {m(K.OHIP, ohip(r))} — VC mismatch on the claim.",
    lambda r: f"Card # {m(K.OHIP, ohip(r))} printed on the wristband is unreadable.",
    lambda r: f"> Pt: J. Carter\n> Health card no.: {m(K.OHIP, ohip(r))}\n> Reason: billing",
    lambda r: f"Patient DOB: {m(K.BIRTH_DATE, birth(r, 'en'))} shows the wrong format in the EMR.",
    lambda r: f"Date of birth {m(K.BIRTH_DATE, birth(r, 'en'))} imported as 1900-01-01.",
    lambda r: f"The caller was born {m(K.BIRTH_DATE, birth(r, 'en'))} according to the chart.",
    lambda r: f"D.O.B.: {m(K.BIRTH_DATE, birth(r, 'en'))} entered in the wrong field.",
    lambda r: f"Please call the patient back at {m(K.PHONE, phone_nanp(r))}.",
    lambda r: f"Callback: {m(K.PHONE, phone_nanp(r))} (daughter), after 5 pm.",
    lambda r: f"Mail from {m(K.EMAIL, email(r))} bounced with 550.",
    lambda r: f"RAMQ number {m(K.RAMQ, ramq_number(r))} fails at the pharmacy interface.",
    lambda r: f"Quebec health card {m(K.RAMQ, ramq_number(r))} was typed in the OHIP field.",
    lambda r: f"French insured person, NIR {m(K.NIR, nir(r))}, cannot be found.",
    lambda r: f"SNILS {m(K.SNILS, snils(r))} is rejected by the federal registry.",
    lambda r: (
        f"Patient {m(K.OHIP, ohip(r))}, DOB {m(K.BIRTH_DATE, birth(r, 'en'))}, "
        f"phone {m(K.PHONE, phone_nanp(r))}."
    ),
    lambda r: (
        f"Demographics:\nHealth Card: {m(K.OHIP, ohip(r))}\nDOB: {m(K.BIRTH_DATE, birth(r, 'en'))}"
    ),
)

EN_NEGATIVE: tuple[Template, ...] = (
    lambda r: f"Health card {join(r, ohip_groups(r, valid=False), 'dash')} fails the check digit.",
    lambda r: f"Order {random_digits(r, 10)} from the vendor portal has not arrived.",
    lambda r: f"Invoice INV-{r.randint(2019, 2025)}-{r.randint(1, 999999):06d} is overdue.",
    lambda r: f"PO {random_digits(r, 10)} was approved yesterday.",
    lambda r: f"Case {random_digits(r, 8)} escalated to the vendor.",
    lambda r: f"Tracking number 1Z{random_digits(r, 16)} shows the parcel in Mississauga.",
    lambda r: (
        f"The job started at epoch {r.randint(1_600_000_000, 1_800_000_000)} and never finished."
    ),
    lambda r: f"The printer has been offline since {other_date(r, 'en')}.",
    lambda r: f"Certificate expires on {other_date(r, 'en')}, please renew it.",
    lambda r: f"Maintenance window on {other_date(r, 'en')} from 2 to 4 am.",
    lambda r: f"Extension x{r.randint(1000, 9999)} is dead, dial 0 for the operator.",
    lambda r: (
        f"Asset tag {r.randint(2019, 2025)}-{r.randint(0, 999):03d}-{r.randint(0, 999):03d} is missing."
    ),
    lambda r: (
        f"Build {r.randint(2019, 2025)}.{r.randint(1, 12):02d}.{r.randint(1, 28):02d}.{r.randint(1000, 2359)} is deployed."
    ),
    lambda r: f"Card {' '.join(random_digits(r, 4) for _ in range(4))} was charged twice.",
    lambda r: (
        f"Server listens on 192.168.{r.randint(0, 255)}.{r.randint(1, 254)}:{r.randint(1024, 9999)}."
    ),
    lambda r: f"Ticket #{r.randint(10000, 999999)} merged into #{r.randint(10000, 999999)}.",
    lambda r: f"Serial number {random_digits(r, 4)}-{random_digits(r, 6)} is out of warranty.",
    lambda r: (
        f"Licence key {random_digits(r, 5)}-{random_digits(r, 5)}-{random_digits(r, 5)} rejected."
    ),
)

RU_POSITIVE: tuple[Template, ...] = (
    lambda r: f"Не проходит проверка СНИЛС {m(K.SNILS, snils(r))} в МИС.",
    lambda r: f"СНИЛС пациентки: {m(K.SNILS, snils(r))}, карта задвоилась.",
    lambda r: (
        f"Пациент Орлов И.П. {m(K.SNILS, snils(r, style='compact'))} не отображается в расписании."
    ),
    lambda r: (
        f"Белова Анна Сергеевна, {m(K.SNILS, snils(r, style='compact'))}, запись не создаётся."
    ),
    lambda r: f"ФИО: Соколов П.А., {m(K.SNILS, snils(r))}, прошу исправить.",
    lambda r: f"Страховой номер {m(K.SNILS, snils(r))} указан в направлении неверно.",
    lambda r: f"Полис ОМС {m(K.OMS, oms_number(r))} не найден в региональном сегменте.",
    lambda r: f"ЕНП {m(K.OMS, oms_number(r))} не проходит проверку в ЕРЗ.",
    lambda r: f"ЕНП пациента: {m(K.OMS, oms_number(r))}, прикрепление не найдено.",
    lambda r: f"Единый номер полиса {m(K.OMS, oms_number(r))} указан с ошибкой.",
    lambda r: (
        f"Номер полиса: {m(K.OMS, oms_number(r))}, пациентка прикреплена к другой поликлинике."
    ),
    lambda r: f"Пациентка, {m(K.BIRTH_DATE, birth(r, 'ru'))} г.р., не находит свою карту.",
    lambda r: f"Иванов И.И., {m(K.BIRTH_DATE, birth(r, 'ru'))} г. р., записан дважды.",
    lambda r: f"Дата рождения: {m(K.BIRTH_DATE, birth(r, 'ru'))}, карта не открывается.",
    lambda r: f"Пациент, д.р. {m(K.BIRTH_DATE, birth(r, 'ru'))}, не может записаться к врачу.",
    lambda r: f"Родилась {m(K.BIRTH_DATE, birth(r, 'ru'))}, в МИС записан другой год.",
    lambda r: f"Перезвоните пациенту по номеру {m(K.PHONE, phone_ru(r))}.",
    lambda r: f"Контактный телефон {m(K.PHONE, phone_ru(r))}, звонить после 14:00.",
    lambda r: f"Письмо с адреса {m(K.EMAIL, email(r))} попало в спам.",
    lambda r: (
        f"> Пациент: Петрова О.В.\n> СНИЛС: {m(K.SNILS, snils(r))}\n> Полис: {m(K.OMS, oms_number(r))}"
    ),
    lambda r: (
        f"Пациентка Белова, {m(K.BIRTH_DATE, birth(r, 'ru'))} г.р., СНИЛС {m(K.SNILS, snils(r))}, "
        f"ЕНП {m(K.OMS, oms_number(r))}."
    ),
    lambda r: f"Номер французского страхования {m(K.NIR, nir(r))} не проходит проверку.",
)

RU_NEGATIVE: tuple[Template, ...] = (
    lambda r: (
        f"СНИЛС {snils(r, valid=False, style='classic')} не проходит проверку контрольной суммы."
    ),
    lambda r: (
        f"Заявка № {r.randint(100000, 9999999)} закрыта, порт {r.randint(1024, 9999)} открыт."
    ),
    lambda r: f"Счёт № {r.randint(1, 99999):05d} от {other_date(r, 'ru')} на оплату лицензий.",
    lambda r: f"ИНН организации {random_digits(r, 10)}, КПП {random_digits(r, 9)}.",
    lambda r: f"ОГРН {random_digits(r, 13)} в реквизитах поставщика.",
    lambda r: (
        f"Номер заказа {r.randint(2019, 2025)}-{r.randint(1, 12):02d}-{r.randint(1000, 9999)} у поставщика."
    ),
    lambda r: f"Не работает принтер с {other_date(r, 'ru')}, заявка повторная.",
    lambda r: f"Сертификат ЭЦП врача истекает {other_date(r, 'ru')}.",
    lambda r: f"Приём перенесён на {other_date(r, 'ru')} в 10:00.",
    lambda r: f"Договор № {r.randint(1, 99)}-{r.randint(2019, 2025)}/ИТ от {other_date(r, 'ru')}.",
    lambda r: f"Оплата картой {' '.join(random_digits(r, 4) for _ in range(4))} не прошла.",
    lambda r: f"Номер транзакции {random_digits(r, 16)} в выписке банка.",
    lambda r: f"Внутренний номер {r.randint(1000, 9999)} не отвечает, звоните на 112.",
    lambda r: f"Номер счёта {random_digits(r, 20)} указан в заявке на оплату.",
    lambda r: (
        f"Журнал: {r.randint(2019, 2025)}-03-12 14:05:33 ERROR pid={r.randint(1000, 99999)} сброс."
    ),
    lambda r: f"ОКПО {random_digits(r, 8)}, ОКАТО {random_digits(r, 11)} в карточке организации.",
    lambda r: (
        f"Инвентарный номер {random_digits(r, 3)}-{random_digits(r, 3)}-{random_digits(r, 3)} на мониторе."
    ),
    lambda r: (
        f"Версия {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}.{r.randint(1000, 9999)} установлена."
    ),
)

LANGUAGES = {
    "fr": (FR_POSITIVE, FR_NEGATIVE),
    "en": (EN_POSITIVE, EN_NEGATIVE),
    "ru": (RU_POSITIVE, RU_NEGATIVE),
}
PER_LANGUAGE = 300  # two positives for one negative


def _samples() -> tuple[tuple[str, str], ...]:
    rng = random.Random(20261127)
    samples: list[tuple[str, str]] = []
    for language, (positive, negative) in LANGUAGES.items():
        for i in range(PER_LANGUAGE):
            templates = negative if i % 3 == 2 else positive
            samples.append((language, templates[(i // 3) % len(templates)](rng)))
    return tuple(samples)


SAMPLES = _samples()
