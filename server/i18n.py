"""Translations: French by default; English and Russian complete too.

Catalogues are the ``.po`` files under ``server/locale``; they are compiled in memory at start-up
(no binary ``.mo`` files in the repository). The current language lives in a context variable
set per request (and per websocket viewer), so templates and code call plain ``gettext``.
"""

from __future__ import annotations

import gettext as _gettext
from contextvars import ContextVar
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import (
    DateTimePattern,
    format_timedelta,
    get_date_format,
    get_datetime_format,
    get_time_format,
    parse_pattern,
)
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent, get_decimal_symbol

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


# --- Locale-aware formatting (Babel): numbers, percentages, dates in the reader's time zone ---

DEFAULT_ZONE = "Europe/Paris"
_zone: ContextVar[str] = ContextVar("guichet_zone", default=DEFAULT_ZONE)


@cache
def _zone_info(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def is_timezone(name: str) -> bool:
    return len(name) <= 64 and _zone_info(name) is not None


def set_timezone(name: str) -> None:
    """The reader's zone for this request; an unknown name keeps the deployment's default."""
    _zone.set(name if name and _zone_info(name) is not None else DEFAULT_ZONE)


def get_timezone() -> ZoneInfo:
    return _zone_info(_zone.get()) or ZoneInfo(DEFAULT_ZONE)


def get_timezone_name() -> str:
    """The zone dates are shown in now (part of the key of any cached fragment showing one)."""
    return _zone.get()


def format_number(value: float | int | Decimal) -> str:
    """12 345,5 in French and Russian, 12,345.5 in English."""
    if type(value) is int:  # counts: a page shows the same few hundred again and again
        return _format_count(value, get_locale())
    return format_decimal(value, locale=get_locale())


@lru_cache(maxsize=4096)
def _format_count(value: int, locale: str) -> str:
    return format_decimal(value, locale=locale)


def format_percent_of_100(value: float | int | Decimal | None) -> str:
    """A percentage given on a 0-100 scale, one decimal at most: "88,6 %" / "88.6%"."""
    if value is None:
        return "—"
    share = Decimal(str(round(float(value), 1))) / 100
    return format_percent(share, locale=get_locale(), decimal_quantization=False)


def spreadsheet_number(value: float | int | Decimal | None) -> str:
    """A number as the reader's spreadsheet expects it typed: "88,6" in French and Russian,
    no thousands separator (it would turn the cell into text)."""
    if value is None:
        return ""
    return format_decimal(value, locale=get_locale(), group_separator=False)


def csv_delimiter() -> str:
    """Where the decimal mark is a comma, spreadsheets split CSV columns on semicolons."""
    return ";" if get_decimal_symbol(get_locale()) == "," else ","


@lru_cache(maxsize=32)
def _moment_patterns(
    width: str, locale: str
) -> tuple[str, DateTimePattern, DateTimePattern, Locale]:
    """The locale's date-time joining pattern and its date and time patterns, parsed once:
    ``babel.dates.format_datetime`` looks them up and parses them on every call, two thirds
    of its cost (a board or a search page shows a date on every card)."""
    known = Locale.parse(locale)
    return (
        get_datetime_format(width, locale=known).replace("'", ""),
        parse_pattern(get_date_format(width, locale=known)),
        parse_pattern(get_time_format(width, locale=known)),
        known,
    )


def format_moment(value: datetime | None, width: str = "short") -> str:
    """A date and time in the reader's language and time zone: what
    ``format_datetime(value, width, tzinfo=..., locale=...)`` gives (tested against it)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    shown = value.astimezone(get_timezone())
    joined, date_pattern, time_pattern, locale = _moment_patterns(width, get_locale())
    return joined.replace(
        "{0}", time_pattern.apply(shown.timetz(), locale, reference_date=shown.date())
    ).replace("{1}", date_pattern.apply(shown.date(), locale))


def format_age(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, with its direction: "3 дня назад", "il y a 3 jours", "3 days ago"."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return format_timedelta(
        value - now, add_direction=True, threshold=1.1, locale=get_locale()
    )
