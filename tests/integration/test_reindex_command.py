"""``guichet reindex-search`` rebuilds the full-text indexes of an existing database, stems
included, on both engines."""

from __future__ import annotations

import pytest

from tests.conftest import IS_POSTGRES
from tests.integration.test_migrations_and_demo import (  # noqa: F401 - the fixture
    empty_database,
    guichet,
    query,
)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _found(url: str) -> tuple[int, int]:
    """Demo articles and tickets matched through another word form than the one written."""
    if IS_POSTGRES:
        articles = (
            "SELECT COUNT(*) FROM kb_article WHERE search @@ to_tsquery('guichet_ru', 'принтеры')"
        )
        tickets = (
            "SELECT COUNT(*) FROM ticket WHERE search @@ to_tsquery('guichet_fr', 'imprimantes')"
        )
    else:
        # The index alone answers MATCH: no stemming function needed to read it.
        articles = (
            "SELECT COUNT(*) FROM kb_article_fts WHERE kb_article_fts MATCH 'stems : принтер'"
        )
        tickets = "SELECT COUNT(*) FROM ticket_fts WHERE ticket_fts MATCH 'stems : imprim'"
    return query(url, articles)[0][0], query(url, tickets)[0][0]


def test_reindex_search_rebuilds_the_indexes_with_stems(empty_database: str) -> None:  # noqa: F811
    assert guichet(empty_database, "migrate").returncode == 0
    assert guichet(empty_database, "demo").returncode == 0
    before = _found(empty_database)
    assert before[0] >= 1 and before[1] >= 1
    result = guichet(empty_database, "reindex-search")
    assert result.returncode == 0, result.stderr
    assert "Search index rebuilt." in result.stdout
    assert _found(empty_database) == before
