"""Offline checks a playbook question can run on free text (`input: {check: NAME}`).

Each check is pure: it takes the text and today's date and returns a CheckResult whose outcome
is one of the check's declared outcomes, so the loader can validate a playbook's references.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.checks.invoice_number import check_invoice_number
from bot.checks.platform_message import OUTCOMES as MESSAGE_OUTCOMES
from bot.checks.platform_message import check_platform_message
from bot.checks.result import CheckResult
from bot.checks.tax_id import check_tax_id


@dataclass(frozen=True)
class Check:
    outcomes: frozenset[str]
    run: Callable[[str, date], CheckResult]


def _text(raw: str, today: date) -> CheckResult:
    return CheckResult("given", {"text": raw.strip()})


CHECKS: dict[str, Check] = {
    "text": Check(frozenset({"given"}), _text),
    "invoice_number": Check(
        frozenset(
            {"digital", "vat_special", "vat_general", "unknown_type", "incomplete", "tax_id", "ambiguous", "invalid"}
        ),
        check_invoice_number,
    ),
    "tax_id": Check(frozenset({"valid", "invalid"}), lambda raw, today: check_tax_id(raw)),
    "platform_message": Check(MESSAGE_OUTCOMES, lambda raw, today: check_platform_message(raw)),
}

__all__ = ["CHECKS", "Check", "CheckResult"]
