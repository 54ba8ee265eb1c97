"""Knowledge-base rules: who may read an article, what an article form must hold, how
Markdown becomes HTML, and how typed search text becomes a safe full-text query.

Markdown policy: markdown-it-py with raw HTML disabled (``<b>`` is shown as text), then nh3
(Ammonia) with an allowlist of tags and attributes, ``http``/``https``/``mailto`` links only,
``rel="noopener noreferrer nofollow"``. Nothing else (scripts, ``on*``, ``style``, ``hx-*``,
``javascript:`` links, images from anywhere) gets through. Both layers stay: markdown-it
already refuses ``javascript:`` links, nh3 is the net if a later option lets something slip.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import nh3
from markdown_it import MarkdownIt

from server.domain.actors import Actor
from server.domain.errors import ValidationFailed
from server.domain.text import N_

TITLE_MAX = 200
BODY_MAX = 100_000


class Language(StrEnum):
    FR = "fr"
    EN = "en"
    RU = "ru"


class ArticleVisibility(StrEnum):
    PUBLIC = "public"  # requesters too
    INTERNAL = "internal"  # technicians, supervisors, admins


class ArticleState(StrEnum):
    DRAFT = "draft"  # staff only
    PUBLISHED = "published"


LANGUAGE_LABELS = {Language.FR: "Français", Language.EN: "English", Language.RU: "Русский"}
VISIBILITY_LABELS = {
    ArticleVisibility.PUBLIC: N_("Public (requesters too)"),
    ArticleVisibility.INTERNAL: N_("Internal (technicians only)"),
}
STATE_LABELS = {ArticleState.DRAFT: N_("Draft"), ArticleState.PUBLISHED: N_("Published")}


@dataclass(frozen=True, slots=True)
class ArticleAccess:
    visibility: ArticleVisibility
    state: ArticleState
    establishment_ids: frozenset[int]  # empty: applies everywhere


def can_read_article(actor: Actor, article: ArticleAccess, reachable: Iterable[int]) -> bool:
    """``reachable``: the actor's establishment and its ancestors (an article for a parent
    establishment applies to its children)."""
    if not actor.active:
        return False
    if actor.is_staff:
        return True
    if article.state is not ArticleState.PUBLISHED:
        return False
    if article.visibility is not ArticleVisibility.PUBLIC:
        return False
    return not article.establishment_ids or bool(article.establishment_ids & set(reachable))


def can_write_articles(actor: Actor) -> bool:
    return actor.active and actor.is_staff


def can_see_votes(actor: Actor) -> bool:
    return actor.active and actor.is_staff


def ancestors_and_self(
    establishment_id: int | None, parents: Mapping[int, int | None]
) -> list[int]:
    """The establishment and its ancestors, given each establishment's parent (cycle-safe)."""
    chain: list[int] = []
    current = establishment_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return chain


@dataclass(frozen=True, slots=True)
class ArticleForm:
    title: str
    body: str
    category_id: int | None
    language: Language
    visibility: ArticleVisibility
    state: ArticleState
    establishment_ids: tuple[int, ...]
    translation_of: int | None = None  # an article of the family this one translates


def parse_article(values: Mapping[str, str], establishment_ids: Iterable[str] = ()) -> ArticleForm:
    errors: dict[str, str] = {}
    title = values.get("title", "").strip()
    body = values.get("body", "").replace("\r\n", "\n").strip()
    if not title:
        errors["title"] = N_("This field is required.")
    elif len(title) > TITLE_MAX:
        errors["title"] = N_("This text is too long.")
    if not body:
        errors["body"] = N_("This field is required.")
    elif len(body) > BODY_MAX:
        errors["body"] = N_("This text is too long.")
    category_raw = values.get("category_id", "")
    category_id = None
    if category_raw:
        if category_raw.isdigit() and len(category_raw) < 10:
            category_id = int(category_raw)
        else:
            errors["category_id"] = N_("Choose one of the proposed values.")
    choices: dict[str, type[StrEnum]] = {
        "language": Language,
        "visibility": ArticleVisibility,
        "state": ArticleState,
    }
    picked: dict[str, StrEnum] = {}
    defaults = {"language": "fr", "visibility": "internal", "state": "draft"}
    for name, enum in choices.items():
        try:
            picked[name] = enum(values.get(name) or defaults[name])
        except ValueError:
            errors[name] = N_("Choose one of the proposed values.")
    ests: list[int] = []
    for raw in establishment_ids:
        if raw.isdigit() and len(raw) < 10:
            ests.append(int(raw))
        elif raw:
            errors["establishments"] = N_("Choose one of the proposed values.")
    translation_raw = values.get("translation_of", "")
    translation_of = None
    if translation_raw:
        if translation_raw.isdigit() and len(translation_raw) < 10:
            translation_of = int(translation_raw)
        else:
            errors["translation_of"] = N_("Choose one of the proposed values.")
    if errors:
        raise ValidationFailed(errors)
    return ArticleForm(
        title=title,
        body=body,
        category_id=category_id,
        language=Language(picked["language"]),
        visibility=ArticleVisibility(picked["visibility"]),
        state=ArticleState(picked["state"]),
        establishment_ids=tuple(sorted(set(ests))),
        translation_of=translation_of,
    )


def solution_draft(ticket_id: int, title: str, description: str, solution: str) -> tuple[str, str]:
    """Title and Markdown body of a draft article made from a resolved ticket."""
    quoted = "\n".join(f"> {line}" if line else ">" for line in description.splitlines())
    body = f"## Problem\n\n{quoted}\n\n## Solution\n\n{solution}\n\n(ticket #{ticket_id})"
    return title[:TITLE_MAX], body


_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_FRENCH = re.compile(
    r"\b(le|la|les|des|une|est|pas|ne|du|et|dans|sur|pour|avec|je|nous|il)\b|[éèêàçù]"
)
_ENGLISH = re.compile(
    r"\b(the|is|are|and|not|does|doesn't|with|cannot|can't|when|my|this|to|of|it)\b"
)


def guess_language(text: str) -> str:
    """fr, en or ru, the same guess as the database's ``guichet_text_config`` (tickets have
    no language of their own: a requester may write in any of the three)."""
    if _CYRILLIC.search(text):
        return Language.RU.value
    lowered = text.lower()
    if len(_ENGLISH.findall(lowered)) > len(_FRENCH.findall(lowered)):
        return Language.EN.value
    return Language.FR.value


# --- Markdown ------------------------------------------------------------------------------

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)
_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code",
    "pre", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def render_markdown(text: str) -> str:
    """Safe HTML for an article body: no raw HTML, no scripts, no event handlers."""
    raw = _MD.render(text)
    return nh3.clean(
        raw,
        tags=_TAGS,
        attributes={"a": {"href", "title"}, "ol": {"start"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def plain_excerpt(text: str, length: int = 220) -> str:
    """A short plain-text excerpt of Markdown (for lists), not HTML."""
    flat = re.sub(r"[#>*_`~\[\]()|-]+", " ", text)
    flat = " ".join(flat.split())
    return flat if len(flat) <= length else flat[: length - 1].rstrip() + "…"


# --- Search text ---------------------------------------------------------------------------

MARK_START = "\x02"
MARK_END = "\x03"
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 8


def search_terms(text: str) -> list[str]:
    """The words of what was typed, lower-cased; punctuation and operators are dropped, so
    no query syntax ever reaches the engine. Single letters are ignored (too broad)."""
    words = [w.lower() for w in _WORD.findall(text) if len(w) > 1 or w.isdigit()]
    return [w.replace("_", "") for w in words if w.replace("_", "")][:MAX_TERMS]


def ticket_number(text: str) -> int | None:
    stripped = text.strip().lstrip("#")
    if stripped.isdigit() and len(stripped) < 10:
        return int(stripped)
    return None


# Suggestions match any word of what is being typed: these carry no meaning on their own.
STOP_WORDS = frozenset(
    {
        "les",
        "des",
        "une",
        "est",
        "pas",
        "dans",
        "sur",
        "pour",
        "avec",
        "nous",
        "vous",
        "mon",
        "mes",
        "ses",
        "qui",
        "que",
        "plus",
        "par",
        "the",
        "and",
        "not",
        "does",
        "with",
        "this",
        "that",
        "for",
        "from",
        "are",
        "was",
        "can",
        "cannot",
        "have",
        "has",
        "не",
        "на",
        "что",
        "как",
        "это",
        "для",
        "при",
        "уже",
    }
)


def suggestion_terms(text: str) -> list[str]:
    return [t for t in search_terms(text) if len(t) > 2 and t not in STOP_WORDS]


def tsquery_text(terms: list[str], any_word: bool = False) -> str:
    """PostgreSQL stems, so whole words suffice ("imprimantes" finds "imprimante"). For
    suggestions (``any_word``, the text is still being typed) the last word is a prefix; the
    search page avoids prefixes, whose frequency the planner cannot estimate."""
    parts = [f"'{t}'" for t in terms]
    if parts and any_word:
        parts[-1] += ":*"
    return (" | " if any_word else " & ").join(parts)


_MARKED = re.compile(f"{MARK_START}(.*?){MARK_END}", re.DOTALL)


def highlight_html(fragment: str | None) -> str:
    """HTML of an engine's snippet whose matches are wrapped in MARK_START/MARK_END: the
    text is escaped first, so only our <mark> tags are markup."""
    if not fragment:
        return ""
    escaped = html.escape(fragment, quote=False)
    marked = _MARKED.sub(r"<mark>\1</mark>", escaped)
    return marked.replace(MARK_START, "").replace(MARK_END, "")


def prefer_language(
    found: list[Mapping[str, object]], language: str, keep: int
) -> list[Mapping[str, object]]:
    """The ``keep`` best articles, those in the reader's language first (each group keeps
    its relevance order): a Russian reader sees the Russian article before the French one.

    Translations of one article (rows with the same ``family``) count once: the reader's
    language if the family has it, else its most relevant member."""
    best: dict[object, Mapping[str, object]] = {}
    for row in found:
        family = row.get("family", row.get("id"))
        kept = best.get(family)
        if kept is None or (row.get("language") == language != kept.get("language")):
            best[family] = row
    ordered = sorted(
        (row for row in found if best.get(row.get("family", row.get("id"))) is row),
        key=lambda row: row.get("language") != language,
    )
    return ordered[:keep]


def missing_language(present: set[str]) -> str:
    """The first UI language a family of translations does not have yet (else French)."""
    return next((lang.value for lang in Language if lang.value not in present), "fr")


def family_root(article_id: int, translation_of: int | None) -> int:
    """The article every translation of a family points at."""
    return translation_of if translation_of is not None else article_id


def translation_error(
    language: str, family_languages: Mapping[int, str], article_id: int | None
) -> str | None:
    """Why an article cannot join a family (one article per language), or None.

    ``family_languages`` maps each member's id to its language; the article itself (when
    it is already a member) does not count against its own language."""
    for member, member_language in family_languages.items():
        if member != article_id and member_language == language:
            return N_("This article already exists in this language.")
    return None
