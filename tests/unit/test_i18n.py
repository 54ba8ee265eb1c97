"""Every UI string goes through gettext, and both catalogues are complete."""

from pathlib import Path

import pytest
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


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_catalogue_translates_every_message(locale: str) -> None:
    path = ROOT / "server" / "locale" / locale / "LC_MESSAGES" / "guichet.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and m.string and (isinstance(m.string, str) or all(m.string)) and not m.fuzzy
    }
    messages = extracted_messages()
    assert len(messages) > 100
    assert sorted(messages - translated) == []


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
