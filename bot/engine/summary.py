"""The case summary: what to read out on the phone or paste into a ticket (the article: "have the
invoice number and company name ready", "the exact error message, the time and the steps").
Pure: rendered from the conversation state."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.engine import views
from bot.engine.texts import Speaker

HEADINGS = {
    "zh": {
        "title": "【问题摘要】",
        "symptom": "问题",
        "words": "用户原话",
        "first": "首次反馈",
        "answers": "已回答",
        "causes": "可能原因",
        "steps": "处理步骤",
        "done": "已完成",
        "skipped": "已跳过",
        "todo": "未做",
        "numbers": "发票号码",
        "tax": "税号",
        "error": "系统提示原文",
        "prepare": "联系前请准备",
        "because": "依据",
    },
    "en": {
        "title": "[Case summary]",
        "symptom": "Problem",
        "words": "In their words",
        "first": "First reported",
        "answers": "Answers",
        "causes": "Likely causes",
        "steps": "Steps",
        "done": "done",
        "skipped": "skipped",
        "todo": "not done",
        "numbers": "Invoice numbers",
        "tax": "Tax ID",
        "error": "Exact message",
        "prepare": "Have ready",
        "because": "because",
    },
}


def render_summary(sp: Speaker, full: bool = False) -> str:
    h = HEADINGS[sp.lang]
    state = sp.state
    sep = "；" if sp.lang == "zh" else "; "
    lines = [h["title"]]
    symptom = views.symptom_of(sp)
    if symptom is not None:
        lines.append(f"{h['symptom']}: {sp.local(symptom.title)}")
    if state.symptom_text:
        lines.append(f"{h['words']}: “{state.symptom_text}”")
    if state.started_at:
        first = datetime.fromisoformat(state.started_at).astimezone(ZoneInfo(sp.context.tz))
        lines.append(f"{h['first']}: {first:%Y-%m-%d %H:%M %Z}")
    answers = [a.label for a in state.answers if not a.save]
    if answers:
        lines.append(f"{h['answers']}: {sep.join(answers)}")
    slots = state.slots()
    # a checked tax ID carries its masked form; any other checked slot with a number is an invoice
    tax_ids = [s for s in slots.values() if "masked" in s]
    numbers = [
        _invoice(s)
        for s in slots.values()
        if "masked" not in s and (s.get("code") or s.get("number") or s.get("value"))
    ]
    if numbers:
        lines.append(f"{h['numbers']}: {sep.join(numbers)}")
    for tax in tax_ids:
        shown = tax["value"] if full else tax["masked"]
        check = "✓" if tax.get("outcome") == "valid" or tax.get("valid") else "✗"
        lines.append(f"{h['tax']}: {shown} {check}")
    error = slots.get("error")
    if error:
        lines.append(f"{h['error']}: “{error['text']}”")
    shown, _ = views.shown_causes(sp)
    if shown:
        causes = [sp.local(r.cause.title) + (f" ({h['because']}: {sep.join(r.why)})" if r.why else "") for r in shown]
        lines.append(f"{h['causes']}: {sep.join(causes)}")
    cause = views.current_cause(sp)
    if cause is not None and cause.steps:
        marks = list(state.marks) + ["todo"] * (len(cause.steps) - len(state.marks))
        steps = [
            f"{i}. {sp.local(s.title)} ({h[m] if m != 'skip' else h['skipped']})"
            for i, (s, m) in enumerate(zip(cause.steps, marks, strict=False), 1)
        ]
        lines.append(f"{h['steps']} ({sp.local(cause.title)}): " + sep.join(steps))
    prepare = []
    for contact_id in views.relevant_contacts(sp):
        contact = sp.contact(contact_id)
        if contact is not None and contact.prepare:
            prepare.extend(p for p in contact.prepare.get(sp.lang, contact.prepare.get("zh", [])) if p not in prepare)
    if prepare:
        lines.append(f"{h['prepare']}: {sep.join(prepare)}")
    return "\n".join(lines)


def _invoice(slot: dict) -> str:
    number = " ".join(p for p in (slot.get("code"), slot.get("number")) if p) or slot.get("value") or slot["text"]
    kind = slot.get("type_zh") or slot.get("outcome")
    return f"{number} ({kind})"


_IDENTIFIERS = re.compile(r"[0-9A-Za-z]*\d[0-9A-Za-z]{3,}")  # numbers, tax IDs, phone numbers
SAID_MAX = 60


def mask(text: str) -> str:
    """A person's words as an admin may see them in an alert: no number or ID, at most 60 characters."""
    return _IDENTIFIERS.sub("***", " ".join(text.split()))[:SAID_MAX]
