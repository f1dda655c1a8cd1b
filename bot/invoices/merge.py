"""One Invoice from what each source read: the first source holding a field wins, disagreements
are said, and the QR code's amount is placed by the invoice's own figures."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.checks.invoice_number import check_invoice_number
from bot.invoices.model import FIELDS, Invoice, Problem

# which source is believed first: the OFD's XML is the issuer's data, the QR code is exact where
# it is read at all, the text layer is found by labels
PRIORITY = ("ofd", "qr", "text")
LABELS = {
    "kind": ("发票类型", "invoice type"), "code": ("发票代码", "invoice code"),
    "number": ("发票号码", "invoice number"),
    "date": ("开票日期", "issue date"), "amount": ("金额（不含税）", "amount excluding tax"), "tax": ("税额", "tax"),
    "total": ("价税合计", "total including tax"), "check_code": ("校验码", "check code"),
    "buyer_name": ("购买方名称", "buyer name"), "buyer_tax_id": ("购买方税号", "buyer tax ID"),
    "seller_name": ("销售方名称", "seller name"), "seller_tax_id": ("销售方税号", "seller tax ID"),
}  # fmt: skip
SOURCE_NAMES = {
    "qr": ("二维码", "the QR code"),
    "text": ("PDF 文字", "the PDF text"),
    "ofd": ("OFD 数据", "the OFD data"),
}


def merge(readings: dict[str, dict[str, str]], input_kind: str) -> Invoice:
    """`readings`: source → the fields it read (qr, text, ofd)."""
    invoice = Invoice(input=input_kind)
    readings = {source: dict(found) for source, found in readings.items() if found}
    qr = readings.get("qr")
    if qr is not None:
        _place_qr_amount(qr, readings, invoice)
    for name in FIELDS:
        _take(invoice, name, readings)
    if invoice.kind is None and invoice.code and invoice.number:
        family = check_invoice_number(f"{invoice.code} {invoice.number}", date.max).facts.get("family")
        if family in ("special", "general"):
            invoice.kind = family
            invoice.sources["kind"] = invoice.sources.get("code", "text")
    _check_sums(invoice)
    return invoice


def _take(invoice: Invoice, name: str, readings: dict[str, dict[str, str]]) -> None:
    seen = [(source, readings[source][name]) for source in PRIORITY if readings.get(source, {}).get(name)]
    if not seen:
        return
    if name == "kind":  # a title read (数电 special or general) says more than "a 20-digit number"
        seen = [pair for pair in seen if pair[1] != "digital"] or seen
    source, value = seen[0]
    setattr(invoice, name, value)
    invoice.sources[name] = source
    for other, other_value in seen[1:]:
        if other_value != value and name != "kind":  # type codes are mapped inconsistently: no alarm
            zh, en = LABELS[name]
            a, b = SOURCE_NAMES[source], SOURCE_NAMES[other]
            invoice.problems.append(
                Problem(
                    f"{a[0]}和{b[0]}的{zh}不一致：{value} / {other_value}，请以票面为准核对。",
                    f"{a[1]} and {b[1]} disagree on the {en}: {value} / {other_value}; check the invoice itself.",
                )
            )


def _place_qr_amount(qr: dict[str, str], readings: dict[str, dict[str, str]], invoice: Invoice) -> None:
    """Older invoices' QR amount excludes tax. A 数电票's is matched against the document's
    figures; read from the QR code alone it is taken as the total (as the public sample carries)
    and the reply says to check it."""
    amount = qr.pop("qr_amount", None)
    qr.pop("qr_type", None)
    if amount is None:
        return
    digital = qr.get("kind", "").startswith("digital") or len(qr.get("number", "")) == 20
    if not digital:
        qr["amount"] = amount
        return
    document = {k: v for source, found in readings.items() if source != "qr" for k, v in found.items()}
    if document.get("total") == amount or (document.get("amount") != amount and "amount" in document):
        qr["total"] = amount  # agreeing with the total, or disagreeing with the amount: said by _take
    elif document.get("amount") == amount:
        qr["amount"] = amount
    else:
        qr["total"] = amount
        invoice.problems.append(
            Problem(
                f"只读到了二维码：其中的金额 {amount} 按价税合计处理，查验前请与票面“价税合计（小写）”核对。",
                f"Only the QR code was read: its amount {amount} is taken as the total including tax; "
                "compare it with the invoice's 价税合计 before verifying.",
            )
        )


def _check_sums(invoice: Invoice) -> None:
    if invoice.amount and invoice.tax and invoice.total:
        if Decimal(invoice.amount) + Decimal(invoice.tax) != Decimal(invoice.total):
            invoice.problems.append(
                Problem(
                    f"金额 {invoice.amount} 加税额 {invoice.tax} 不等于价税合计 {invoice.total}："
                    "可能读错了，请核对票面。",
                    f"The amount {invoice.amount} plus tax {invoice.tax} is not the total {invoice.total}: "
                    "something was misread; check the invoice.",
                )
            )
    elif invoice.amount and invoice.tax and not invoice.total:
        invoice.total = f"{Decimal(invoice.amount) + Decimal(invoice.tax):.2f}"
        invoice.sources["total"] = invoice.sources["amount"]
    elif invoice.total and invoice.tax and not invoice.amount:
        invoice.amount = f"{Decimal(invoice.total) - Decimal(invoice.tax):.2f}"
        invoice.sources["amount"] = invoice.sources["total"]
