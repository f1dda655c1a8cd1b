"""The answers a read invoice gives to a playbook's questions: its number to a question that checks
invoice numbers, its buyer tax ID to one that checks tax IDs, its issue date to options that stand
for a day ("day=today", "day<today"). Generic: no question of any playbook is named here."""

from __future__ import annotations

from datetime import date

from bot.checks import CHECKS
from bot.engine.replies import fact_holds
from bot.engine.understanding import Reading, found_label, input_reading, option_reading
from bot.i18n import Lang
from bot.invoices.model import Invoice
from bot.playbook.model import Playbook


def invoice_text(invoice: Invoice) -> str:
    """The invoice number as a person would type it: "code number", or the 20 digits."""
    return f"{invoice.code} {invoice.number}" if invoice.code and invoice.number else invoice.number or ""


def invoice_reading(book: Playbook, qid: str, invoice: Invoice, today: date, lang: Lang) -> Reading | None:
    question = book.questions.get(qid)
    if question is None or not invoice.found():
        return None
    check = question.input.check if question.input else None
    given = {"invoice_number": invoice_text(invoice), "tax_id": invoice.buyer_tax_id}.get(check or "")
    if given:
        result = CHECKS[check].run(given, today)
        return input_reading(qid, question, result, found_label(question, result, given, lang), True)
    if invoice.date:
        issued = date.fromisoformat(invoice.date)
        for option in question.options:
            if option.fact and option.fact.startswith("day") and fact_holds(option.fact, issued, None, today):
                return option_reading(qid, question, option.key, True, lang)
    return None
