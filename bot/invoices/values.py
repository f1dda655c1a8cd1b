"""Field values as invoices print them, made uniform: dates, amounts, digit runs, tax IDs."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

_DATE = re.compile(r"(20\d\d|19\d\d)\s*(?:年|-|/|\.)?\s*(\d{1,2})\s*(?:月|-|/|\.)?\s*(\d{1,2})")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
MAX_AMOUNT = Decimal("1e13")


def clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def to_date(text: str | None) -> str | None:
    """20261127, 2026年11月27日, 2026-11-27 10:00:00 → 2026-11-27; None when it is no real day."""
    if not text:
        return None
    text = clean(text)
    match = _COMPACT_DATE.match(text) or _DATE.search(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3])).isoformat()
    except ValueError:
        return None


def to_amount(text: str | None) -> str | None:
    """¥1,234.5 / ￥-113.00 / 113 → "1234.50"; None for what is no amount."""
    if not text:
        return None
    text = clean(text).replace(",", "").replace("¥", "").replace("￥", "").replace("元", "").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        return None
    return f"{value.quantize(Decimal('0.01')):.2f}"


def digits(text: str | None, lengths: tuple[int, ...]) -> str | None:
    """The digits of a field (校验码 prints in groups: 12345 67890 …) if their count is one of `lengths`."""
    if not text:
        return None
    run = re.sub(r"\s+", "", clean(text))
    return run if run.isdigit() and len(run) in lengths else None


def tax_id(text: str | None) -> str | None:
    """An 18-character unified social credit code (or a 15/20-character older tax ID), upper case."""
    if not text:
        return None
    value = re.sub(r"\s+", "", clean(text)).upper()
    return value if re.fullmatch(r"[0-9A-Z]{15}|[0-9A-Z]{17,20}", value) and any(c.isdigit() for c in value) else None
