"""Attachments that must not carry hidden patient data: erased pixels, office files, PDFs."""

from __future__ import annotations

import io

from litestar.testing import AsyncTestClient
from PIL import Image

from server.db.tables import Attachment
from tests import factories
from tests.web.test_attachments_web import upload


def erased_screenshot() -> bytes:
    """A screenshot whose patient banner was "erased" to alpha 0, its colour left behind."""
    image = Image.new("RGBA", (60, 30), (240, 240, 240, 255))
    image.paste((10, 20, 30, 0), (0, 0, 60, 10))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def hidden_colours(data: bytes) -> set[tuple[int, ...]]:
    with Image.open(io.BytesIO(data)) as image:
        raw = image.convert("RGBA").tobytes()
    pixels = {tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)}
    return {pixel for pixel in pixels if pixel[3] == 0}


async def test_erased_pixels_keep_no_colour_in_file_or_thumbnail(client: AsyncTestClient) -> None:
    w = await factories.world()
    ticket_id = await factories.ticket(w.requester_a)
    await factories.login(client, "alice@chu-a.test")
    response = await upload(client, ticket_id, "erased.png", erased_screenshot())
    assert response.status_code == 201, response.text
    stored = await client.get(response.json()["url"])
    thumb = await client.get(response.json()["url"] + "/thumbnail")
    assert hidden_colours(stored.content) == {(0, 0, 0, 0)}
    assert hidden_colours(thumb.content) == {(0, 0, 0, 0)}
    assert await Attachment.count() == 1
