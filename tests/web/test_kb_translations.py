"""Knowledge-base articles link their translations (issue 16): one family per article, one
article per language, links shown to those who may read them, suggestions one per family in
the reader's language."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from server.db.kb_tables import KbArticle
from server.db.tables import User
from tests import factories
from tests.factories import csrf_header, login

FRENCH = {
    "title": "Imprimante bloquée : que faire",
    "body": "Redémarrez le **spouleur** de l'imprimante bloquée.",
    "language": "fr",
    "visibility": "public",
    "state": "published",
}


async def post_article(client: AsyncTestClient, **fields: str):
    return await client.post(
        "/kb", data=fields, headers=csrf_header(client), follow_redirects=False
    )


async def created(client: AsyncTestClient, **fields: str) -> int:
    response = await post_article(client, **fields)
    assert response.status_code == 303, response.text
    return int(response.headers["location"].rsplit("/", 1)[1])


async def test_a_translation_starts_from_the_original_and_both_link_each_other(
    client: AsyncTestClient,
) -> None:
    await factories.world()
    await login(client, "tech@desk.test")
    french = await created(client, **FRENCH)
    form = (await client.get(f"/kb/new?translation_of={french}")).text
    assert f'name="translation_of" value="{french}"' in form
    assert 'value="en" selected' in form  # the first language the family lacks
    assert "spouleur" in form  # the original's text, to translate
    english = await created(
        client,
        **{**FRENCH, "title": "Printer stuck (imprimante bloquée)", "language": "en"},
        translation_of=str(french),
    )
    assert await KbArticle.select(KbArticle.translation_of).where(
        KbArticle.id == english
    ).first() == {"translation_of": french}
    french_page = (await client.get(f"/kb/{french}")).text
    assert f'href="/kb/{english}" hreflang="en"' in french_page
    english_page = (await client.get(f"/kb/{english}")).text
    assert f'href="/kb/{french}" hreflang="fr"' in english_page
    # A translation of the translation joins the same family (its first article).
    russian = await created(
        client,
        **{**FRENCH, "title": "Принтер завис", "language": "ru"},
        translation_of=str(english),
    )
    assert await KbArticle.select(KbArticle.translation_of).where(
        KbArticle.id == russian
    ).first() == {"translation_of": french}
    french_page = (await client.get(f"/kb/{french}")).text
    assert f'href="/kb/{english}"' in french_page and f'href="/kb/{russian}"' in french_page


async def test_one_article_per_language_and_nothing_typed_is_lost(
    client: AsyncTestClient,
) -> None:
    await factories.world()
    await login(
        client,
        "tech@desk.test",
    )
    french = await created(client, **FRENCH)
    await created(client, **{**FRENCH, "language": "en"}, translation_of=str(french))
    refused = await post_article(
        client,
        **{**FRENCH, "title": "Second English text", "language": "en"},
        translation_of=str(french),
    )
    assert refused.status_code == 422
    assert "Second English text" in refused.text
    assert re.search(r"existe déjà dans cette langue|already exists in this language", refused.text)
    # Editing the original into the family's other language is refused the same way.
    edit = await client.post(
        f"/kb/{french}",
        data={**FRENCH, "language": "en", "version": "1"},
        headers=csrf_header(client),
    )
    assert edit.status_code == 422
    # A forged family id is refused like a missing one, not a 500.
    forged = await post_article(client, **{**FRENCH, "language": "ru"}, translation_of="999999")
    assert forged.status_code == 422
    assert await KbArticle.count() == 2


async def test_readers_see_only_the_translations_they_may_read(client: AsyncTestClient) -> None:
    await factories.world()
    await login(client, "tech@desk.test")
    french = await created(client, **FRENCH)
    english = await created(client, **{**FRENCH, "language": "en"}, translation_of=str(french))
    internal = await created(
        client,
        **{**FRENCH, "language": "ru", "visibility": "internal"},
        translation_of=str(french),
    )
    await login(client, "alice@chu-a.test")
    page = (await client.get(f"/kb/{french}")).text
    assert f'href="/kb/{english}"' in page
    assert f'href="/kb/{internal}"' not in page
    assert "/kb/new?translation_of" not in page  # requesters do not translate


async def test_suggestions_show_one_article_per_family_in_the_readers_language(
    client: AsyncTestClient,
) -> None:
    await factories.world()
    await login(client, "tech@desk.test")
    french = await created(client, **FRENCH)
    english = await created(
        client,
        **{**FRENCH, "title": "Printer stuck (imprimante bloquée)", "language": "en"},
        translation_of=str(french),
    )
    typed = {"title": "Mon imprimante est bloquée", "description": "", "suggestion_token": ""}
    for language, shown, hidden in (("en", english, french), ("fr", french, english)):
        await User.update({User.locale: language}).where(User.email == "alice@chu-a.test")
        await login(client, "alice@chu-a.test")
        panel = await client.post("/suggestions", data=typed, headers=csrf_header(client))
        assert panel.status_code == 200
        assert f"/kb/{shown}" in panel.text
        assert f"/kb/{hidden}" not in panel.text
