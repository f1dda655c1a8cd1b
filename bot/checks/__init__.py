"""Offline checks a playbook question can run on free text (`input: {check: NAME}`).

Each check is pure: it takes the text and today's date and returns a CheckResult whose outcome
is one of the check's declared outcomes, so the loader can validate a playbook's references.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from bot.checks.invoice_number import check_invoice_number
from bot.checks.platform_message import OUTCOMES as MESSAGE_OUTCOMES
from bot.checks.platform_message import SAMPLES as MESSAGE_SAMPLES
from bot.checks.platform_message import check_platform_message
from bot.checks.result import CheckResult
from bot.checks.tax_id import check_tax_id, is_valid_tax_id


@dataclass(frozen=True)
class Check:
    outcomes: frozenset[str]
    run: Callable[[str, date], CheckResult]
    # the thing this check reads, found inside any sentence ("我这张 24112000000016430745 查不到"),
    # or None where the sentence holds none: how a message answers this question before it is asked
    find: Callable[[str, date], CheckResult | None] = lambda raw, today: None
    samples: Mapping[str, str] = field(default_factory=dict)  # a typed input per outcome, for the explorer
    # outcomes that, found in passing, prove nothing: digits that aren't a valid invoice number
    # may be a phone number or an amount; a tax ID with a wrong check character is still evidence
    weak_ahead: frozenset[str] = frozenset()
    # a reply without a digit is no attempt at what this check reads (a number, a tax ID): it is
    # not taken as a wrong one
    wants_digits: bool = False


def _text(raw: str, today: date) -> CheckResult:
    return CheckResult("given", {"text": raw.strip()})


_INVOICE = re.compile(
    r"(?<![0-9A-Za-z])(?:\d{10}|\d{12})"  # code and number, apart or named: 代码1100154130，号码03630024
    r"(?:\s+|\s*[,，、;；/]?\s*(?:发票)?(?:号码|number|no\.?)\s*[:：]?\s*)\d{8}(?!\d)"
    r"|(?<![0-9A-Za-z])(?:\d{8}|\d{10,12}|\d{18}|\d{20})(?![0-9A-Za-z])"  # one run of a known length
)
_TAX_ID = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]{18}(?![0-9A-Za-z])")


def _find_invoice_number(raw: str, today: date) -> CheckResult | None:
    text = unicodedata.normalize("NFKC", raw)
    found = _INVOICE.search(text)
    if found is None:
        token = next((t for t in _TAX_ID.findall(text) if sum(c.isdigit() for c in t) >= 8), None)
        return check_invoice_number(token, today) if token else None
    return check_invoice_number(found.group(0), today)


def _find_tax_id(raw: str, today: date) -> CheckResult | None:
    """An 18-character token; one of digits only could as well be an invoice code and number, so it
    counts only when it is a valid tax ID."""
    text = unicodedata.normalize("NFKC", raw)
    for token in _TAX_ID.findall(text):
        if sum(c.isdigit() for c in token) >= 8 and (not token.isdigit() or is_valid_tax_id(token)):
            return check_tax_id(token)
    return None


def _find_platform_message(raw: str, today: date) -> CheckResult | None:
    result = check_platform_message(raw)
    return None if result.outcome == "other" else result


CHECKS: dict[str, Check] = {
    "text": Check(frozenset({"given"}), _text, samples={"given": "系统提示：请稍后再试"}),
    "invoice_number": Check(
        frozenset(
            {"digital", "vat_special", "vat_general", "unknown_type", "incomplete", "tax_id", "ambiguous", "invalid"}
        ),
        check_invoice_number,
        _find_invoice_number,
        {
            "digital": "24112000000016430745",
            "vat_special": "1100154130 03630024",
            "vat_general": "011001800111 12345678",
            "unknown_type": "1100154930 03630024",
            "incomplete": "03630024",
            "tax_id": "91110108MA01ABCD1E",
            "ambiguous": "110015413000000050",
            "invalid": "12345",
        },
        frozenset({"invalid", "ambiguous"}),
        wants_digits=True,
    ),
    "tax_id": Check(
        frozenset({"valid", "invalid"}),
        lambda raw, today: check_tax_id(raw),
        _find_tax_id,
        {"valid": "91110108MA01ABCD1E", "invalid": "91110108MA01ABCD1X"},
        wants_digits=True,
    ),
    "platform_message": Check(
        MESSAGE_OUTCOMES,
        lambda raw, today: check_platform_message(raw),
        _find_platform_message,
        MESSAGE_SAMPLES,
    ),
}

__all__ = ["CHECKS", "Check", "CheckResult"]
