"""A requester types a title on the new-ticket form: a matching public article appears in the
suggestion panel; opening it keeps the form; leaving the form is recorded."""

import asyncio

from playwright.async_api import Browser, expect

from server.db.kb_tables import SuggestionSession
from server.domain.knowledge import ArticleForm, ArticleState, ArticleVisibility, Language
from server.services import knowledge
from tests import factories
from tests.browser.test_ticket_flow import sign_in


async def _session_row(predicate) -> dict:
    for _ in range(50):
        rows = await SuggestionSession.select()
        if rows and predicate(rows[0]):
            return rows[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"suggestion session never matched: {rows}")


async def test_suggested_article_opens_without_losing_the_form(
    live_server: str, browser: Browser
) -> None:
    w = await factories.world()
    article_id = await knowledge.create_article(
        w.tech,
        ArticleForm(
            title="Imprimante bloquée : relancer le spouleur",
            body="1. Ouvrir les services\n2. Relancer **le spouleur**",
            category_id=None,
            language=Language.FR,
            visibility=ArticleVisibility.PUBLIC,
            state=ArticleState.PUBLISHED,
            establishment_ids=(),
        ),
    )
    page = await sign_in(browser, live_server, "alice@chu-a.test")
    await page.goto(f"{live_server}/tickets/new")
    await page.fill("#description", "Plus rien ne sort depuis ce matin.")
    await page.locator("#title").press_sequentially("Mon imprimante est bloquée", delay=20)
    link = page.locator(f"#suggested-articles a[href='/kb/{article_id}']")
    await expect(link).to_be_visible()
    await expect(link.locator("mark").first).to_be_visible()

    async with page.context.expect_page() as opened:
        await link.click()
    article_tab = await opened.value
    await article_tab.wait_for_load_state()
    await expect(article_tab.locator("h1")).to_contain_text("relancer le spouleur")
    await article_tab.close()

    # The form is untouched, and the opening was recorded against this form.
    await expect(page.locator("#title")).to_have_value("Mon imprimante est bloquée")
    await expect(page.locator("#description")).to_have_value("Plus rien ne sort depuis ce matin.")
    await _session_row(lambda r: r["opened"] == 1)

    # Leaving without sending: the beacon marks the form abandoned (answered by an article).
    await page.goto(f"{live_server}/kb")
    session = await _session_row(lambda r: r["outcome"] == "abandoned")
    assert session["opened"] == 1
