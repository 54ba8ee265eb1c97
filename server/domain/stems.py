"""Word stems for full-text search on SQLite (PostgreSQL stems with its own dictionaries).

The same Snowball algorithms PostgreSQL uses (``french_stem``, ``english_stem``,
``russian_stem``), applied the same way: accents stripped first (``unaccent``), then the
stemmer of the document's language. A document is stemmed in one language (an article's own,
or the one ``guess_language`` picks for a ticket); a query word is stemmed in each language it
could be written in (Cyrillic: Russian; Latin: French and English), so "imprimantes" finds
"imprimante" and "сервисы" finds "Сервис" whatever the ticket's language turned out to be.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

from server.domain.knowledge import Language, guess_language

_ALGORITHMS = {
    Language.FR.value: "french",
    Language.EN.value: "english",
    Language.RU.value: "russian",
}
_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[а-яё]")
_ANY_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
MAX_INDEXED_CHARS = 200_000  # a pasted log is indexed by its beginning, as PostgreSQL caps too


@lru_cache(maxsize=3)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(_ALGORITHMS.get(language, "french"))


def fold(text: str) -> str:
    """Lower case without accents ("Écran" -> "ecran"), like FTS5's ``remove_diacritics``.

    "й" keeps its breve: it is a letter of its own, and Snowball's Russian expects it.
    """
    decomposed = unicodedata.normalize("NFD", text.casefold())
    kept = (c for c in decomposed if not unicodedata.combining(c) or c == "\u0306")
    return unicodedata.normalize("NFC", "".join(kept))


def document_stems(text: str | None, language: str | None = None) -> str:
    """The stems of ``text``'s words, space-separated.

    Cyrillic words are stemmed in Russian; Latin ones in ``language`` when it is French or
    English, else in the language guessed from the Latin words (a Russian ticket quoting an
    English error message).
    """
    if not text:
        return ""
    text = text[:MAX_INDEXED_CHARS]
    words = _WORD.findall(fold(text))
    if language not in (Language.FR.value, Language.EN.value):
        # The same guess as PostgreSQL's guichet_text_config, on the Latin words only.
        latin_words = (w for w in _WORD.findall(text) if not _ANY_CYRILLIC.search(w))
        language = guess_language(" ".join(latin_words))
    latin, russian = _stemmer(language), _stemmer(Language.RU.value)
    return " ".join((russian if _CYRILLIC.search(w) else latin).stemWord(w) for w in words)


def query_stems(term: str) -> list[str]:
    """A typed word's stems in every language it may be written in, without duplicates."""
    word = fold(term)
    cyrillic = bool(_CYRILLIC.search(word))
    languages = (Language.RU.value,) if cyrillic else (Language.FR.value, Language.EN.value)
    stems: list[str] = []
    for language in languages:
        stem = _stemmer(language).stemWord(word)
        if stem and stem not in stems:
            stems.append(stem)
    return stems


def _quoted(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def fts5_query(terms: list[str], any_word: bool = False) -> str:
    """An FTS5 query: each word whole, as typed or by one of its stems in the ``stems``
    column; all words must match, or any with ``any_word``.

    The same words PostgreSQL matches (``knowledge.tsquery_text``): whole words on the search
    page, whose words are complete; in suggestions (``any_word``, the text is still being
    typed) the last word is also a prefix. A prefix costs what every word it starts costs:
    FTS5 merges all their lists (125,000 documents for "imprimante"* at a million tickets)
    before it keeps the newest; whole words are read newest first and stop at the limit.
    """
    last = len(terms) - 1
    parts = []
    for i, term in enumerate(terms):
        typed = _quoted(term) + ("*" if any_word and i == last else "")
        stems = " OR ".join(_quoted(s) for s in query_stems(term))
        parts.append(f"({typed} OR stems : ({stems}))" if stems else typed)
    return (" OR " if any_word else " AND ").join(parts)


def fts5_highlight_query(
    terms: list[str], texts: Iterable[str] | None = None, whole_words: bool = False
) -> str:
    """What ``highlight`` and ``snippet`` mark: the typed words (prefixes), and the words
    found through a stem, so that "imprimantes" marks "imprimante".

    With ``texts`` (the rows being shown), those are the words of the texts that share a stem
    with a typed word, matched whole: cheap, where a stem as a prefix ("imprim"*) makes FTS5
    merge the lists of every word starting so. Without, the stems are prefixes (for small
    tables). With ``whole_words`` too, so are the words of the texts that start with a typed
    word: no prefix at all, when every text the marks go to is among ``texts`` (a typed
    word as a prefix costs a merge of every word it starts, 0.1-0.4 s at a million tickets).
    """
    words = [t for t in terms if len(t) > 2]
    if texts is None:
        words += [s for t in terms for s in query_stems(t) if len(s) > 2]
        prefixed = dict.fromkeys(words)
        return " OR ".join(f"{_quoted(w)}*" for w in prefixed) or _all_words(terms)
    wanted = {s for t in terms for s in query_stems(t)}
    starts = tuple(fold(w) for w in words) if whole_words else ()
    found: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(fold(text[:MAX_INDEXED_CHARS])):
            if word not in found and (
                word.startswith(starts) or wanted.intersection(query_stems(word))
            ):
                found[word] = None
    parts = [] if whole_words else [f"{_quoted(w)}*" for w in dict.fromkeys(words)]
    parts += [_quoted(w) for w in found]
    return " OR ".join(parts) or _all_words(terms)


def _all_words(terms: list[str]) -> str:
    return " OR ".join(map(_quoted, terms))
