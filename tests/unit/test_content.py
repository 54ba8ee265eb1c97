"""Attachment content: type sniffing, display names, and images rebuilt from pixels alone.

Every fixture is built with Pillow (or by hand) at test time; no binary file is committed.
"""

from __future__ import annotations

import io
import math
import random
import struct
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from server.services.content import (
    ACCEPTED,
    MAX_BOXES,
    Box,
    ContentRefused,
    ImageInfo,
    Sniffed,
    check_boxes,
    clean_filename,
    make_thumbnail,
    sanitize_image,
    sniff,
)

SECRETS = (
    b"Dr Secret",
    b"PatientName",
    b"SecretMake",
    b"SecretModel",
    b"SecretGPS",
    b"Comment secret",
    b"SecretXmp",
    b"adobe:ns:meta",
)
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description>SecretXmp</rdf:Description></rdf:RDF></x:xmpmeta>'
)
METADATA_INFO_KEYS = {
    "exif",
    "xmp",
    "XML:com.adobe.xmp",
    "icc_profile",
    "comment",
    "Author",
    "photoshop",
    "adobe",
    "mp",
    "mpoffset",
    "transparency",
}
PNG_PIXEL_CHUNKS = {b"IHDR", b"IDAT", b"IEND"}
# SOI, APP0 (JFIF), DQT, SOF0, DHT, SOS: nothing else may precede the scan.
JPEG_PIXEL_MARKERS = {0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA}
BLACK_RGB = (0, 0, 0)
BLACK_RGBA = (0, 0, 0, 255)


# ------------------------------------------------------------------------------ helpers


def noise(mode: str, size: tuple[int, int], seed: int = 1) -> Image.Image:
    bands = len(mode)
    data = random.Random(seed).randbytes(size[0] * size[1] * bands)
    return Image.frombytes(mode, size, data)


def write(path: Path, image: Image.Image, fmt: str, **params: object) -> Path:
    image.save(path, format=fmt, **params)
    return path


def secret_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SecretMake"
    exif[0x0110] = "SecretModel"
    exif[0x010E] = "PatientName Jane Doe"
    exif[0x8825] = {
        1: "N",
        2: (48.0, 51.0, 24.0),
        3: "E",
        4: (2.0, 21.0, 3.0),
        0x1B: "SecretGPS",
    }
    if orientation is not None:
        exif[0x0112] = orientation
    return exif


def icc_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def png_chunks(data: bytes) -> list[bytes]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    kinds, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kinds.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    assert offset == len(data), "bytes after IEND"
    return kinds


def jpeg_markers(data: bytes) -> list[int]:
    """Markers up to the scan (all the metadata lives there)."""
    markers, offset = [0xD8], 2
    while True:
        assert data[offset] == 0xFF
        marker = data[offset + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length


def assert_pixels_only(path: Path, secrets: tuple[bytes, ...] = SECRETS) -> None:
    data = path.read_bytes()
    for secret in secrets:
        assert secret not in data
    with Image.open(path) as image:
        assert len(image.getexif()) == 0
        assert METADATA_INFO_KEYS.isdisjoint(image.info)
        assert not getattr(image, "is_animated", False)
        assert getattr(image, "n_frames", 1) == 1
        if image.format == "PNG":
            assert set(png_chunks(data)) <= PNG_PIXEL_CHUNKS
            assert image.text == {}
        else:
            assert image.format == "JPEG"
            assert set(jpeg_markers(data)) <= JPEG_PIXEL_MARKERS
            assert data.endswith(b"\xff\xd9")


def hand_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (valid CRCs)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def hand_bmp(width: int, height: int) -> bytes:
    file_header = b"BM" + struct.pack("<IHHI", 54, 0, 0, 54)
    info_header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 0, 0, 0, 0)
    return file_header + info_header


def covered(box: Box, x: int, y: int) -> bool:
    """Whether the box overlaps pixel (x, y), i.e. the square [x, x+1) x [y, y+1)."""
    return x + 1 > box.x and x < box.x + box.width and y + 1 > box.y and y < box.y + box.height


def refused(reason: str) -> pytest.RaisesExc:
    return pytest.raises(ContentRefused, match=f"^{reason}$")


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def content_types(main: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/main.xml" ContentType="{main}"/></Types>'
    ).encode()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


# ------------------------------------------------------------------------- metadata


def test_png_loses_text_exif_xmp_and_icc(tmp_path: Path) -> None:
    info = PngInfo()
    info.add_text("Author", "Dr Secret")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    src = write(
        tmp_path / "in.png",
        noise("RGB", (30, 20)),
        "PNG",
        pnginfo=info,
        exif=secret_exif(),
        icc_profile=icc_profile(),
    )
    assert all(secret in src.read_bytes() for secret in (b"Dr Secret", b"PatientName"))

    result = sanitize_image(src, tmp_path / "out", [])

    assert result == ImageInfo("image/png", "png", 30, 20)
    assert_pixels_only(tmp_path / "out")


def test_jpeg_loses_exif_gps_xmp_icc_and_comment(tmp_path: Path) -> None:
    src = write(
        tmp_path / "in.jpg",
        noise("RGB", (40, 30)),
        "JPEG",
        exif=secret_exif(),
        xmp=XMP,
        comment=b"Comment secret",
        icc_profile=icc_profile(),
    )
    original = src.read_bytes()
    for secret in SECRETS[1:]:
        assert secret in original, secret

    result = sanitize_image(src, tmp_path / "out", [])

    assert result == ImageInfo("image/jpeg", "jpg", 40, 30)
    assert_pixels_only(tmp_path / "out")
    assert src.read_bytes() == original


def test_webp_becomes_a_bare_png(tmp_path: Path) -> None:
    src = write(
        tmp_path / "in.webp",
        noise("RGB", (24, 16)),
        "WEBP",
        lossless=True,
        exif=secret_exif(),
        xmp=XMP,
        icc_profile=icc_profile(),
    )
    assert b"PatientName" in src.read_bytes()

    assert sanitize_image(src, tmp_path / "out", []).mime == "image/png"
    assert_pixels_only(tmp_path / "out")


def test_animated_gif_keeps_its_first_frame_only(tmp_path: Path) -> None:
    first, second = Image.new("RGB", (20, 10), (255, 0, 0)), Image.new("RGB", (20, 10), "blue")
    src = tmp_path / "in.gif"
    first.save(src, save_all=True, append_images=[second], comment=b"Comment secret", loop=0)
    with Image.open(src) as check:
        assert check.n_frames == 2
    assert b"Comment secret" in src.read_bytes()

    assert sanitize_image(src, tmp_path / "out", []) == ImageInfo("image/png", "png", 20, 10)

    assert_pixels_only(tmp_path / "out")
    with Image.open(tmp_path / "out") as out:
        assert out.convert("RGB").getpixel((5, 5)) == (255, 0, 0)


def test_bmp_becomes_png_without_trailing_bytes(tmp_path: Path) -> None:
    src = write(tmp_path / "in.bmp", noise("RGB", (21, 13)), "BMP")
    src.write_bytes(src.read_bytes() + b"Comment secret")

    assert sanitize_image(src, tmp_path / "out", []).extension == "png"
    assert_pixels_only(tmp_path / "out")


def test_mpo_keeps_the_first_picture_as_plain_jpeg(tmp_path: Path) -> None:
    first = Image.new("RGB", (32, 16), (250, 250, 250))
    src = tmp_path / "in.mpo"
    first.save(src, "MPO", save_all=True, append_images=[Image.new("RGB", (32, 16), "black")])
    with Image.open(src) as check:
        assert check.format == "MPO"

    assert sanitize_image(src, tmp_path / "out", []).mime == "image/jpeg"
    assert_pixels_only(tmp_path / "out")
    assert (tmp_path / "out").read_bytes().count(b"\xff\xd8") == 1


@pytest.mark.parametrize(
    ("mode", "fmt", "expected_mode"),
    [
        ("1", "BMP", "RGB"),
        ("L", "PNG", "RGB"),
        ("LA", "PNG", "RGBA"),
        ("P", "PNG", "RGBA"),
        ("I;16", "PNG", "RGB"),
        ("CMYK", "JPEG", "RGB"),
        ("RGBA", "WEBP", "RGBA"),
    ],
)
def test_every_mode_is_normalised(tmp_path: Path, mode: str, fmt: str, expected_mode: str) -> None:
    image = Image.new(mode, (8, 4))
    params: dict[str, object] = {"lossless": True} if fmt == "WEBP" else {}
    if mode == "P":
        image.putpalette([0, 0, 0, 200, 10, 10])
        image.paste(1, (0, 0, 4, 4))
        params["transparency"] = 0
    if mode == "I;16":  # 16-bit grey at half scale
        image = Image.frombytes(mode, image.size, struct.pack("<H", 32768) * 32)
    src = write(tmp_path / "in", image, fmt, **params)

    sanitize_image(src, tmp_path / "out", [Box(0, 0, 1, 1)])

    with Image.open(tmp_path / "out") as out:
        assert out.mode == expected_mode
        assert out.getpixel((0, 0))[:3] == BLACK_RGB
        if mode == "I;16":
            assert out.getpixel((4, 2)) == (128, 128, 128)
        if mode == "P":
            assert out.getpixel((2, 2)) == (200, 10, 10, 255)
            assert out.getpixel((6, 2)) == (0, 0, 0, 0)


# --------------------------------------------------------------------------- boxes

PROPERTY_BOXES = [Box(5, 5, 10, 8), Box(30.5, 20.2, 7.3, 9.9), Box(52, 33, 30, 30), Box(0, 0, 1, 1)]


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "GIF", "WEBP"])
def test_box_pixels_are_black_and_the_rest_unchanged(tmp_path: Path, fmt: str) -> None:
    params = {"lossless": True} if fmt == "WEBP" else {}
    src = write(tmp_path / "in", noise("RGB", (60, 40)), fmt, **params)
    with Image.open(src) as original:
        reference = original.convert("RGB")

    sanitize_image(src, tmp_path / "out", PROPERTY_BOXES)

    with Image.open(tmp_path / "out") as out:
        assert (out.format, out.mode, out.size) == ("PNG", "RGB", (60, 40))
        inside = 0
        for y in range(40):
            for x in range(60):
                if any(covered(box, x, y) for box in PROPERTY_BOXES):
                    inside += 1
                    assert out.getpixel((x, y)) == BLACK_RGB, (x, y)
                else:
                    assert out.getpixel((x, y)) == reference.getpixel((x, y)), (x, y)
    assert inside == 10 * 8 + 8 * 11 + 8 * 7 + 1  # fractional edges cover whole pixels


def test_boxes_on_alpha_images_are_opaque_black(tmp_path: Path) -> None:
    src = write(tmp_path / "in.png", noise("RGBA", (30, 20)), "PNG")
    boxes = [Box(2, 3, 4, 5)]

    sanitize_image(src, tmp_path / "out", boxes)

    with Image.open(src) as original, Image.open(tmp_path / "out") as out:
        assert out.mode == "RGBA"
        for y in range(20):
            for x in range(30):
                expected = BLACK_RGBA if covered(boxes[0], x, y) else original.getpixel((x, y))
                if expected[3] == 0:
                    expected = (0, 0, 0, 0)  # invisible colour is not kept
                assert out.getpixel((x, y)) == expected


def erased_png(path: Path) -> Path:
    """An RGBA screenshot whose left half was "erased": alpha 0, colour still there."""
    image = Image.new("RGBA", (80, 40), (200, 30, 60, 255))
    image.paste((12, 34, 56, 0), (0, 0, 40, 40))
    image.putpixel((60, 20), (90, 91, 92, 0))
    return write(path, image, "PNG")


def assert_nothing_invisible_has_colour(path: Path) -> None:
    with Image.open(path) as out:
        raw = out.convert("RGBA").tobytes()
    pixels = [tuple(raw[i : i + 4]) for i in range(0, len(raw), 4)]
    hidden = [pixel for pixel in pixels if pixel[3] == 0]
    assert hidden, "the erased area must stay transparent"
    assert set(hidden) == {(0, 0, 0, 0)}
    assert (200, 30, 60, 255) in pixels  # the visible part is untouched


def test_colour_under_transparent_pixels_is_not_kept(tmp_path: Path) -> None:
    src = erased_png(tmp_path / "in.png")
    sanitize_image(src, tmp_path / "out", [])
    assert_nothing_invisible_has_colour(tmp_path / "out")
    make_thumbnail(tmp_path / "out", tmp_path / "thumb", max_side=40)
    assert_nothing_invisible_has_colour(tmp_path / "thumb")


def test_colour_under_transparency_of_a_palette_image_is_not_kept(tmp_path: Path) -> None:
    image = Image.new("P", (20, 10), 1)
    image.putpalette([0, 0, 0, 250, 10, 10, 10, 250, 10] + [0] * 759)
    image.paste(2, (0, 0, 10, 10))
    src = write(tmp_path / "in.png", image, "PNG", transparency=2)
    sanitize_image(src, tmp_path / "out", [])
    with Image.open(tmp_path / "out") as out:
        assert out.mode == "RGBA"
        assert out.getpixel((2, 2)) == (0, 0, 0, 0)
        assert out.getpixel((15, 5)) == (250, 10, 10, 255)


def test_boxes_partly_outside_are_clamped(tmp_path: Path) -> None:
    src = write(tmp_path / "in.png", Image.new("RGB", (60, 40), "white"), "PNG")
    boxes = [Box(-10, -10, 20, 15), Box(50, 30, 1e300, 1e300), Box(100, 100, 5, 5)]

    sanitize_image(src, tmp_path / "out", boxes)

    with Image.open(tmp_path / "out") as out:
        assert out.size == (60, 40)
        black = {(x, y) for y in range(40) for x in range(60) if out.getpixel((x, y)) == BLACK_RGB}
    top_left = {(x, y) for x in range(10) for y in range(5)}
    bottom_right = {(x, y) for x in range(50, 60) for y in range(30, 40)}
    assert black == top_left | bottom_right


@pytest.mark.parametrize(
    "boxes",
    [
        [Box(0, 0, -1, 5)],
        [Box(0, 0, 5, -0.5)],
        [Box(math.nan, 0, 5, 5)],
        [Box(0, 0, math.inf, 5)],
        [Box(0, 0, True, 5)],
        [Box(0, 0, "5", 5)],  # type: ignore[arg-type]
        [Box(1, 1, 1, 1)] * (MAX_BOXES + 1),
    ],
    ids=["negative-width", "negative-height", "nan", "inf", "bool", "str", "too-many"],
)
def test_bad_boxes_are_refused_before_decoding(tmp_path: Path, boxes: list[Box]) -> None:
    src = tmp_path / "not-even-an-image"
    src.write_bytes(b"nothing")
    with refused("bad_boxes"):
        sanitize_image(src, tmp_path / "out", boxes)
    assert not (tmp_path / "out").exists()


def test_the_maximum_number_of_boxes_is_accepted() -> None:
    boxes = [Box(i, 0, 1, 1) for i in range(MAX_BOXES)]
    assert check_boxes(boxes) == tuple(boxes)
    assert check_boxes([Box(0, 0, 0, 0)]) == (Box(0, 0, 0, 0),)


# Stored pixels for each EXIF orientation, so that the displayed picture is the reference.
STORED_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # displayed by turning it 90° clockwise
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,  # displayed by turning it 90° anticlockwise
}


def reference_photo() -> Image.Image:
    """64x40, four saturated quadrants: any flip or turn moves a colour."""
    image = Image.new("RGB", (64, 40))
    image.paste((230, 20, 20), (0, 0, 32, 20))
    image.paste((20, 200, 20), (32, 0, 64, 20))
    image.paste((20, 20, 230), (0, 20, 32, 40))
    image.paste((230, 230, 20), (32, 20, 64, 40))
    return image


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize("orientation", sorted(STORED_FOR_ORIENTATION))
def test_boxes_land_where_drawn_whatever_the_exif_orientation(
    tmp_path: Path, orientation: int
) -> None:
    reference = reference_photo()
    transpose = STORED_FOR_ORIENTATION[orientation]
    stored = reference.transpose(transpose) if transpose is not None else reference
    src = write(tmp_path / "in.jpg", stored, "JPEG", quality=95, exif=secret_exif(orientation))

    info = sanitize_image(src, tmp_path / "out", [Box(4, 4, 16, 12)])

    assert (info.width, info.height) == (64, 40)
    with Image.open(tmp_path / "out") as out:
        assert out.size == (64, 40)
        assert len(out.getexif()) == 0  # no Orientation left to turn it a second time
        for x in range(6, 18):
            for y in range(6, 14):
                assert max(out.getpixel((x, y))) < 30, (x, y)
        assert near(out.getpixel((27, 10)), (230, 20, 20))
        assert near(out.getpixel((48, 10)), (20, 200, 20))
        assert near(out.getpixel((16, 30)), (20, 20, 230))
        assert near(out.getpixel((48, 30)), (230, 230, 20))


# ------------------------------------------------------------------------- attacks


@pytest.mark.parametrize(
    "data",
    [hand_png(50_000, 50_000), hand_png(10_000, 10_000), hand_png(8_000, 6_000)],
    ids=["beyond-pillow-error", "pillow-warning", "beyond-our-limit"],
)
def test_pixel_bombs_are_refused_from_the_header(tmp_path: Path, data: bytes) -> None:
    src = tmp_path / "bomb.png"
    src.write_bytes(data)
    assert sniff(src, "bomb.png").kind == "image"
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with refused("image_too_large"):
            sanitize_image(src, tmp_path / "out", [])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 1
    assert peak < 5_000_000
    assert not (tmp_path / "out").exists()


def test_bmp_bomb_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "bomb.bmp"
    src.write_bytes(hand_bmp(30_000, 30_000))
    with refused("image_too_large"):
        sanitize_image(src, tmp_path / "out", [])


def test_the_pixel_limit_is_configurable(tmp_path: Path) -> None:
    src = write(tmp_path / "in.png", noise("RGB", (20, 10)), "PNG")
    with refused("image_too_large"):
        sanitize_image(src, tmp_path / "out", [], max_pixels=199)
    assert sanitize_image(src, tmp_path / "out", [], max_pixels=200).width == 20


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP"])
@pytest.mark.parametrize("keep", [0.5, 0.9, 40])
def test_truncated_images_are_unreadable(tmp_path: Path, fmt: str, keep: float) -> None:
    whole = write(tmp_path / "whole", noise("RGB", (64, 64)), fmt).read_bytes()
    src = tmp_path / "cut"
    src.write_bytes(whole[: int(len(whole) * keep)] if keep < 1 else whole[: int(keep)])
    with refused("image_unreadable"):
        sanitize_image(src, tmp_path / "out", [])
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut", "whole"]  # no temporary left


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
        b"\xff\xd8\xff" + b"\x00" * 100,
        b"GIF89a" + b"\xff" * 50,
        b"RIFF\x10\x00\x00\x00WEBPVP8 garbage",
        hand_bmp(0, 0),
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"",
    ],
    ids=["png", "jpeg", "gif", "webp", "bmp-zero", "svg", "empty"],
)
def test_malformed_images_are_unreadable(tmp_path: Path, data: bytes) -> None:
    src = tmp_path / "bad.png"
    src.write_bytes(data)
    with refused("image_unreadable"):
        sanitize_image(src, tmp_path / "out", [])


def test_corrupted_png_checksum_is_unreadable(tmp_path: Path) -> None:
    data = bytearray(write(tmp_path / "in.png", noise("RGB", (16, 16)), "PNG").read_bytes())
    data[60] ^= 0xFF  # inside IDAT: the CRC no longer matches
    (tmp_path / "bad.png").write_bytes(bytes(data))
    with refused("image_unreadable"):
        sanitize_image(tmp_path / "bad.png", tmp_path / "out", [])


@pytest.mark.parametrize("fmt", ["TIFF", "ICO", "PPM", "TGA"])
def test_other_image_formats_are_not_decoded(tmp_path: Path, fmt: str) -> None:
    src = write(tmp_path / "in", noise("RGB", (16, 16)), fmt)
    with refused("image_unreadable"):
        sanitize_image(src, tmp_path / "out", [])


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_polyglot_payloads_do_not_survive(tmp_path: Path, fmt: str) -> None:
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    html = b"<html><script>alert(document.cookie)</script></html>"
    image = write(tmp_path / "in", noise("RGB", (16, 16)), fmt).read_bytes()
    src = tmp_path / "polyglot"
    src.write_bytes(image + payload.getvalue() + html)
    assert sniff(src, "shot.png").kind == "image"

    sanitize_image(src, tmp_path / "out", [])

    stored = (tmp_path / "out").read_bytes()
    for marker in (b"PK\x03\x04", b"PK\x05\x06", b"payload.html", b"<script", b"<html"):
        assert marker not in stored
    assert_pixels_only(tmp_path / "out")


# ------------------------------------------------------------------------ thumbnails


def test_thumbnail_is_a_small_bare_png(tmp_path: Path) -> None:
    src = write(tmp_path / "in.jpg", noise("RGB", (1000, 500)), "JPEG", exif=secret_exif())
    sanitize_image(src, tmp_path / "clean", [Box(0, 0, 1000, 250)])

    make_thumbnail(tmp_path / "clean", tmp_path / "thumb")

    with Image.open(tmp_path / "thumb") as thumb:
        assert (thumb.format, thumb.size) == ("PNG", (480, 240))
        assert max(thumb.getpixel((240, 60))) < 30
    assert_pixels_only(tmp_path / "thumb")


def test_thumbnail_never_enlarges_and_keeps_alpha(tmp_path: Path) -> None:
    src = write(tmp_path / "in.png", noise("RGBA", (100, 60)), "PNG")
    sanitize_image(src, tmp_path / "clean", [])

    make_thumbnail(tmp_path / "clean", tmp_path / "thumb", max_side=200)

    with Image.open(tmp_path / "thumb") as thumb:
        assert (thumb.size, thumb.mode) == ((100, 60), "RGBA")
    make_thumbnail(tmp_path / "clean", tmp_path / "small", max_side=30)
    with Image.open(tmp_path / "small") as small:
        assert small.size == (30, 18)


def test_thumbnail_of_garbage_is_refused(tmp_path: Path) -> None:
    (tmp_path / "clean").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    with refused("image_unreadable"):
        make_thumbnail(tmp_path / "clean", tmp_path / "thumb")


def test_output_replaces_the_destination_atomically(tmp_path: Path) -> None:
    src = write(tmp_path / "in.png", noise("RGB", (10, 10)), "PNG")
    (tmp_path / "out").write_bytes(b"previous")

    sanitize_image(src, tmp_path / "out", [])

    assert (tmp_path / "out").read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out"]


# ---------------------------------------------------------------------------- sniff


def sniffed(tmp_path: Path, data: bytes, name: str) -> Sniffed:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return sniff(path, name)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("PNG", Sniffed("image", "image/png", "png")),
        ("JPEG", Sniffed("image", "image/jpeg", "jpg")),
        ("WEBP", Sniffed("image", "image/webp", "webp")),
        ("GIF", Sniffed("image", "image/gif", "gif")),
        ("BMP", Sniffed("image", "image/bmp", "bmp")),
    ],
)
def test_images_are_recognised_by_content_not_name(
    tmp_path: Path, fmt: str, expected: Sniffed
) -> None:
    data = write(tmp_path / "img", noise("RGB", (8, 8)), fmt).read_bytes()
    assert sniffed(tmp_path, data, "report.txt") == expected


def test_pdf_is_recognised(tmp_path: Path) -> None:
    data = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    assert sniffed(tmp_path, data, "scan.png") == Sniffed("pdf", "application/pdf", "pdf")


def test_pdf_html_polyglot_is_refused(tmp_path: Path) -> None:
    with refused("type_not_allowed"):
        sniffed(tmp_path, b"%PDF-1.4\n<html><script>alert(1)</script>", "scan.pdf")


@pytest.mark.parametrize(
    ("data", "name", "mime", "extension"),
    [
        ("Erreur à l'étape 3 : connexion refusée\n".encode(), "poste.log", "text/plain", "log"),
        (b"nom;service\nDupont;Urgences\n", "liste.CSV", "text/csv", "csv"),
        (b'{"a": 1}', "conf.json", "application/json", "json"),
        (b'<?xml version="1.0"?><config><a>1</a></config>', "c.xml", "text/xml", "xml"),
        (b"\xef\xbb\xbfavec BOM", "notes.txt", "text/plain", "txt"),
        (b"plain words", "no-extension", "text/plain", "txt"),
        (b"plain words", "script.sh", "text/plain", "txt"),
        (b"plain words", "shot.png", "text/plain", "txt"),
        (b"BMW is not a bitmap", "log.bmp", "text/plain", "txt"),
        (b"\x1b[31mred\x1b[0m ANSI log", "tty.log", "text/plain", "log"),
    ],
)
def test_text_flavours_come_from_the_cleaned_name(
    tmp_path: Path, data: bytes, name: str, mime: str, extension: str
) -> None:
    assert sniffed(tmp_path, data, name) == Sniffed("text", mime, extension)


def test_a_character_cut_at_the_sniff_boundary_is_still_text(tmp_path: Path) -> None:
    data = b"a" + "é".encode() * 40_000  # the 64 KB window ends inside a character
    assert sniffed(tmp_path, data, "big.log").kind == "text"
    with refused("type_not_allowed"):
        sniffed(tmp_path, b"a" + "é".encode()[:1], "tiny.log")  # and here the file ends


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<!DOCTYPE html><html><body>hi</body></html>", "shot.png"),
        (b"<html><body>hello</body></html>", "notes.txt"),
        (b"  \n<BODY onload=alert(1)>", "notes.txt"),
        (b"\xef\xbb\xbf<p>hello", "notes.txt"),
        (b"<a href=javascript:alert(1)>x</a>", "log.txt"),
        (b"log line\n" * 20 + b"<ScRiPt>alert(1)</script>", "app.log"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.svg"),
        (b"<svg onload=alert(1)>", "shot.png"),
        (
            b'<?xml version="1.0"?>\n<!-- ' + b"x" * 3000 + b' -->\n<svg xmlns="x"></svg>',
            "data.xml",
        ),
        (b'<?xml version="1.0"?><root xmlns="http://www.w3.org/1999/xhtml"/>', "a.xml"),
        (b"MZ\x90\x00\x03\x00\x00\x00This program cannot be run in DOS mode", "log.txt"),
        (b"MZ this is text but looks like an executable", "log.txt"),
        (b"\x7fELF\x02\x01\x01", "log.txt"),
        (b"line\x00with NUL", "log.txt"),
        ("latin-1 café".encode("latin-1"), "log.txt"),
        ("utf-16".encode("utf-16"), "log.txt"),
        (bytes(range(256)), "data.csv"),
        (b"II*\x00" + b"\x00" * 20, "scan.tif"),
    ],
)
def test_active_or_unknown_content_is_refused_whatever_its_name(
    tmp_path: Path, data: bytes, name: str
) -> None:
    with pytest.raises(ContentRefused) as caught:
        sniffed(tmp_path, data, name)
    assert caught.value.reason == "type_not_allowed"
    assert caught.value.accepted == list(ACCEPTED)
    assert {"png", "jpg", "pdf", "docx", "xlsx", "odt", "ods", "csv"} <= set(ACCEPTED)


def test_markup_deep_in_a_log_is_allowed(tmp_path: Path) -> None:
    data = b"GET /search 200\n" * 100 + b"GET /?q=<script>alert(1)</script> 400\n"
    assert sniffed(tmp_path, data, "access.log").kind == "text"


def test_stack_traces_with_generics_are_text(tmp_path: Path) -> None:
    data = (
        b"Exception in thread main java.lang.ClassCastException\n"
        b"\tat Map<String, List<Object>>.get(Cache.java:42)\n"
        b"   at System.Collections.Generic.List<Object>.Add(Object item)\n"
    )
    assert sniffed(tmp_path, data, "trace.log") == Sniffed("text", "text/plain", "log")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    with refused("empty"):
        sniffed(tmp_path, b"", "empty.txt")


@pytest.mark.parametrize(
    ("members", "name", "mime"),
    [
        (
            {"[Content_Types].xml": content_types(DOCX_MAIN), "word/document.xml": b"<w/>"},
            "rapport.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            {"[Content_Types].xml": content_types(XLSX_MAIN), "xl/workbook.xml": b"<w/>"},
            "Stats.XLSX",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": b"<d/>"},
            "note.odt",
            "application/vnd.oasis.opendocument.text",
        ),
        (
            {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"},
            "tableau.ods",
            "application/vnd.oasis.opendocument.spreadsheet",
        ),
    ],
)
def test_office_documents_are_checked_inside(
    tmp_path: Path, members: dict[str, bytes], name: str, mime: str
) -> None:
    path = make_zip(tmp_path / "doc", members)
    assert sniff(path, name) == Sniffed("office", mime, name.rsplit(".", 1)[1].lower())


@pytest.mark.parametrize(
    ("members", "name"),
    [
        ({"word/document.xml": b"<w/>"}, "rapport.docx"),
        ({"[Content_Types].xml": content_types(DOCX_MAIN)}, "archive.zip"),
        ({"[Content_Types].xml": content_types(XLSX_MAIN)}, "rapport.docx"),
        (
            {
                "[Content_Types].xml": content_types(
                    "application/vnd.ms-word.document.macroEnabled.main+xml"
                )
            },
            "rapport.docx",
        ),
        (
            {"[Content_Types].xml": content_types(DOCX_MAIN), "word/vbaProject.bin": b"vba"},
            "rapport.docx",
        ),
        ({"mimetype": b"application/vnd.oasis.opendocument.text"}, "tableau.ods"),
        ({"mimetype": b"text/html"}, "note.odt"),
        ({"content.xml": b"<d/>"}, "note.odt"),
    ],
    ids=["no-content-types", "zip", "xlsx-as-docx", "docm", "vba", "odt-as-ods", "bad", "bare"],
)
def test_archives_that_are_not_the_office_document_named_are_refused(
    tmp_path: Path, members: dict[str, bytes], name: str
) -> None:
    path = make_zip(tmp_path / "doc", members)
    with refused("type_not_allowed"):
        sniff(path, name)


def test_broken_zip_named_docx_is_refused(tmp_path: Path) -> None:
    data = make_zip(tmp_path / "doc", {"[Content_Types].xml": b"x"}).read_bytes()
    with refused("type_not_allowed"):
        sniffed(tmp_path, data[:40], "rapport.docx")


def test_encrypted_member_is_refused(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "doc", {"[Content_Types].xml": content_types(DOCX_MAIN)})
    data = bytearray(path.read_bytes())
    data[6] |= 0x01  # local header: "encrypted" flag
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x01  # central directory: same flag
    path.write_bytes(bytes(data))
    with refused("type_not_allowed"):
        sniff(path, "rapport.docx")


# ------------------------------------------------------------------------ file names


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\shot.png", "shot.png"),
        ("a\x00b\u200b\u202e.png", "ab.png"),
        ("   ", "attachment"),
        ("", "attachment"),
        ("..", "attachment"),
        ("dir/", "attachment"),
        ("ｓｈｏｔ．ｐｎｇ", "shot.png"),
        ("..／..／secret.txt", "secret.txt"),
        (".bashrc", "bashrc"),
        ("rapport\t  du\n lundi.pdf", "rapport du lundi.pdf"),
        ("gpt\u2028line.txt", "gpt line.txt"),
        ("bell\x07\x1b[31m.log", "bell[31m.log"),
        ("Radiologie — clichés.jpg", "Radiologie — clichés.jpg"),
        ("\ud800lone.txt", "lone.txt"),
    ],
)
def test_clean_filename(raw: str, clean: str) -> None:
    assert clean_filename(raw) == clean


def test_long_names_keep_their_extension() -> None:
    name = clean_filename("x" * 300 + ".png")
    assert len(name) == 120
    assert name.endswith("xxx.png")
    assert len(clean_filename("y" * 300)) == 120
    odd = clean_filename("z" * 200 + "." + "e" * 40)
    assert len(odd) == 120
    assert clean_filename("a" * 120) == "a" * 120
