"""Read models of the knowledge base: lists, pages, revisions, votes, links, statistics.

Which articles an actor may read is decided by ``server.domain.knowledge.can_read_article``;
lists use its SQL form (``server.db.search.article_visibility``).
"""

from __future__ import annotations

from typing import Any

from piccolo.querystring import QueryString

from server.db.establishment_tree import establishment_parents
from server.db.kb_tables import (
    KbArticle,
    KbArticleEstablishment,
    KbRevision,
    KbTicketLink,
    KbVote,
    SuggestionSession,
)
from server.db.search import article_visibility
from server.domain.actors import Actor
from server.domain.errors import NotFound
from server.domain.knowledge import (
    ArticleAccess,
    ArticleState,
    ArticleVisibility,
    ancestors_and_self,
    can_read_article,
    family_root,
)


async def reachable_establishments(establishment_id: int | None) -> list[int]:
    """The establishment and its ancestors (articles for a parent apply to its children)."""
    if establishment_id is None:
        return []
    return ancestors_and_self(establishment_id, await establishment_parents())


async def establishments_of(article_id: int) -> list[int]:
    rows = await KbArticleEstablishment.select(KbArticleEstablishment.establishment).where(
        KbArticleEstablishment.article == article_id
    )
    return sorted(r["establishment"] for r in rows)


async def readable_article(actor: Actor, article_id: int) -> dict[str, Any]:
    """The article with names, or NotFound whether it is missing or not readable."""
    row = (
        await KbArticle.select(
            *KbArticle.all_columns(),
            KbArticle.author.full_name.as_alias("author_name"),
            KbArticle.category.name.as_alias("category_name"),
        )
        .where(KbArticle.id == article_id)
        .first()
    )
    if row is None:
        raise NotFound()
    row["establishment_ids"] = await establishments_of(article_id)
    access = ArticleAccess(
        visibility=ArticleVisibility(row["visibility"]),
        state=ArticleState(row["state"]),
        establishment_ids=frozenset(row["establishment_ids"]),
    )
    reachable = await reachable_establishments(actor.establishment_id)
    if not can_read_article(actor, access, reachable):
        raise NotFound()
    return row


async def list_articles(
    actor: Actor, category_id: int | None = None, page: int = 1, per_page: int = 25
) -> tuple[list[dict[str, Any]], int]:
    """Articles the actor may read, most recently changed first."""
    reachable = await reachable_establishments(actor.establishment_id)
    where = article_visibility(actor, reachable)
    if category_id:
        where = QueryString("{} AND a.category = {}", where, category_id)
    rows = await KbArticle.raw(
        "SELECT a.id, a.title, a.body, a.language, a.visibility, a.state, a.updated_at, "
        "c.name AS category_name FROM kb_article a LEFT JOIN category c ON c.id = a.category "
        "WHERE {} ORDER BY a.updated_at DESC, a.id DESC LIMIT {} OFFSET {}",
        where,
        per_page,
        (page - 1) * per_page,
    )
    total = await KbArticle.raw("SELECT COUNT(*) AS n FROM kb_article a WHERE {}", where)
    return rows, total[0]["n"]


async def translations(actor: Actor, article: dict[str, Any]) -> list[dict[str, Any]]:
    """The other articles of its family the actor may read, in language order."""
    root = family_root(article["id"], article["translation_of"])
    reachable = await reachable_establishments(actor.establishment_id)
    return await KbArticle.raw(
        "SELECT a.id, a.title, a.language FROM kb_article a "
        "WHERE (a.id = {} OR a.translation_of = {}) AND a.id <> {} AND {} ORDER BY a.language",
        root,
        root,
        article["id"],
        article_visibility(actor, reachable),
    )


async def revisions(article_id: int) -> list[dict[str, Any]]:
    return (
        await KbRevision.select(
            KbRevision.id,
            KbRevision.number,
            KbRevision.title,
            KbRevision.created_at,
            KbRevision.author.full_name.as_alias("author_name"),
        )
        .where(KbRevision.article == article_id)
        .order_by(KbRevision.number, ascending=False)
    )


async def revision(article_id: int, number: int) -> dict[str, Any] | None:
    return (
        await KbRevision.select(
            *KbRevision.all_columns(), KbRevision.author.full_name.as_alias("author_name")
        )
        .where((KbRevision.article == article_id) & (KbRevision.number == number))
        .first()
    )


async def vote_counts(article_id: int) -> dict[str, int]:
    rows = await KbVote.select(KbVote.helpful).where(KbVote.article == article_id)
    yes = sum(1 for r in rows if r["helpful"])
    return {"yes": yes, "no": len(rows) - yes}


async def my_vote(article_id: int, user_id: int) -> bool | None:
    row = (
        await KbVote.select(KbVote.helpful)
        .where((KbVote.article == article_id) & (KbVote.user == user_id))
        .first()
    )
    return None if row is None else bool(row["helpful"])


async def linked_tickets(article_id: int) -> list[int]:
    rows = await KbTicketLink.select(KbTicketLink.ticket).where(KbTicketLink.article == article_id)
    return sorted({r["ticket"] for r in rows})


async def suggestion_stats() -> dict[str, int]:
    """Counts of new-ticket forms: how many showed suggestions that were opened, and how many
    of those were then abandoned (the request was answered by an article)."""
    rows = await SuggestionSession.select(SuggestionSession.opened, SuggestionSession.outcome)
    opened = [r for r in rows if r["opened"]]
    return {
        "forms": len(rows),
        "opened": len(opened),
        "answered": sum(1 for r in opened if r["outcome"] == "abandoned"),
        "submitted_after_opening": sum(1 for r in opened if r["outcome"] == "submitted"),
    }


async def top_articles(limit: int = 10) -> list[dict[str, Any]]:
    """Articles by helpful votes (for the supervisors' statistics page)."""
    return await KbArticle.raw(
        "SELECT a.id, a.title, "
        "SUM(CASE WHEN v.helpful THEN 1 ELSE 0 END) AS yes, "
        "SUM(CASE WHEN v.helpful THEN 0 ELSE 1 END) AS no "
        "FROM kb_article a JOIN kb_vote v ON v.article = a.id "
        "GROUP BY a.id, a.title ORDER BY yes DESC, a.id LIMIT {}",
        limit,
    )
