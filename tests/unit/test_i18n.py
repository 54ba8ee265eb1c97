"""Every UI string goes through gettext, every catalogue is complete (plural forms too), and
numbers, dates and ages follow the reader's language and time zone."""

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from server import i18n

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extracted_messages() -> set[str]:
    found: set[str] = set()
    sources = [
        (ROOT / "server", [("**.py", "python")], {}),
        (
            ROOT / "frontend" / "templates",
            [("**.html", "jinja2")],
            {"**.html": {"extensions": "jinja2.ext.i18n"}},
        ),
    ]
    for directory, method_map, options in sources:
        for _file, _line, message, _comments, _ctx in extract_from_dir(
            str(directory), method_map=method_map, options_map=options, keywords=KEYWORDS
        ):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalogue(locale: str) -> Catalog:
    path = ROOT / "server" / "locale" / locale / "LC_MESSAGES" / "guichet.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


# How many plural forms each language has, written out (not taken from the file under test).
PLURAL_FORMS = {"fr": 2, "en": 2, "ru": 3}
PLACEHOLDER = re.compile(r"%\((\w+)\)")


def test_every_supported_language_has_its_plural_count() -> None:
    assert set(PLURAL_FORMS) == set(i18n.SUPPORTED)


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_plural_entries_have_exactly_the_languages_forms(locale: str) -> None:
    """Read from the file itself: Babel trims extra forms (with a warning at every start)."""
    path = ROOT / "server" / "locale" / locale / "LC_MESSAGES" / "guichet.po"
    wrong = [
        block.split("\n", 3)[:3]
        for block in path.read_text(encoding="utf-8").split("\n\n")
        if "msgid_plural" in block
        and len(re.findall(r"^msgstr\[\d+\]", block, re.MULTILINE)) != PLURAL_FORMS[locale]
    ]
    assert wrong == []


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_catalogue_translates_every_message(locale: str) -> None:
    catalog = _catalogue(locale)
    assert catalog.num_plurals == PLURAL_FORMS[locale]
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id
        and m.string
        and (isinstance(m.string, str) or (len(m.string) == catalog.num_plurals and all(m.string)))
        and not m.fuzzy
    }
    messages = extracted_messages()
    assert len(messages) > 100
    assert sorted(messages - translated) == []


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_translations_keep_their_placeholders(locale: str) -> None:
    """A translation that loses or invents %(name)s would crash or lie at run time. In
    Russian the first form also serves 21, 31...: it must show the number too."""
    wrong = []
    for m in _catalogue(locale):
        if not m.id or not m.string:
            continue
        if isinstance(m.id, str):
            if set(PLACEHOLDER.findall(m.id)) != set(PLACEHOLDER.findall(m.string)):
                wrong.append(m.id)
            continue
        allowed = set(PLACEHOLDER.findall(m.id[0])) | set(PLACEHOLDER.findall(m.id[1]))
        needed = set(PLACEHOLDER.findall(m.id[1]))
        for index, form in enumerate(m.string):
            found = set(PLACEHOLDER.findall(form))
            must = needed if (locale == "ru" or index == len(m.string) - 1) else set()
            if not found <= allowed or not must <= found:
                wrong.append(f"{m.id[0]} [{index}]")
    assert wrong == []


# Literal text a template may hold outside gettext: the product's name and markup.
TEMPLATE_ALLOWED = {"Guichet", "· Guichet"}
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_TRANS = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", re.S)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->", re.S | re.I)
_VISIBLE_ATTR = re.compile(r'\b(title|placeholder|alt|aria-label)="([^"]*)"', re.I)
_TAG = re.compile(r"<[^>]*>", re.S)
_WORD = re.compile(r"[^\W\d_]{2,}")
_ATTRIBUTE_TEXT = re.compile(r'^([\w-]+="[^"]*"\s*)+$')


def literal_template_text(source: str) -> list[str]:
    """Words a reader would see that no gettext call produced (a heuristic scan)."""
    text = _SCRIPT.sub(" ", _JINJA.sub(" ", _TRANS.sub(" ", source)))
    found = [m.group(0) for m in _VISIBLE_ATTR.finditer(text) if _WORD.search(m.group(2))]
    for line in _TAG.sub(" ", text).splitlines():
        line = line.strip()
        if _WORD.search(line) and line not in TEMPLATE_ALLOWED and not _ATTRIBUTE_TEXT.match(line):
            found.append(line)
    return found


def test_the_template_scan_finds_literal_text() -> None:
    assert literal_template_text('<p title="Open">{{ _("Hello") }}</p>') == ['title="Open"']
    assert literal_template_text("<p>Hello {{ name }}</p>") == ["Hello"]
    assert literal_template_text("<p>{% trans %}Hello{% endtrans %} {{ 3 }} ·</p>") == []


def test_templates_have_no_text_outside_gettext() -> None:
    templates = ROOT / "frontend" / "templates"
    found = {
        str(path.relative_to(templates)): hits
        for path in sorted(templates.rglob("*"))
        if path.suffix in {".html", ".txt"} and (hits := literal_template_text(path.read_text()))
    }
    assert found == {}


# Operator tools speak English on the console (and Prometheus help texts to the operator's
# monitoring); demo data is content, not interface.
PYTHON_ALLOWED_FILES = {
    "cli.py",
    "cli_intake.py",
    "demo.py",
    "demo_articles.py",
    "demo_catalogue.py",
    "demo_russian.py",
    "metrics.py",
}
_SENTENCE = re.compile(r"^[A-ZÀ-ÖА-ЯЁ][a-zß-öø-ÿа-яё']+( [\w'’,:;()-]+){2,}[.!?:]?$")
_GETTEXT_CALLS = {"_", "N_", "gettext", "ngettext"}
_NOT_FOR_USERS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
_DEVELOPER_KEYWORDS = {"summary", "description"}


def literal_python_sentences(source: str) -> list[str]:
    """String constants shaped like a sentence that reach no gettext call (a heuristic
    scan): docstrings, log lines and OpenAPI texts are for developers."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if not _SENTENCE.match(node.value.strip()):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Expr):
            continue
        if isinstance(parent, ast.keyword) and parent.arg in _DEVELOPER_KEYWORDS:
            continue
        if isinstance(parent, ast.Call):
            func = parent.func
            name = getattr(func, "id", None) or getattr(func, "attr", "")
            if name in _GETTEXT_CALLS or name in _NOT_FOR_USERS:
                continue
        found.append(node.value)
    return found


def test_the_python_scan_finds_literal_sentences() -> None:
    source = 'raise ValidationFailed({"x": "This field is required."})\nok = N_("Fine as it is.")'
    assert literal_python_sentences(source) == ["This field is required."]


# Demo canned replies are fictional content in each language, like the other demo modules.
PYTHON_ALLOWED_FILES |= {"demo_canned.py"}


def test_python_has_no_user_sentence_outside_gettext() -> None:
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / "server").rglob("*.py"))
        if path.name not in PYTHON_ALLOWED_FILES
        and (hits := literal_python_sentences(path.read_text()))
    }
    assert found == {}


def test_french_is_really_french() -> None:
    i18n.set_locale("fr")
    assert i18n.gettext("New ticket") == "Nouveau ticket"
    assert i18n.ngettext("%(num)d ticket", "%(num)d tickets", 2) % {"num": 2} == "2 tickets"
    i18n.set_locale("en")
    assert i18n.gettext("New ticket") == "New ticket"


@pytest.mark.parametrize(
    ("header", "preferred", "expected"),
    [
        ("en-CA,en;q=0.9,fr;q=0.5", "", "en"),
        ("fr-CA,fr;q=0.9", "", "fr"),
        ("ru-RU,de;q=0.8", "", "ru"),
        ("de-DE,ru;q=0.5,en;q=0.4", "", "ru"),
        ("de-DE,it;q=0.8", "", "fr"),
        ("en;q=0.2, fr;q=0.8", "", "fr"),
        ("en", "fr", "fr"),
        ("", "", "fr"),
        ("en;q=abc", "", "fr"),
    ],
)
def test_language_negotiation(header: str, preferred: str, expected: str) -> None:
    assert i18n.negotiate(header, preferred) == expected


def test_russian_has_three_plural_forms() -> None:
    i18n.set_locale("ru")
    forms = {
        n: i18n.ngettext("%(num)d ticket", "%(num)d tickets", n) % {"num": n}
        for n in (1, 2, 5, 11, 21, 22, 25, 112)
    }
    assert forms == {
        1: "1 заявка",
        2: "2 заявки",
        5: "5 заявок",
        11: "11 заявок",
        21: "21 заявка",
        22: "22 заявки",
        25: "25 заявок",
        112: "112 заявок",
    }
    assert i18n.gettext("In progress (assigned)") == "В работе (назначена)"
    i18n.set_locale("fr")


@pytest.mark.parametrize(
    ("locale", "percent", "number"),
    [
        ("fr", "88,6\xa0%", "12\u202f345,5"),
        ("ru", "88,6\xa0%", "12\xa0345,5"),
        ("en", "88.6%", "12,345.5"),
    ],
)
def test_numbers_and_percentages_follow_language(locale: str, percent: str, number: str) -> None:
    i18n.set_locale(locale)
    try:
        assert i18n.format_percent_of_100(88.6) == percent
        assert i18n.format_percent_of_100(None) == "—"
        assert i18n.format_number(12345.5) == number
    finally:
        i18n.set_locale("fr")


@pytest.mark.parametrize(
    ("locale", "expected"), [("ru", "3 дня назад"), ("fr", "il y a 3 jours"), ("en", "3 days ago")]
)
def test_ages_say_how_long_ago(locale: str, expected: str) -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    i18n.set_locale(locale)
    try:
        assert i18n.format_age(now - timedelta(days=3), now) == expected
    finally:
        i18n.set_locale("fr")


def test_dates_use_the_reader_time_zone_and_language() -> None:
    moment = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
    i18n.set_locale("ru")
    try:
        i18n.set_timezone("Europe/Moscow")
        assert i18n.format_moment(moment) == "27.11.2026, 12:05"
        i18n.set_timezone("Europe/Paris")
        assert i18n.format_moment(moment) == "27.11.2026, 10:05"
        i18n.set_timezone("Mars/Olympus")  # unknown: the deployment's default
        assert i18n.format_moment(moment) == "27.11.2026, 10:05"
    finally:
        i18n.set_locale("fr")
        i18n.set_timezone("")


def test_counts_follow_language_when_the_same_count_is_shown_in_turn() -> None:
    """Counts are formatted once per value and language (``i18n.format_number``): the same
    count read in one language, then in another, is written in each one's way."""
    expected = {"fr": "12\u202f345", "ru": "12\xa0345", "en": "12,345"}
    try:
        for locale in ("fr", "ru", "en", "fr", "en"):
            i18n.set_locale(locale)
            assert i18n.format_number(12345) == expected[locale]
    finally:
        i18n.set_locale("fr")


@pytest.mark.parametrize("width", ["short", "medium", "long", "full"])
@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_dates_read_as_babel_formats_them(locale: str, width: str) -> None:
    """``format_moment`` parses the locale's patterns once; what it writes is Babel's own,
    across zones and their clock changes (Paris's last Sunday of March and of October)."""
    from babel.dates import format_datetime

    moments = [
        datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2027, 7, 4, 13, 7),  # naive: taken as UTC
    ]
    i18n.set_locale(locale)
    try:
        for zone in ("Europe/Paris", "Europe/Moscow", "America/Toronto"):
            i18n.set_timezone(zone)
            for moment in moments:
                aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                expected = format_datetime(aware, width, tzinfo=ZoneInfo(zone), locale=locale)
                assert i18n.format_moment(moment, width) == expected
    finally:
        i18n.set_locale("fr")
        i18n.set_timezone("")


@pytest.mark.parametrize("language", ["fr", "en", "ru"])
def test_templates_translate_as_jinja2s_own_gettext_does(language: str) -> None:
    """``_()`` in templates is Guichet's one-call ``template_gettext``: it must answer what
    jinja2's newstyle gettext answers, escaping included, in every language."""
    from jinja2 import Environment

    from server.web.rendering import make_environment

    plain = Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    plain.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    source = (
        "{{ _('Take this ticket') }}|{{ _('Stop sharing with %(name)s', name=who, message=who) }}|"
        "{{ _(dynamic) }}|{{ _('A message no catalogue has: 100%%') }}"
    )
    ours = make_environment().from_string(source)
    theirs = plain.from_string(source)
    i18n.set_locale(language)
    try:
        for who in ("Zoé <b>&amp;</b>", 'O\'Brien "Joe"'):
            values = {"who": who, "dynamic": "Unassigned"}
            expected = theirs.render(**values)
            assert ours.render(**values) == expected
            assert ours.render(**values) == expected  # and again, from what it kept
            assert "<b>" not in expected and expected.endswith("no catalogue has: 100%")
    finally:
        i18n.set_locale(i18n.DEFAULT)
