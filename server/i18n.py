"""Translations: French by default; English and Russian complete too.

Catalogues are the ``.po`` files under ``server/locale``; they are compiled in memory at start-up
(no binary ``.mo`` files in the repository). The current language lives in a context variable
set per request (and per websocket viewer), so templates and code call plain ``gettext``.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "guichet"
SUPPORTED = ("fr", "en", "ru")
DEFAULT = "fr"
# Each language is named in itself: a reader finds their own whatever the page language.
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "ru": "Русский"}

_current: ContextVar[str] = ContextVar("guichet_locale", default=DEFAULT)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return _gettext.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def set_locale(locale: str) -> None:
    _current.set(locale if locale in SUPPORTED else DEFAULT)


def get_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


_ = gettext


def negotiate(accept_language: str | None, preferred: str = "", default: str = DEFAULT) -> str:
    """The user's own choice wins, then the browser's Accept-Language, then the default."""
    if preferred in SUPPORTED:
        return preferred
    best: tuple[float, str] | None = None
    for part in (accept_language or "").split(",")[:20]:
        lang, _sep, params = part.strip().partition(";")
        code = lang.strip().lower().split("-")[0]
        if code not in SUPPORTED:
            continue
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, code)
    return best[1] if best else (default if default in SUPPORTED else DEFAULT)
