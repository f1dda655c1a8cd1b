"""`/record`: log an invoice issued or received while the system is down (number, amount, date,
counterparty), each checked as it is typed, then saved by the runtime (a SaveRecord effect)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from bot.checks.invoice_number import check_invoice_number
from bot.checks.tax_id import check_tax_id
from bot.invoices.model import Invoice

STEPS = ("record_number", "record_amount", "record_date", "record_counterparty")
ACCEPTED_NUMBERS = {"digital", "vat_special", "vat_general", "unknown_type", "incomplete"}


@dataclass(frozen=True)
class Parsed:
    value: str | None  # None: not accepted
    message: dict[str, str]  # what to tell the user (why not, or what it understood)


def parse_number(text: str, today: date) -> Parsed:
    result = check_invoice_number(text, today)
    if result.outcome not in ACCEPTED_NUMBERS:
        return Parsed(None, result.message)
    facts = result.facts
    value = " ".join(p for p in (facts.get("code"), facts.get("number")) if p) or text.strip()
    return Parsed(value, result.message)


def parse_amount(text: str) -> Parsed:
    cleaned = unicodedata.normalize("NFKC", text).replace(",", "").replace("，", "")
    cleaned = re.sub(r"^\s*(?:¥|￥|rmb|cny)\s*|\s*(?:元|rmb|cny|yuan)\s*$", "", cleaned, flags=re.IGNORECASE)
    try:
        amount = Decimal(cleaned.strip())
    except InvalidOperation:
        amount = None
    if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("1e12"):
        return Parsed(
            None,
            {
                "zh": "金额请写成数字，最多两位小数，例如 1234.50。",
                "en": "Write the amount as a number with at most two decimals, e.g. 1234.50.",
            },
        )
    return Parsed(f"{amount:.2f}", {})


def parse_date(text: str, today: date) -> Parsed:
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if cleaned.lower() in ("今天", "today"):
        return Parsed(today.isoformat(), {})
    digits = re.sub(r"[年月./-]", "-", cleaned).rstrip("日").strip("-")
    for pattern in ("%Y%m%d", "%Y-%m-%d"):
        try:
            day = datetime.strptime(digits, pattern).date()
        except ValueError:
            continue
        if day > today:
            break
        return Parsed(day.isoformat(), {})
    return Parsed(
        None,
        {
            "zh": "开票日期请写成 YYYYMMDD（例如 20250501），不能晚于今天；也可以回复“今天”。",
            "en": 'Write the issue date as YYYYMMDD (e.g. 20250501), not after today; or reply "today".',
        },
    )


# Bidirectional controls reorder how a name displays (a "gpj.exe" that reads "exe.jpg"): never stored
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def parse_counterparty(text: str) -> Parsed:
    cleaned = _BIDI_CONTROLS.sub("", text).strip()
    compact = "".join(cleaned.split()).upper()
    if len(compact) == 18 and compact.isalnum() and any(c.isdigit() for c in compact):
        result = check_tax_id(compact)  # a tax ID given for the counterparty is checked too
        return Parsed(compact if result.outcome == "valid" else None, result.message)
    if len(cleaned) < 2:
        return Parsed(None, {"zh": "请写交易对方的名称或税号。", "en": "Write the counterparty's name or tax ID."})
    return Parsed(cleaned[:100], {})


def parties(invoice: Invoice, lang: str) -> str:
    """Both parties as printed, so the counterparty can be copied from the reply."""
    sides = []
    for role, zh, en in (("buyer", "购买方", "Buyer"), ("seller", "销售方", "Seller")):
        name, tax_id = getattr(invoice, f"{role}_name"), getattr(invoice, f"{role}_tax_id")
        if name or tax_id:
            said = " ".join(p for p in (name, tax_id) if p)
            sides.append(f"{en}: {said}" if lang == "en" else f"{zh}：{said}")
    return "\n".join(sides)
