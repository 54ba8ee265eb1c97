"""Knowledge-base use cases: write and revise articles, vote, link to tickets, turn a
solution into a draft, saved searches, and the suggestion sessions of the new-ticket form."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from server.db.articles import readable_article
from server.db.engine import write_transaction
from server.db.kb_tables import (
    KbArticle,
    KbArticleEstablishment,
    KbRevision,
    KbTicketLink,
    KbVote,
    SavedSearch,
    SuggestionSession,
)
from server.db.prepared import SAMPLE_ID, Prepared
from server.db.queries import access_of
from server.db.tables import Category, Establishment, HistoryEntry, Ticket
from server.domain.actors import Actor
from server.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from server.domain.events import TicketEvent
from server.domain.knowledge import (
    ArticleForm,
    ArticleState,
    ArticleVisibility,
    Language,
    can_write_articles,
    family_root,
    guess_language,
    solution_draft,
    translation_error,
)
from server.domain.permissions import can_manage, can_view
from server.domain.text import N_
from server.domain.vocabulary import Status
from server.services.tickets import ticket_event

SAVED_SEARCHES_MAX = 50


def _now() -> datetime:
    return datetime.now(UTC)


def _require_writer(actor: Actor) -> None:
    if not can_write_articles(actor):
        raise NotFound()  # requesters do not learn that the editor exists


async def _check_references(form: ArticleForm) -> None:
    errors: dict[str, str] = {}
    if form.category_id and not await Category.exists().where(Category.id == form.category_id):
        errors["category_id"] = N_("Choose one of the proposed values.")
    if form.establishment_ids:
        found = await Establishment.count().where(
            Establishment.id.is_in(list(form.establishment_ids))
        )
        if found != len(form.establishment_ids):
            errors["establishments"] = N_("Choose one of the proposed values.")
    if errors:
        raise ValidationFailed(errors)


async def _translation_root(actor: Actor, form: ArticleForm, article_id: int | None) -> int | None:
    """The family root the article joins (None: it stands alone or is itself a root).

    The translated article must be readable by the writer (else the same error as a missing
    one), families do not merge, and a family holds one article per language."""
    root = None
    if form.translation_of is not None:
        try:
            target = await readable_article(actor, form.translation_of)
        except NotFound:
            raise ValidationFailed(
                {"translation_of": N_("Choose one of the proposed values.")}
            ) from None
        root = family_root(target["id"], target["translation_of"])
        if root == article_id:
            root = None  # pointing at its own family: it is the root already
    joins_another = root is not None and article_id is not None
    if joins_another and await KbArticle.exists().where(KbArticle.translation_of == article_id):
        raise ValidationFailed(
            {"translation_of": N_("This article has translations: it cannot join another.")}
        )
    family = root if root is not None else article_id
    if family is not None:
        members = await KbArticle.select(KbArticle.id, KbArticle.language).where(
            (KbArticle.id == family) | (KbArticle.translation_of == family)
        )
        problem = translation_error(
            form.language.value, {m["id"]: m["language"] for m in members}, article_id
        )
        if problem:
            raise ValidationFailed({"language": problem})
    return root


async def _set_establishments(article_id: int, establishment_ids: tuple[int, ...]) -> None:
    await KbArticleEstablishment.delete().where(KbArticleEstablishment.article == article_id)
    for est in establishment_ids:
        await KbArticleEstablishment.insert(
            KbArticleEstablishment(article=article_id, establishment=est)
        )


async def create_article(actor: Actor, form: ArticleForm, source_ticket: int | None = None) -> int:
    _require_writer(actor)
    await _check_references(form)
    async with write_transaction():
        root = await _translation_root(actor, form, None)
        row = await KbArticle.insert(
            KbArticle(
                title=form.title,
                body=form.body,
                category=form.category_id,
                language=form.language.value,
                visibility=form.visibility.value,
                state=form.state.value,
                author=actor.id,
                source_ticket=source_ticket,
                translation_of=root,
            )
        ).returning(KbArticle.id)
        article_id = row[0]["id"]
        await _set_establishments(article_id, form.establishment_ids)
        await KbRevision.insert(
            KbRevision(
                article=article_id, number=1, title=form.title, body=form.body, author=actor.id
            )
        )
    return article_id


async def update_article(actor: Actor, article_id: int, version: int, form: ArticleForm) -> int:
    """Save a new version (optimistic: a stale form gets Conflict); returns the new version."""
    _require_writer(actor)
    await _check_references(form)
    async with write_transaction():
        root = await _translation_root(actor, form, article_id)
        rows = (
            await KbArticle.update(
                {
                    KbArticle.translation_of: root,
                    KbArticle.title: form.title,
                    KbArticle.body: form.body,
                    KbArticle.category: form.category_id,
                    KbArticle.language: form.language.value,
                    KbArticle.visibility: form.visibility.value,
                    KbArticle.state: form.state.value,
                    KbArticle.version: KbArticle.version + 1,
                    KbArticle.updated_at: _now(),
                }
            )
            .where((KbArticle.id == article_id) & (KbArticle.version == version))
            .returning(KbArticle.version)
        )
        if not rows:
            if not await KbArticle.exists().where(KbArticle.id == article_id):
                raise NotFound()
            raise Conflict(N_("This article was changed by someone else meanwhile"))
        new_version = rows[0]["version"]
        await _set_establishments(article_id, form.establishment_ids)
        await KbRevision.insert(
            KbRevision(
                article=article_id,
                number=new_version,
                title=form.title,
                body=form.body,
                author=actor.id,
            )
        )
    return new_version


async def vote(actor: Actor, article_id: int, helpful: bool) -> None:
    """One vote per user and article; voting again changes it."""
    await readable_article(actor, article_id)
    async with write_transaction():
        updated = (
            await KbVote.update({KbVote.helpful: helpful, KbVote.created_at: _now()})
            .where((KbVote.article == article_id) & (KbVote.user == actor.id))
            .returning(KbVote.id)
        )
        if not updated:
            await KbVote.insert(KbVote(article=article_id, user=actor.id, helpful=helpful))


async def _managed_ticket(actor: Actor, ticket_id: int) -> dict[str, Any]:
    row = await Ticket.select().where(Ticket.id == ticket_id).first()
    if row is None or not can_view(actor, access_of(row)):
        raise NotFound()
    if not can_manage(actor, access_of(row)):
        raise Forbidden()
    return row


async def link_to_ticket(actor: Actor, ticket_id: int, article_id: int) -> list[TicketEvent]:
    """Link an article to a ticket: it shows in the timeline (a history entry; internal
    articles are recorded as ``internal_article`` so requesters do not see them)."""
    async with write_transaction():
        before = await _managed_ticket(actor, ticket_id)
        article = await readable_article(actor, article_id)
        if await KbTicketLink.exists().where(
            (KbTicketLink.ticket == ticket_id) & (KbTicketLink.article == article_id)
        ):
            raise ValidationFailed({"article_id": N_("This article is already linked.")})
        await KbTicketLink.insert(
            KbTicketLink(article=article_id, ticket=ticket_id, linked_by=actor.id)
        )
        public = (
            article["visibility"] == ArticleVisibility.PUBLIC
            and article["state"] == ArticleState.PUBLISHED
        )
        await HistoryEntry.insert(
            HistoryEntry(
                ticket=ticket_id,
                actor=actor.id,
                field="article" if public else "internal_article",
                new_value=str(article_id),
                note=article["title"],
            )
        )
        await Ticket.update({Ticket.version: Ticket.version + 1, Ticket.updated_at: _now()}).where(
            Ticket.id == ticket_id
        )
        event = await ticket_event("ticket.linked", ticket_id, before)
    return [event]


async def draft_from_ticket(actor: Actor, ticket_id: int) -> int:
    """Turn a resolved (or closed) ticket's solution into a draft internal article."""
    ticket = await _managed_ticket(actor, ticket_id)
    if ticket["status"] not in (Status.RESOLVED, Status.CLOSED) or not ticket["solution"].strip():
        raise ValidationFailed({"solution": N_("Only a resolved ticket's solution can be used.")})
    title, body = solution_draft(
        ticket_id, ticket["title"], ticket["description"], ticket["solution"]
    )
    form = ArticleForm(
        title=title,
        body=body,
        category_id=ticket["category"],
        language=Language(guess_language(f"{ticket['title']} {ticket['solution']}")),
        visibility=ArticleVisibility.INTERNAL,
        state=ArticleState.DRAFT,
        establishment_ids=(),
    )
    return await create_article(actor, form, source_ticket=ticket_id)


# --- Saved searches ------------------------------------------------------------------------


async def save_search(actor: Actor, name: str, query: str) -> int:
    name = name.strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = N_("This field is required.")
    elif len(name) > 120:
        errors["name"] = N_("This text is too long.")
    if len(query) > 1000:
        errors["name"] = N_("This search is too long to be saved.")
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        if await SavedSearch.count().where(SavedSearch.user == actor.id) >= SAVED_SEARCHES_MAX:
            raise ValidationFailed({"name": N_("You have too many saved searches.")})
        row = await SavedSearch.insert(
            SavedSearch(user=actor.id, name=name, query=query)
        ).returning(SavedSearch.id)
    return row[0]["id"]


# Read by every search page: compiled once (see ``server.db.prepared``).
_SAVED_SEARCHES = Prepared(
    lambda user: SavedSearch.select(SavedSearch.id, SavedSearch.name, SavedSearch.query)
    .where(SavedSearch.user == user)
    .order_by(SavedSearch.name),
    SAMPLE_ID,
)


async def saved_searches(actor: Actor) -> list[dict[str, Any]]:
    return await _SAVED_SEARCHES.rows(actor.id)


async def delete_saved_search(actor: Actor, search_id: int) -> None:
    """Only the owner's own: another user's id is NotFound, like a missing one."""
    deleted = (
        await SavedSearch.delete()
        .where((SavedSearch.id == search_id) & (SavedSearch.user == actor.id))
        .returning(SavedSearch.id)
    )
    if not deleted:
        raise NotFound()


# --- Suggestion sessions -------------------------------------------------------------------


async def start_suggestions(actor: Actor) -> str:
    token = secrets.token_hex(16)
    await SuggestionSession.insert(SuggestionSession(token=token, user=actor.id))
    return token


async def suggestion_opened(actor: Actor, token: str) -> None:
    await SuggestionSession.update({SuggestionSession.opened: SuggestionSession.opened + 1}).where(
        (SuggestionSession.token == token[:32]) & (SuggestionSession.user == actor.id)
    )


async def suggestion_ended(actor: Actor, token: str, outcome: str) -> None:
    """``submitted`` always wins; ``abandoned`` only if nothing was recorded yet."""
    if outcome not in ("submitted", "abandoned"):
        raise ValidationFailed({"outcome": N_("Choose one of the proposed values.")})
    where = (SuggestionSession.token == token[:32]) & (SuggestionSession.user == actor.id)
    if outcome == "abandoned":
        where = where & (SuggestionSession.outcome == "")
    await SuggestionSession.update(
        {SuggestionSession.outcome: outcome, SuggestionSession.ended_at: _now()}
    ).where(where)
