"""Read one file: tell what it is by its first bytes (never by its name), run the readers it
needs, merge what they found. Synchronous and CPU-bound: callers run it in sandbox.py."""

from __future__ import annotations

from bot.invoices.image import BadImage, find_invoice_qr, open_image
from bot.invoices.merge import merge
from bot.invoices.model import Invoice, Problem, unreadable
from bot.invoices.ofd import BadOfd, read_ofd
from bot.invoices.pdf import MAX_PAGES, BadPdf, open_pdf, page_qr, page_text
from bot.invoices.text import read_text

MAX_FILE_BYTES = 20 * 1024 * 1024
_IMAGES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


def sniff(data: bytes) -> str | None:
    """pdf | zip | image | None, by the file's signature."""
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(_IMAGES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return "image"
    return None


def read_bytes(data: bytes) -> Invoice:
    if len(data) > MAX_FILE_BYTES:
        return unreadable(
            f"文件太大（{len(data) // (1024 * 1024)} MB），最多 {MAX_FILE_BYTES // (1024 * 1024)} MB。",
            f"The file is too large ({len(data) // (1024 * 1024)} MB); the limit is "
            f"{MAX_FILE_BYTES // (1024 * 1024)} MB.",
        )
    kind = sniff(data)
    if kind == "pdf":
        return _pdf(data)
    if kind == "zip":
        return _ofd(data)
    if kind == "image":
        return _image(data)
    return unreadable(
        "这不是能识别的发票文件：请发送发票的照片或截图、PDF 或 OFD 文件。",
        "This is no invoice file I can read: send a photo or screenshot of the invoice, or its PDF or OFD file.",
    )


def _image(data: bytes) -> Invoice:
    try:
        image = open_image(data)
    except BadImage as exc:
        return unreadable("图片无法打开，请重新拍照或截图后发送。", f"The image can't be opened ({exc}).", "image")
    found, others = find_invoice_qr(image)
    if found is None:
        return unreadable(*_no_qr(others), "image")
    return merge({"qr": found}, "image")


def _no_qr(others: list[str]) -> tuple[str, str]:
    if others:
        return (
            "图片里的二维码不是发票的二维码（可能是付款码或链接）。请拍发票左上角的二维码。",
            "The QR code in the picture is not an invoice's (a payment code or a link?). Photograph the code at the "
            "invoice's top left.",
        )
    return (
        "没有在图片里找到发票二维码。请把发票放平、光线充足，让左上角的二维码清晰完整地在画面里，再拍一张。",
        "No invoice QR code was found in the picture. Lay the invoice flat in good light, with the code at its "
        "top left sharp and whole in the frame, and take another photo.",
    )


def _pdf(data: bytes) -> Invoice:
    try:
        document = open_pdf(data)
    except BadPdf as exc:
        reason = str(exc)
        if reason == "encrypted":
            return unreadable(
                "PDF 设置了密码，无法读取：请发送未加密的原始发票文件。",
                "The PDF is password-protected: send the original, unencrypted invoice file.",
                "pdf",
            )
        if reason.endswith("pages"):
            return unreadable(
                f"PDF 有 {reason.split()[0]} 页，不像一张发票（最多 {MAX_PAGES} 页）：请单独发送发票文件。",
                f"The PDF has {reason}, more than an invoice (at most {MAX_PAGES}): send the invoice alone.",
                "pdf",
            )
        return unreadable(
            "PDF 文件已损坏或无法打开：请重新下载发票文件后发送。",
            f"The PDF can't be opened ({reason}): download the invoice again and send it.",
            "pdf",
        )
    try:
        text = read_text(page_text(document))
        qr, _others = page_qr(document, thorough="number" not in text)  # a scan has no text: search harder
    finally:
        document.close()
    invoice = merge({"qr": qr or {}, "text": text}, "pdf")
    if not invoice.found():
        invoice.problems.append(
            Problem(
                "PDF 里没有找到发票号码：它可能是扫描件或不是发票。可以改发发票的照片。",
                "No invoice number was found in the PDF: it may be a scan or no invoice. Try a photo instead.",
            )
        )
    return invoice


def _ofd(data: bytes) -> Invoice:
    try:
        found = read_ofd(data)
    except BadOfd as exc:
        return unreadable(
            "OFD 文件无法读取（已损坏、不是 OFD，或内容超出限制）：请重新下载发票文件后发送。",
            f"The OFD file can't be read ({exc}): download the invoice again and send it.",
            "ofd",
        )
    invoice = merge({"ofd": found}, "ofd")
    if not invoice.found():
        invoice.problems.append(Problem("OFD 文件里没有找到发票号码。", "No invoice number was found in the OFD file."))
    return invoice
