"""Stems for SQLite's full-text index: the same Snowball stemmers PostgreSQL uses."""

from __future__ import annotations

from server.domain.stems import (
    document_stems,
    fold,
    fts5_highlight_query,
    fts5_query,
    query_stems,
)


def test_fold_drops_accents_and_case_but_keeps_the_short_i() -> None:
    assert fold("Écran BLOQUÉ") == "ecran bloque"
    assert fold("Ёлка Йошкар") == "елка йошкар"


def test_documents_are_stemmed_in_their_language() -> None:
    assert document_stems("Les imprimantes du service", "fr") == "le imprim du servic"
    assert document_stems("The printers are failing", "en") == "the printer are fail"
    assert document_stems("Сервисы записи не работают") == "сервис запис не работа"


def test_latin_words_of_a_russian_text_get_a_latin_stemmer() -> None:
    stems = document_stems("Ошибка: printers are not responding", "ru").split()
    assert stems[0] == "ошибк" and "printer" in stems and "respond" in stems


def test_a_query_word_is_stemmed_in_each_language_it_may_be_written_in() -> None:
    assert query_stems("imprimantes") == ["imprim", "imprimant"]  # French, English
    assert query_stems("policies") == ["polic", "polici"]
    assert query_stems("сервисы") == ["сервис"]  # Cyrillic: Russian only


def test_fts5_query_matches_the_typed_word_whole_or_a_stem() -> None:
    # The search page's words are complete: whole words, as on PostgreSQL. A prefix would
    # make FTS5 merge the lists of every word it starts before keeping the newest matches.
    assert fts5_query(["de", "imprimantes"]) == (
        '("de" OR stems : ("de")) AND ("imprimantes" OR stems : ("imprim" OR "imprimant"))'
    )
    assert "*" not in fts5_query(["ecran", "blo"])


def test_fts5_query_for_suggestions_takes_the_last_word_as_a_prefix() -> None:
    # Suggestions follow what is being typed: only the last word may be unfinished.
    assert fts5_query(["ecran", "blo"], any_word=True) == (
        '("ecran" OR stems : ("ecran")) OR ("blo"* OR stems : ("blo"))'
    )


def test_highlights_mark_the_shown_words_that_share_a_stem() -> None:
    shown = ["Imprimante bloquée", "L'imprimante et l'imprimerie"]
    query = fts5_highlight_query(["imprimantes"], shown)
    assert query == '"imprimantes"* OR "imprimante"'
    assert fts5_highlight_query(["imprimantes"]) == ('"imprimantes"* OR "imprim"* OR "imprimant"*')


def test_highlights_of_shown_texts_need_no_prefix() -> None:
    # A typed word as a prefix makes FTS5 merge the lists of every word it starts.
    shown = ["Écran noir au bloc", "L'écrante et les écrans"]
    query = fts5_highlight_query(["ecran"], shown, whole_words=True)
    assert "*" not in query
    assert query.split(" OR ") == ['"ecran"', '"ecrante"', '"ecrans"']
    assert fts5_highlight_query(["zzz"], shown, whole_words=True) == '"zzz"'
