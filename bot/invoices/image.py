"""QR codes on photos, screenshots and rendered PDF pages (zxing-cpp, native code in its wheel).

A phone photo of a paper invoice is rotated, blurred, small or compressed: when the whole image
yields nothing, the reader tries again on a sharpened and contrast-stretched copy, on an enlarged
one, with other binarizers, and on overlapping tiles (the code is small next to the whole page).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator

import zxingcpp
from PIL import Image, ImageFilter, ImageOps

from bot.invoices.qr import parse_payload

MAX_PIXELS = 50_000_000  # a 12-megapixel phone photo has 12 M; more is a decompression bomb
WORK_SIDE = 2000  # pixels: larger images are scanned scaled down to this longest side first
SMALL_SIDE = 900  # smaller images are scanned enlarged as well
FORMATS = zxingcpp.BarcodeFormat.QRCode


class BadImage(ValueError):
    pass


def open_image(data: bytes) -> Image.Image:
    """The image as 8-bit grey, turned upright by its EXIF orientation. Raises BadImage."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise BadImage(f"{image.width}×{image.height} pixels is too large")
            image.load()
            image = ImageOps.exif_transpose(image) or image
            return image.convert("L")
    except BadImage:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise BadImage(f"too many pixels: {exc}") from None
    except Exception as exc:  # Pillow raises what its decoders raise: all of it is a bad image
        raise BadImage(f"not a readable image: {type(exc).__name__}") from None


def _scaled(image: Image.Image, side: int) -> Image.Image:
    factor = side / max(image.size)
    return image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))), Image.LANCZOS)


def _attempts(image: Image.Image) -> Iterator[tuple[Image.Image, zxingcpp.Binarizer]]:
    local = zxingcpp.Binarizer.LocalAverage
    base = _scaled(image, WORK_SIDE) if max(image.size) > WORK_SIDE else image
    yield base, local
    clear = _sharpened(base, 2, 160)
    yield clear, local
    yield clear, zxingcpp.Binarizer.GlobalHistogram
    if max(base.size) < SMALL_SIDE:
        yield _scaled(clear, max(base.size) * 2), local
    tiles = list(_tiles(base))
    for tile in tiles:
        yield _sharpened(_scaled(tile, min(max(tile.size) * 2, WORK_SIDE)), 2, 160), local
    for tile in tiles:  # a blurred, small code: modules of two pixels, enlarged and sharpened hard
        hard = _sharpened(_scaled(tile, min(max(tile.size) * 3, WORK_SIDE)), 4, 300)
        yield hard, local
        yield hard, zxingcpp.Binarizer.FixedThreshold
    if max(image.size) > WORK_SIDE:
        yield image, local  # the full resolution, last: a small code on a large photo


def _sharpened(image: Image.Image, radius: int, percent: int) -> Image.Image:
    return ImageOps.autocontrast(
        image.filter(ImageFilter.UnsharpMask(radius=radius, percent=percent, threshold=0)), cutoff=1
    )


def _tiles(image: Image.Image) -> Iterator[Image.Image]:
    """Overlapping halves of the image, the top left (where invoices print the code) first."""
    w, h = image.size
    for left, top in ((0, 0), (w // 2, 0), (0, h // 2), (w // 2, h // 2), (w // 4, h // 4)):
        yield image.crop((max(0, left - w // 10), max(0, top - h // 10), min(w, left + w // 2 + w // 10),
                          min(h, top + h // 2 + h // 10)))  # fmt: skip


def find_invoice_qr(image: Image.Image, thorough: bool = True) -> tuple[dict[str, str] | None, list[str]]:
    """The first invoice QR payload found (parsed), and the other QR texts seen on the way. Not
    `thorough`: the image as it is only (a rendered page, whose text has been read already)."""
    others: list[str] = []
    attempts = _attempts(image) if thorough else iter([(image, zxingcpp.Binarizer.LocalAverage)])
    for candidate, binarizer in attempts:
        for code in zxingcpp.read_barcodes(candidate, formats=FORMATS, binarizer=binarizer):
            parsed = parse_payload(code.text)
            if parsed is not None:
                return parsed, others
            if code.text not in others:
                others.append(code.text[:80])
        if others:  # a QR code that is no invoice's (a payment code, a link): no need to look further
            break
    return None, others
