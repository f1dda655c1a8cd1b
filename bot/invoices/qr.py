"""The QR code printed on paper and PDF invoices: comma-separated fields, every one optional.

`01,<type>,<发票代码>,<发票号码>,<amount>,<YYYYMMDD>,<校验码>,<check>[,]` (see the domain notes):
发票代码 is empty on a 数电票 (whose number has 20 digits), 校验码 empty on 专票 and 数电票. The
amount is 不含税 on the older invoices; on 数电票 samples disagree (the one public sample carries
价税合计), so its meaning is settled against the document's own figures (merge.py).
"""

from __future__ import annotations

from bot.invoices import values

TYPE_CODES = {
    "01": "special",
    "04": "general",
    "10": "general",  # 电子普通发票
    "31": "digital_special",
    "32": "digital_general",
}
MAX_PAYLOAD = 512  # characters: an invoice's payload is under 100


def parse_payload(text: str) -> dict[str, str] | None:
    """The fields of an invoice QR payload, or None when the text is no invoice's."""
    if not text or len(text) > MAX_PAYLOAD:
        return None
    parts = [p.strip() for p in text.strip().split(",")]
    if len(parts) < 6 or not parts[0].isdigit() or len(parts[0]) != 2:
        return None
    parts += [""] * (8 - len(parts))
    _version, type_code, code, number, amount, day, check_code = parts[:7]
    number = values.digits(number, (8, 20))
    if number is None:
        return None
    found: dict[str, str] = {"number": number, "qr_type": type_code}
    if kind := TYPE_CODES.get(type_code):
        found["kind"] = kind
    elif len(number) == 20:
        found["kind"] = "digital"
    if code := values.digits(code, (10, 12)):
        found["code"] = code
    if amount := values.to_amount(amount):
        found["qr_amount"] = amount
    if day := values.to_date(day):
        found["date"] = day
    if check_code := values.digits(check_code, (20,)):
        found["check_code"] = check_code
    return found
