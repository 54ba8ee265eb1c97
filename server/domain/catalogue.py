"""Rules of the service catalogue: what a category, a request type and a group may hold,
names in several languages with a fallback, the tree's shape, and the import file's rows.

Pure: no database. Messages are ids (``N_``) that the web layer translates.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from server.domain.errors import ValidationFailed
from server.domain.forms import FieldCollector
from server.domain.text import N_
from server.domain.vocabulary import Priority

DEFAULT_LANGUAGE = "fr"
# Languages with their own columns in forms and files; French is the row's own text.
OTHER_LANGUAGES = ("en", "ru")
LANGUAGES = (DEFAULT_LANGUAGE, *OTHER_LANGUAGES)
NAME_MAX = 120
DESCRIPTION_MAX = 2000
CODE_MAX = 60
EMAIL_MAX = 254
TIER_MAX = 9
POSITION_MAX = 100_000
UNSPECIFIED = "unspecified"  # the system request type of mailed tickets

_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KINDS = ("group", "category", "request_type")
# The columns of an export row, in file order (CSV header and JSON keys alike).
COLUMNS = (
    "kind",
    "code",
    "parent",
    *(f"name_{lang}" for lang in LANGUAGES),
    *(f"description_{lang}" for lang in LANGUAGES),
    "priority",
    "group",
    "tier",
    "email",
    "next_tier",
    "establishment",
    "position",
    "active",
)


def pick_text(default: str, translations: Mapping[str, str], language: str) -> str:
    """The reader's language, else the default (French) text, else any translation."""
    own = translations.get(language, "")
    if own:
        return own
    if default:
        return default
    return next((text for _lang, text in sorted(translations.items()) if text), "")


# Russian letters spelt in Latin ones, so that Russian names make readable codes too.
_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            *("a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o"),
            *("p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e"),
            *("yu", "ya"),
        ],
        strict=True,
    )
)


def slug(text: str) -> str:
    """A stable code from a name: "Dossier patient (DPI)" -> "dossier-patient-dpi",
    "Запись на приём" -> "zapis-na-priem"."""
    latin = "".join(_CYRILLIC.get(ch, ch) for ch in text.lower())
    plain = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:CODE_MAX]


def moves_under_itself(node_id: int, new_parent_id: int | None, parents: Mapping[int, Any]) -> bool:
    """Would putting ``node_id`` under ``new_parent_id`` make a loop in the tree?"""
    seen: set[int] = set()
    current = new_parent_id
    while current is not None and current not in seen:
        if current == node_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


class _Fields(FieldCollector):
    """The form collector with the catalogue's own kinds of field."""

    def code(self, name: str, fallback: str) -> str:
        value = self.text(name, CODE_MAX) or slug(fallback)
        if name not in self.errors and not _CODE.match(value):
            self.errors[name] = N_(
                "Use lower-case letters, digits, dots, dashes or underscores only."
            )
        return value

    def number(self, name: str, low: int, high: int, default: int | None) -> int | None:
        value = self.raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, bool):
            self.errors[name] = N_("Enter a whole number.")
            return default
        try:
            number = int(str(value).strip())
        except ValueError:
            self.errors[name] = N_("Enter a whole number.")
            return default
        if not low <= number <= high:
            self.errors[name] = N_("This number is out of range.")
            return default
        return number

    def priority(self, name: str, *, required: bool) -> Priority | None:
        value = self.text(name, 20)
        if not value:
            if required:
                self.errors[name] = N_("This field is required.")
            return None
        try:
            return Priority(value)
        except ValueError:
            self.errors[name] = N_("Choose one of the proposed values.")
            return None

    def email(self, name: str) -> str:
        value = self.text(name, EMAIL_MAX)
        if value and name not in self.errors and not _EMAIL.match(value):
            self.errors[name] = N_("Enter a valid e-mail address.")
        return value.lower()

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "on", "yes"):
            return True
        if text in ("0", "false", "off", "no"):
            return False
        self.errors[name] = N_("Choose one of the proposed values.")
        return default

    def labels(self, prefix: str, max_len: int, *, required: bool) -> dict[str, str]:
        """``prefix`` is the default language's text; ``prefix_en``, ``prefix_ru`` the
        others (a file row spells the default ``prefix_fr``)."""
        texts = {DEFAULT_LANGUAGE: self.text(prefix, max_len, required=required)}
        for lang in OTHER_LANGUAGES:
            texts[lang] = self.text(f"{prefix}_{lang}", max_len)
        return texts


@dataclass(frozen=True, slots=True)
class CategoryForm:
    code: str
    names: dict[str, str]
    descriptions: dict[str, str]
    parent_id: int | None
    default_priority: Priority
    default_group_id: int | None
    establishment_id: int | None
    position: int


def _optional_id(f: _Fields, name: str) -> int | None:
    return f.number(name, 1, 2**31 - 1, None)


def parse_category(raw: Mapping[str, Any]) -> CategoryForm:
    f = _Fields(raw)
    names = f.labels("name", NAME_MAX, required=True)
    descriptions = f.labels("description", DESCRIPTION_MAX, required=False)
    code = f.code("code", names[DEFAULT_LANGUAGE])
    priority = f.priority("default_priority", required=False) or Priority.MEDIUM
    form = CategoryForm(
        code=code,
        names=names,
        descriptions=descriptions,
        parent_id=_optional_id(f, "parent_id"),
        default_priority=priority,
        default_group_id=_optional_id(f, "default_group_id"),
        establishment_id=_optional_id(f, "establishment_id"),
        position=f.number("position", 0, POSITION_MAX, 0) or 0,
    )
    f.done()
    return form


@dataclass(frozen=True, slots=True)
class RequestTypeForm:
    code: str
    names: dict[str, str]
    priority: Priority | None
    group_id: int | None
    position: int


def parse_request_type(raw: Mapping[str, Any]) -> RequestTypeForm:
    f = _Fields(raw)
    names = f.labels("name", NAME_MAX, required=True)
    code = f.code("code", names[DEFAULT_LANGUAGE])
    if code == UNSPECIFIED:
        f.errors["code"] = N_("This code is reserved.")
    form = RequestTypeForm(
        code=code,
        names=names,
        priority=f.priority("priority", required=False),
        group_id=_optional_id(f, "group_id"),
        position=f.number("position", 0, POSITION_MAX, 0) or 0,
    )
    f.done()
    return form


@dataclass(frozen=True, slots=True)
class GroupForm:
    names: dict[str, str]
    descriptions: dict[str, str]
    tier: int
    email: str
    next_tier_id: int | None


def parse_group(raw: Mapping[str, Any]) -> GroupForm:
    f = _Fields(raw)
    form = GroupForm(
        names=f.labels("name", NAME_MAX, required=True),
        descriptions=f.labels("description", DESCRIPTION_MAX, required=False),
        tier=f.number("tier", 1, TIER_MAX, 1) or 1,
        email=f.email("email"),
        next_tier_id=_optional_id(f, "next_tier_id"),
    )
    f.done()
    return form


# Import files ---------------------------------------------------------------------------


@dataclass(slots=True)
class Row:
    """One checked row of an import file; ``line`` is its number in the file."""

    line: int
    kind: str
    code: str
    parent: str
    names: dict[str, str]
    descriptions: dict[str, str]
    priority: Priority | None
    group: str
    tier: int
    email: str
    next_tier: str
    establishment: str
    position: int
    active: bool


@dataclass
class ImportPlan:
    groups: list[Row] = field(default_factory=list)
    categories: list[Row] = field(default_factory=list)  # parents before children
    request_types: list[Row] = field(default_factory=list)


class ImportRejected(ValidationFailed):
    """Faults of an import file, per line: ``lines`` is [(line, column, message id)]."""

    def __init__(self, lines: list[tuple[int, str, str]]) -> None:
        super().__init__({f"{line}:{column}": message for line, column, message in lines})
        self.lines = lines


def _file_labels(f: _Fields, prefix: str, max_len: int, *, required: bool) -> dict[str, str]:
    texts = {}
    for lang in LANGUAGES:
        texts[lang] = f.text(
            f"{prefix}_{lang}", max_len, required=required and lang == DEFAULT_LANGUAGE
        )
    return texts


def _check_row(line: int, raw: Mapping[str, Any]) -> tuple[Row | None, dict[str, str]]:
    f = _Fields(raw)
    kind = f.text("kind", 20, required=True)
    if kind and kind not in KINDS:
        f.errors["kind"] = N_("Choose one of the proposed values.")
    names = _file_labels(f, "name", NAME_MAX, required=True)
    if kind == "group":
        # A group's name is its key (names are unique); the code column is not used.
        code = names[DEFAULT_LANGUAGE]
    else:
        code = f.text("code", CODE_MAX, required=True)
        if code and "code" not in f.errors and not _CODE.match(code):
            f.errors["code"] = N_(
                "Use lower-case letters, digits, dots, dashes or underscores only."
            )
    row = Row(
        line=line,
        kind=kind,
        code=code,
        parent=f.text("parent", CODE_MAX),
        names=names,
        descriptions=_file_labels(f, "description", DESCRIPTION_MAX, required=False),
        priority=f.priority("priority", required=kind == "category"),
        group=f.text("group", NAME_MAX),
        tier=f.number("tier", 1, TIER_MAX, 1) or 1,
        email=f.email("email"),
        next_tier=f.text("next_tier", NAME_MAX),
        establishment=f.text("establishment", 3).upper(),
        position=f.number("position", 0, POSITION_MAX, 0) or 0,
        active=f.flag("active", True),
    )
    if kind == "request_type" and not row.parent:
        f.errors["parent"] = N_("This field is required.")
    if kind == "request_type" and code == UNSPECIFIED:
        f.errors["code"] = N_("This code is reserved.")
    return (None if f.errors else row), f.errors


def plan_import(
    rows: Iterable[Mapping[str, Any]],
    *,
    known_categories: Mapping[str, str | None],
    known_groups: Iterable[str],
    known_establishments: Iterable[str],
    first_line: int = 1,
) -> ImportPlan:
    """Check every row and every reference (to rows of the file or to what exists already);
    raise ImportRejected with all the faults, or return the rows in the order to apply them.

    ``known_categories`` maps the existing categories' codes to their parents' codes."""
    faults: list[tuple[int, str, str]] = []
    plan = ImportPlan()
    seen: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(rows, start=first_line):
        if not isinstance(raw, Mapping):
            faults.append((number, "kind", N_("This row is not a record.")))
            continue
        row, errors = _check_row(number, raw)
        faults.extend((number, column, message) for column, message in errors.items())
        if row is None:
            continue
        key = (row.kind, f"{row.parent}/{row.code}" if row.kind == "request_type" else row.code)
        if key in seen:
            faults.append((number, "code", N_("This code appears twice in the file.")))
            continue
        seen[key] = number
        {"group": plan.groups, "category": plan.categories, "request_type": plan.request_types}[
            row.kind
        ].append(row)
    groups = set(known_groups) | {r.code for r in plan.groups}
    establishments = set(known_establishments)
    parents: dict[str, str | None] = dict(known_categories)
    parents.update({r.code: r.parent or None for r in plan.categories})
    for r in plan.groups:
        if r.next_tier and r.next_tier not in groups:
            faults.append((r.line, "next_tier", N_("No group has this name.")))
    for r in plan.categories:
        if r.group and r.group not in groups:
            faults.append((r.line, "group", N_("No group has this name.")))
        if r.establishment and r.establishment not in establishments:
            faults.append((r.line, "establishment", N_("No establishment has this code.")))
        if r.parent and r.parent not in parents:
            faults.append((r.line, "parent", N_("No category has this code.")))
        elif _loops(r.code, parents):
            faults.append((r.line, "parent", N_("A category cannot be placed under itself.")))
    for r in plan.request_types:
        if r.parent not in parents:
            faults.append((r.line, "parent", N_("No category has this code.")))
        if r.group and r.group not in groups:
            faults.append((r.line, "group", N_("No group has this name.")))
    if faults:
        raise ImportRejected(sorted(faults))
    plan.categories = _parents_first(plan.categories)
    return plan


def _loops(code: str, parents: Mapping[str, str | None]) -> bool:
    seen = {code}
    current = parents.get(code)
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def _parents_first(rows: list[Row]) -> list[Row]:
    by_code = {r.code: r for r in rows}
    ordered: list[Row] = []
    placed: set[str] = set()

    def place(row: Row) -> None:
        if row.code in placed:
            return
        if row.parent in by_code:
            place(by_code[row.parent])
        placed.add(row.code)
        ordered.append(row)

    for row in rows:
        place(row)
    return ordered


def parse_translations(
    raw: Mapping[str, Any], limits: Mapping[str, int]
) -> dict[str, dict[str, str]]:
    """The other languages' texts of a thing's fields (``title_en``, ``body_ru``...):
    field -> language -> text; empty texts mean "fall back to the default"."""
    f = _Fields(raw)
    texts = {
        name: {lang: f.text(f"{name}_{lang}", limit) for lang in OTHER_LANGUAGES}
        for name, limit in limits.items()
    }
    f.done()
    return texts
