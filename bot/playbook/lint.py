"""Warnings about playbooks that load but would serve users badly."""

from __future__ import annotations

from collections.abc import Iterator

from bot.playbook.model import DIAGNOSE, Playbook, Question
from bot.playbook.problems import Problem
from bot.playbook.validate import localized_values
from bot.playbook.yamlsrc import LineDict, line_of


def successors(question: Question) -> set[str]:
    targets = {o.next or question.next for o in question.options}
    if question.input is not None:
        nexts = question.input.next
        targets |= set(nexts.values()) if isinstance(nexts, dict) else {nexts}
    return {t for t in targets if t}


def reachable(book: Playbook, starts: list[str] | None = None) -> set[str]:
    """The questions reachable from `starts` (default: every symptom's first question)."""
    seen: set[str] = set()
    todo = list(starts) if starts is not None else [s.start for s in book.symptoms]
    while todo:
        node = todo.pop()
        if node in seen or node not in book.questions:
            continue
        seen.add(node)
        todo.extend(successors(book.questions[node]))
    return seen


def leads_to_diagnosis(book: Playbook) -> set[str]:
    """Questions from which some sequence of answers reaches the diagnosis."""
    good: set[str] = set()
    changed = True
    while changed:
        changed = False
        for qid, question in book.questions.items():
            if qid not in good and (successors(question) & (good | {DIAGNOSE})):
                good.add(qid)
                changed = True
    return good


def lint(book: Playbook, path: str, raw: LineDict) -> Iterator[Problem]:
    def warn(loc: tuple, message: str) -> Problem:
        return Problem(path, line_of(raw, loc), message, "warning")

    live = reachable(book)
    finishing = leads_to_diagnosis(book)
    for qid in book.questions:
        if qid not in live:
            yield warn(("questions", qid), f"question '{qid}' is unreachable from every symptom")
        elif qid not in finishing:
            yield warn(("questions", qid), f"question '{qid}' is a dead end: no answer leads to a diagnosis")
    diagnosed = {c for s in book.symptoms for c in s.causes}
    for i, cause in enumerate(book.causes):
        if not cause.steps:
            yield warn(("causes", i), f"cause '{cause.id}' has no steps")
        if cause.id not in diagnosed:
            yield warn(("causes", i), f"cause '{cause.id}' is listed by no symptom, so it is never diagnosed")
        if not cause.contacts:
            yield warn(("causes", i), f"cause '{cause.id}' names no contact")
    used = {c for cause in book.causes for c in cause.contacts}
    for i, contact in enumerate(book.contacts):
        if contact.id not in used:
            yield warn(("contacts", i), f"contact '{contact.id}' is named by no cause")
    for loc, texts in localized_values(raw):
        if loc and loc[0] == "vocabulary":
            continue  # vocabulary lists words people use in each language, not translations
        for lang in ("zh", "en"):
            if lang not in texts:
                yield warn(loc, f"missing {lang} translation")
