"""What to enter in each field of the verification platform for a read invoice, and what is worth
saying about it (issued today, a tax ID whose check character is wrong, too old to verify).

Pure: today's date is an argument. Used by the engine's reply and by `outage-bot read`.
"""

from __future__ import annotations

from datetime import date, timedelta

from bot.checks.invoice_number import VERIFIABLE_YEARS
from bot.checks.tax_id import is_valid_tax_id
from bot.invoices.model import KINDS, Invoice, Problem

AMOUNT_ENTRY = {
    "special": ("金额（不含税）", "amount excluding tax", "amount"),
    "general": ("校验码后6位", "last 6 digits of the check code", "check_code"),
    "digital": ("价税合计", "total including tax", "total"),
}


def entries(invoice: Invoice) -> list[tuple[str, str, str | None]]:
    """(zh label, en label, value to type) per field of the verification form; None: unknown."""
    day = invoice.date.replace("-", "") if invoice.date else None
    family = invoice.family()
    rows: list[tuple[str, str, str | None]] = []
    if family == "digital":
        rows.append(("发票代码", "invoice code", ""))
    else:
        rows.append(("发票代码", "invoice code", invoice.code))
    rows += [("发票号码", "invoice number", invoice.number), ("开票日期", "issue date", day)]
    if family in AMOUNT_ENTRY:
        zh, en, name = AMOUNT_ENTRY[family]
        value = getattr(invoice, name)
        rows.append((zh, en, value[-6:] if name == "check_code" and value else value))
    return rows


def notices(invoice: Invoice, today: date) -> list[Problem]:
    """What the reader noticed, then what today's date and the checks add."""
    said = list(invoice.problems)
    if invoice.date:
        issued = date.fromisoformat(invoice.date)
        if issued == today:
            said.append(
                Problem(
                    "这张发票今天开具：通常次日才能查验，有些渠道需要 24 小时；今天查不到属正常。",
                    "Issued today: it can usually be verified from tomorrow (some channels need 24 hours); "
                    "not finding it today is expected.",
                )
            )
        elif issued > today:
            said.append(
                Problem(
                    f"开票日期 {invoice.date} 晚于今天：请核对。",
                    f"The issue date {invoice.date} is after today: check it.",
                )
            )
        elif issued < today - timedelta(days=365 * VERIFIABLE_YEARS + 1):
            said.append(
                Problem(
                    f"开票已超过 {VERIFIABLE_YEARS} 年，查验平台不再受理。",
                    f"Issued more than {VERIFIABLE_YEARS} years ago: the platform no longer verifies it.",
                )
            )
    for role, zh, en in (("buyer_tax_id", "购买方", "buyer"), ("seller_tax_id", "销售方", "seller")):
        value = getattr(invoice, role)
        if value and len(value) == 18 and not is_valid_tax_id(value):
            said.append(
                Problem(
                    f"{zh}税号 {value} 的校验位不符：票面税号可能有误，请与对方核对。",
                    f"The {en} tax ID {value} fails its check character: it may be wrong on the invoice; "
                    "check it with them.",
                )
            )
    return said


def kind_name(invoice: Invoice, lang: str) -> str | None:
    names = KINDS.get(invoice.kind or "")
    return None if names is None else names[1 if lang == "en" else 0]


def describe(invoice: Invoice, today: date, lang: str) -> str:
    """A few lines for a chat: the type, what to enter in each field, what was noticed."""
    en = lang == "en"
    if not invoice.found():
        problems = notices(invoice, today) or [Problem("没有读到发票号码。", "No invoice number was read.")]
        return "\n".join(p.say(lang) for p in problems)
    lines = []
    kind = kind_name(invoice, lang)
    lines.append(
        f"I read this invoice: {kind or 'type not read'}." if en else f"已读取这张发票：{kind or '类型未读到'}。"
    )
    lines.append("On the verification platform enter:" if en else "查验平台请填写：")
    for zh_label, en_label, value in entries(invoice):
        shown = value or (("leave empty" if en else "留空") if value == "" else ("not read" if en else "未读到"))
        lines.append(f"• {en_label}: {shown}" if en else f"• {zh_label}：{shown}")
    if invoice.family() is None:
        lines.append(
            "• Amount field: special invoices take the amount excluding tax, general ones the last 6 check-code digits"
            if en
            else "• 金额栏：专票填不含税金额，普票填校验码后6位"
        )
    if invoice.total:
        figures = [
            f"{'amount' if en else '金额'} {invoice.amount}" if invoice.amount else None,
            f"{'tax' if en else '税额'} {invoice.tax}" if invoice.tax else None,
            f"{'total' if en else '价税合计'} {invoice.total}",
        ]
        lines.append(("Figures: " if en else "票面金额：") + ("; " if en else "，").join(f for f in figures if f))
    for problem in notices(invoice, today):
        lines.append(("Note: " if en else "注意：") + problem.say(lang))
    return "\n".join(lines)
