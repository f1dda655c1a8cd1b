"""E-invoice PDFs: the text layer and the QR code on the rendered first page (pypdfium2, which
ships PDFium in its wheel)."""

from __future__ import annotations

import pypdfium2 as pdfium

from bot.invoices.image import find_invoice_qr

MAX_PAGES = 20  # an invoice has one page, a few with a list of goods; a longer PDF is no invoice
TEXT_PAGES = 3  # pages whose text is read
RENDER_SCALE = 3  # 216 dpi: the code (about 20 mm) gets 170 pixels
MAX_RENDER_POINTS = 2000  # a page larger than this (in points, either side) is rendered smaller
MAX_CHARS = 20_000  # characters read per page: an invoice has about 1,000
ROW_TOLERANCE = 3.0  # points: characters whose centres differ less are on one line
GAP = 2.0  # points between two characters that make a space


class BadPdf(ValueError):
    pass


def open_pdf(data: bytes) -> pdfium.PdfDocument:
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise BadPdf("encrypted") from None
        raise BadPdf(f"not a readable PDF: {exc}") from None
    if len(document) > MAX_PAGES:
        pages = len(document)
        document.close()
        raise BadPdf(f"{pages} pages")
    if len(document) == 0:
        document.close()
        raise BadPdf("no pages")
    return document


def page_text(document: pdfium.PdfDocument) -> str:
    """The text of the first pages in reading order: top to bottom, then left to right. The order
    of the text layer is the order things were drawn in, which an invoice's maker may choose
    freely; the two parties (buyer above or left of the seller) are told apart by this order."""
    parts = []
    for index in range(min(len(document), TEXT_PAGES)):
        page = document[index]
        textpage = page.get_textpage()
        try:
            text = textpage.get_text_range()
            chars = []
            for i in range(min(textpage.count_chars(), MAX_CHARS)):
                left, bottom, right, top = textpage.get_charbox(i, loose=True)  # font box: one line, one height
                if right > left and i < len(text) and not text[i].isspace():
                    chars.append(((top + bottom) / 2, left, right, text[i]))
            parts.append(_in_reading_order(chars))
        finally:
            textpage.close()
            page.close()
    return "\n".join(parts)


def _in_reading_order(chars: list[tuple[float, float, float, str]]) -> str:
    """Characters (vertical centre, left, right, char) as lines; a wide gap within a line is a space."""
    rows: list[list[tuple[float, float, float, str]]] = []
    for char in sorted(chars, key=lambda c: -c[0]):
        if rows and rows[-1][0][0] - char[0] <= ROW_TOLERANCE:
            rows[-1].append(char)
        else:
            rows.append([char])
    lines = []
    for row in rows:
        line, last_right = "", None
        for _, left, right, ch in sorted(row, key=lambda c: c[1]):
            if last_right is not None and left - last_right > GAP:
                line += " "
            line, last_right = line + ch, right
        lines.append(line)
    return "\n".join(lines)


def page_qr(document: pdfium.PdfDocument, thorough: bool) -> tuple[dict[str, str] | None, list[str]]:
    """The QR code on the first page; `thorough` (retries on tiles, sharpened) for a scanned page."""
    page = document[0]
    try:
        width, height = page.get_size()
        scale = min(RENDER_SCALE, RENDER_SCALE * MAX_RENDER_POINTS / max(width, height, 1))
        image = page.render(scale=scale, grayscale=True).to_pil().convert("L")
    finally:
        page.close()
    return find_invoice_qr(image, thorough)
