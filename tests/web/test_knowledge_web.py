"""Knowledge base, search page, saved searches and suggestions through real HTTP."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from server.db.kb_tables import KbRevision, KbVote, SavedSearch, SuggestionSession
from server.db.tables import HistoryEntry
from server.domain.vocabulary import Status
from server.services import accounts, knowledge, tickets
from tests import factories
from tests.factories import csrf_header, login


async def new_article(
    client: AsyncTestClient, title: str = "Imprimante hors ligne", **fields: str
) -> int:
    data = {
        "title": title,
        "body": "Redémarrez le **spouleur**.",
        "language": "fr",
        "visibility": "public",
        "state": "published",
        **fields,
    }
    response = await client.post(
        "/kb", data=data, headers=csrf_header(client), follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


async def test_staff_write_requesters_read_public_articles_only(client: AsyncTestClient) -> None:
    await factories.world()
    await login(client, "tech@desk.test")
    public = await new_article(client, "Imprimante hors ligne")
    internal = await new_article(client, "Procédure interne", visibility="internal")
    draft = await new_article(client, "Brouillon", state="draft")
    page = await client.get(f"/kb/{public}")
    assert "<strong>spouleur</strong>" in page.text
    await login(client, "alice@chu-a.test")
    assert (await client.get(f"/kb/{public}")).status_code == 200
    assert (await client.get(f"/kb/{internal}")).status_code == 404
    assert (await client.get(f"/kb/{draft}")).status_code == 404
    assert (await client.get("/kb/new")).status_code == 404
    listing = (await client.get("/kb")).text
    assert "Imprimante hors ligne" in listing and "Procédure interne" not in listing
    response = await client.post(
        "/kb", data={"title": "x", "body": "y"}, headers=csrf_header(client)
    )
    assert response.status_code == 404


async def test_markdown_never_lets_html_or_scripts_through(client: AsyncTestClient) -> None:
    await factories.world()
    await login(client, "tech@desk.test")
    body = (
        "<script>alert(1)</script>\n\n[clic](javascript:alert(1))\n\n"
        '<img src=x onerror="alert(1)">\n\n<a href="#" hx-get="/logout">x</a>'
    )
    article = await new_article(client, body=body)
    html = (await client.get(f"/kb/{article}")).text
    markdown = html.split('class="markdown"', 1)[1].split("</div>", 1)[0]
    assert "<script" not in markdown and "<img" not in markdown and '<a href="#"' not in markdown
    assert "javascript:" not in markdown.replace("[clic](javascript:alert(1))", "")
    assert "&lt;script&gt;" in markdown


async def test_edit_keeps_revisions_and_refuses_a_stale_form(client: AsyncTestClient) -> None:
    await factories.world()
    await login(client, "tech@desk.test")
    article = await new_article(client, "Version une")
    data = {
        "title": "Version deux",
        "body": "Nouveau texte",
        "language": "fr",
        "visibility": "public",
        "state": "published",
        "version": "1",
    }
    response = await client.post(
        f"/kb/{article}", data=data, headers=csrf_header(client), follow_redirects=False
    )
    assert response.status_code == 303
    stale = await client.post(f"/kb/{article}", data=data, headers=csrf_header(client))
    assert stale.status_code == 409
    assert await KbRevision.count().where(KbRevision.article == article) == 2
    old = await client.get(f"/kb/{article}/revisions/1")
    assert old.status_code == 200 and "Version une" in old.text
    assert "Version deux" in (await client.get(f"/kb/{article}")).text
    bad = await client.post(
        "/kb", data={"title": "", "body": "", "language": "xx"}, headers=csrf_header(client)
    )
    assert bad.status_code == 422


async def test_votes_one_per_user_changeable_and_shown_to_staff(client: AsyncTestClient) -> None:
    await factories.world()
    await login(client, "tech@desk.test")
    article = await new_article(client)
    await login(client, "alice@chu-a.test")
    for helpful in ("1", "0"):
        response = await client.post(
            f"/kb/{article}/vote", data={"helpful": helpful}, headers=csrf_header(client)
        )
        assert response.status_code in (200, 303)
    rows = await KbVote.select().where(KbVote.article == article)
    assert len(rows) == 1 and rows[0]["helpful"] is False
    assert 'votes">' not in (await client.get(f"/kb/{article}")).text
    await login(client, "tech@desk.test")
    assert "Utile : 0 · pas utile : 1" in (await client.get(f"/kb/{article}")).text


async def test_link_article_to_ticket_and_draft_from_solution(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a, title="Imprimante")
    await login(client, "tech@desk.test")
    public = await new_article(client, "Article public")
    internal = await new_article(client, "Article interne", visibility="internal")
    for article in (public, internal):
        response = await client.post(
            f"/tickets/{ticket_id}/articles",
            data={"article_id": str(article)},
            headers=csrf_header(client),
            follow_redirects=False,
        )
        assert response.status_code == 303
    fields = await HistoryEntry.select(HistoryEntry.field).where(HistoryEntry.ticket == ticket_id)
    assert {"article", "internal_article"} <= {f["field"] for f in fields}
    staff_view = (await client.get(f"/tickets/{ticket_id}")).text
    assert "Article interne" in staff_view and "Article public" in staff_view
    # Resolve, then turn the solution into a draft.
    await tickets.take(w.tech, ticket_id, await _version(ticket_id))
    await tickets.change_status(
        w.tech, ticket_id, Status.RESOLVED, await _version(ticket_id), "Changer le toner."
    )
    response = await client.post(
        f"/tickets/{ticket_id}/draft-article", headers=csrf_header(client), follow_redirects=False
    )
    assert response.status_code == 303
    editor = await client.get(response.headers["location"])
    assert "Changer le toner." in editor.text
    await login(client, "alice@chu-a.test")
    requester_view = (await client.get(f"/tickets/{ticket_id}")).text
    assert "Article public" in requester_view and "Article interne" not in requester_view
    response = await client.post(f"/tickets/{ticket_id}/draft-article", headers=csrf_header(client))
    assert response.status_code == 404


async def _version(ticket_id: int) -> int:
    from server.db.tables import Ticket

    return (await Ticket.select(Ticket.version).where(Ticket.id == ticket_id).first())["version"]


async def test_search_page_obeys_access_and_highlights(client: AsyncTestClient) -> None:
    w = await factories.world()
    mine = await factories.ticket(w.requester_a, title="Scanner <b>bloqué</b>")
    other = await factories.ticket(w.requester_b, title="Scanner de la clinique")
    await login(client, "alice@chu-a.test")
    page = await client.get("/search", params={"q": "scanner"})
    assert page.status_code == 200
    assert f"/tickets/{mine}" in page.text and f"/tickets/{other}" not in page.text
    assert "<mark>Scanner</mark> &lt;b&gt;" in page.text
    bad = await client.get("/search", params={"q": "scanner", "from": "hier", "kind": "x"})
    assert bad.status_code == 422
    await login(client, "tech@desk.test")
    page = await client.get("/search", params={"q": "scanner", "establishment": str(w.est_b)})
    assert f"/tickets/{other}" in page.text and f"/tickets/{mine}" not in page.text


async def test_saved_searches_belong_to_their_owner(client: AsyncTestClient) -> None:
    await factories.world()
    await login(client, "alice@chu-a.test")
    response = await client.post(
        "/search/saved",
        data={"name": "Mes scanners", "query": "q=scanner&kind=tickets&evil=1"},
        headers=csrf_header(client),
        follow_redirects=False,
    )
    assert response.status_code == 303
    [saved] = await SavedSearch.select()
    assert saved["query"] == "q=scanner&kind=tickets"
    assert "Mes scanners" in (await client.get("/search")).text
    await login(client, "colette@chu-a.test")
    assert "Mes scanners" not in (await client.get("/search")).text
    denied = await client.post(f"/search/saved/{saved['id']}/delete", headers=csrf_header(client))
    assert denied.status_code == 404
    await login(client, "alice@chu-a.test")
    response = await client.post(
        f"/search/saved/{saved['id']}/delete", headers=csrf_header(client), follow_redirects=False
    )
    assert response.status_code == 303 and await SavedSearch.count() == 0


async def test_suggestions_show_public_articles_and_visible_open_tickets(
    client: AsyncTestClient,
) -> None:
    w = await factories.world()
    await login(client, "tech@desk.test")
    await new_article(client, "Imprimante bloquée : que faire")
    await new_article(client, "Imprimante, procédure interne", visibility="internal")
    colleague = await factories.ticket(w.colleague_a, title="Imprimante du 3e étage bloquée")
    other = await factories.ticket(w.requester_b, title="Imprimante bloquée à la clinique")
    await login(client, "alice@chu-a.test")
    form = await client.get("/tickets/new")
    token = re.search(r'name="suggestion_token" value="([0-9a-f]+)"', form.text).group(1)
    panel = await client.post(
        "/suggestions",
        data={"title": "Mon imprimante est bloquée", "description": "", "suggestion_token": token},
        headers=csrf_header(client),
    )
    assert panel.status_code == 200
    assert "que faire" in panel.text and "procédure interne" not in panel.text
    assert f"/tickets/{colleague}" in panel.text and f"/tickets/{other}" not in panel.text
    assert 'target="_blank"' in panel.text
    # Opening a suggestion then leaving the form counts as answered by an article.
    for path, data in (
        ("/suggestions/opened", {"token": token}),
        ("/suggestions/end", {"token": token, "outcome": "abandoned"}),
    ):
        response = await client.post(path, data=data, headers=csrf_header(client))
        assert response.status_code == 204
    # Without the CSRF token the beacon is refused.
    refused = await client.post("/suggestions/end", data={"token": token, "outcome": "abandoned"})
    assert refused.status_code == 403
    [session] = await SuggestionSession.select()
    assert session["opened"] == 1 and session["outcome"] == "abandoned"
    assert (await client.get("/kb/stats")).status_code == 404
    await login(client, "tech@desk.test")
    assert (await client.get("/kb/stats")).status_code == 404
    await login(client, "sup@desk.test")
    stats = await client.get("/kb/stats")
    assert re.search(r'id="stat-answered">1<', stats.text)


async def test_submitting_the_form_marks_the_session_submitted(client: AsyncTestClient) -> None:
    w = await factories.world()
    await login(client, "alice@chu-a.test")
    form = await client.get("/tickets/new")
    token = re.search(r'name="suggestion_token" value="([0-9a-f]+)"', form.text).group(1)
    response = await client.post(
        "/tickets",
        data={"title": "Écran noir", "description": "Rien ne s'affiche", "suggestion_token": token},
        headers=csrf_header(client),
        follow_redirects=False,
    )
    assert response.status_code == 303
    # A late beacon does not turn a sent ticket into an abandoned form.
    await knowledge.suggestion_ended(w.requester_a, token, "abandoned")
    [session] = await SuggestionSession.select()
    assert session["outcome"] == "submitted"


async def test_search_api(client: AsyncTestClient) -> None:
    w = await factories.world()
    mine = await factories.ticket(w.requester_a, title="Badge refusé")
    await factories.ticket(w.requester_b, title="Badge perdu")
    headers = {"authorization": f"Bearer {await accounts.issue_api_token(w.requester_a.id)}"}
    response = await client.get("/api/v1/search", params={"q": "badge"}, headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert [t["id"] for t in body["tickets"]] == [mine]
    assert "<mark>Badge</mark>" in body["tickets"][0]["title_html"]
    bad = await client.get("/api/v1/search", params={"q": "x", "page": "-1"}, headers=headers)
    assert bad.status_code == 422
    assert (await client.get("/api/v1/search", params={"q": "badge"})).status_code == 401
