"""An e-invoice PDF's text layer read by its labels (发票代码, 开票日期, 价税合计（小写） …).

The text comes in the PDF's drawing order, which may differ from the visual order: every field
is found by its own label, and the two parties by order of appearance (buyer before seller, as
both layouts print them). Full-width characters are folded first (NFKC), so ¥ and ￥, ： and :
read alike.
"""

from __future__ import annotations

import re
from decimal import Decimal

from bot.invoices import values

MAX_TEXT = 200_000  # characters read from a text layer: an invoice page has about 1,000
_MONEY = r"[¥￥]\s*(-?[\d,]+\.\d{1,2})"
_CODE = re.compile(r"发\s*票\s*代\s*码\s*:?\s*(\d{10,12})(?!\d)")
_NUMBER = re.compile(r"发\s*票\s*号\s*码\s*:?\s*(\d{20}|\d{8})(?!\d)")
_DATE = re.compile(r"开\s*票\s*日\s*期\s*:?\s*(\d{4}\s*(?:年|-|/|\.)\s*\d{1,2}\s*(?:月|-|/|\.)\s*\d{1,2}|\d{8})")
_CHECK = re.compile(r"校\s*验\s*码\s*:?\s*((?:\d\s*){20})")
_TAX_ID = re.compile(r"(?:纳税人识别号|统一社会信用代码)[^:\n\d]{0,12}:?\s*([0-9A-Z]{15,20})(?![0-9A-Z])")
_NAME = re.compile(r"名\s*称\s*:\s*([^\s:]{2,100})")
_TOTAL = re.compile(r"\(\s*小\s*写\s*\)\s*" + _MONEY)
_SUM = re.compile(r"(?<!税)合\s*计")
_TITLES = (
    ("电子发票(增值税专用发票)", "digital_special"),
    ("电子发票(普通发票)", "digital_general"),
    ("专用发票", "special"),
    ("普通发票", "general"),
)
SUM_REACH = 300  # characters after 合计 where its two amounts (金额, 税额) are printed


def read_text(raw: str) -> dict[str, str]:
    """The fields a text layer names; absent fields are left out."""
    text = values.clean(raw[:MAX_TEXT])
    found: dict[str, str] = {}
    compact = re.sub(r"\s+", "", text)
    for title, kind in _TITLES:
        if title in compact:
            found["kind"] = kind
            break
    if m := _CODE.search(text):
        found["code"] = m[1]
    if m := _NUMBER.search(text):
        found["number"] = m[1]
        if len(m[1]) == 20 and not found.get("kind", "").startswith("digital"):
            found["kind"] = "digital"
    if (m := _DATE.search(text)) and (day := values.to_date(m[1])):
        found["date"] = day
    if m := _CHECK.search(text):
        found["check_code"] = re.sub(r"\s+", "", m[1])
    ids = [values.tax_id(m[1]) for m in _TAX_ID.finditer(text)]
    for role, value in zip(("buyer_tax_id", "seller_tax_id"), [i for i in ids if i], strict=False):
        found[role] = value
    names = [m[1] for m in _NAME.finditer(text)]
    for role, value in zip(("buyer_name", "seller_name"), names, strict=False):
        found[role] = value
    if (m := _TOTAL.search(text)) and (total := values.to_amount(m[1])):
        found["total"] = total
    found.update(_sum_line(text, found.get("total")))
    return found


def _sum_line(text: str, total: str | None) -> dict[str, str]:
    """合计's two amounts. Where the total is known, the pair that adds up to it wins."""
    pairs = []
    for m in _SUM.finditer(text):
        amounts = [values.to_amount(a) for a in re.findall(_MONEY, text[m.end() : m.end() + SUM_REACH])]
        amounts = [a for a in amounts if a is not None]
        if len(amounts) >= 2:
            pairs.append((amounts[0], amounts[1]))
    for amount, tax in pairs:
        if total is None or Decimal(amount) + Decimal(tax) == Decimal(total):
            return {"amount": amount, "tax": tax}
    return {}
