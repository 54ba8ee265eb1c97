"""The board page over HTTP: bounded columns, show more, filters, read-only for requesters."""

import re

from litestar.testing import AsyncTestClient

from server.domain.board import COLUMN_LIMIT
from tests import factories


async def test_columns_are_bounded_with_show_more(client: AsyncTestClient) -> None:
    w = await factories.world()
    ids = [await factories.ticket(w.requester_a, title=f"Demande {i:02d}",
                                  priority="very_high" if i == 24 else "medium")
           for i in range(COLUMN_LIMIT + 5)]  # fmt: skip
    await factories.login(client, "tech@desk.test")
    page = await client.get("/board")
    assert page.status_code == 200
    new_column = page.text.split('id="cards-new"', 1)[1].split('id="more-new"', 1)[0]
    shown = re.findall(r'<article id="card-(\d+)"', new_column)
    assert len(shown) == COLUMN_LIMIT
    assert int(shown[0]) == ids[24]  # most urgent first
    assert 'id="count-new">25<' in page.text
    more_url = re.search(r'hx-get="(/board/column/new\?[^"]+)"', page.text).group(1)
    more = await client.get(more_url.replace("&amp;", "&"))
    rest = re.findall(r'<article id="card-(\d+)"', more.text)
    assert len(rest) == 5
    assert not set(rest) & set(shown)
    assert "Show more" not in more.text and "Afficher plus" not in more.text


async def test_board_filters_and_requester_read_only(client: AsyncTestClient) -> None:
    w = await factories.world()
    mine = await factories.ticket(w.requester_a, title="Imprimante CHA")
    other = await factories.ticket(w.requester_b, title="Imprimante CLB")
    await factories.login(client, "tech@desk.test")
    filtered = await client.get(f"/board?establishment={w.est_b}")
    assert f'id="card-{other}"' in filtered.text
    assert f'id="card-{mine}"' not in filtered.text
    searched = await client.get(f"/board?q=%23{mine}")
    assert f'id="card-{mine}"' in searched.text and f'id="card-{other}"' not in searched.text
    assert (await client.get("/board?priority=urgent")).status_code == 422
    client.cookies.clear()
    await factories.login(client, "alice@chu-a.test")
    board = await client.get("/board")
    assert f'id="card-{mine}"' in board.text
    assert f'id="card-{other}"' not in board.text
    assert "card-menu" not in board.text
    assert 'data-movable="false"' in board.text
