"""Semantic checks of one parsed playbook: references, ids, templates, check outcomes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jinja2

from bot.checks import CHECKS
from bot.engine.matcher import CONCEPT_REF
from bot.playbook.model import DIAGNOSE, RESERVED_NODES, RESERVED_OPTION_KEYS, Playbook
from bot.render import TemplateCache, undeclared_variables

Report = Callable[[tuple[Any, ...], str], None]


def _duplicates(ids: list[str]) -> Iterator[tuple[int, str]]:
    seen: set[str] = set()
    for index, item in enumerate(ids):
        if item in seen:
            yield index, item
        seen.add(item)


def check_references(book: Playbook, error: Report) -> None:
    causes = {c.id for c in book.causes}
    contacts = {c.id for c in book.contacts}
    questions = set(book.questions)
    targets = questions | {DIAGNOSE}

    for section, items in (("symptoms", book.symptoms), ("causes", book.causes), ("contacts", book.contacts)):
        for index, item_id in _duplicates([i.id for i in items]):
            error((section, index, "id"), f"duplicate {section[:-1]} id '{item_id}'")
    for name in questions & RESERVED_NODES:
        error(("questions", name), f"'{name}' is reserved for the engine; choose another question id")

    def target(loc: tuple[Any, ...], value: str | None, what: str = "next") -> None:
        if value is not None and value not in targets:
            error(loc, f"{what} '{value}' is no question of this playbook (nor '{DIAGNOSE}')")

    def cause_weights(loc: tuple[Any, ...], weights: dict[str, float]) -> None:
        for cause_id in weights:
            if cause_id not in causes:
                error((*loc, cause_id), f"evidence names unknown cause '{cause_id}'")

    for i, symptom in enumerate(book.symptoms):
        for lang, keywords in symptom.keywords.items():
            for j, keyword in enumerate(keywords):
                for concept in CONCEPT_REF.findall(keyword):
                    if concept not in book.vocabulary:
                        error(
                            ("symptoms", i, "keywords", lang, j),
                            f"keyword '{keyword}' names unknown vocabulary '{concept}'",
                        )
        if symptom.start not in questions:
            error(("symptoms", i, "start"), f"start '{symptom.start}' is no question of this playbook")
        for j, cause_id in enumerate(symptom.causes):
            if cause_id not in causes:
                error(("symptoms", i, "causes", j), f"unknown cause '{cause_id}'")
    for i, cause in enumerate(book.causes):
        for j, contact_id in enumerate(cause.contacts):
            if contact_id not in contacts:
                error(("causes", i, "contacts", j), f"unknown contact '{contact_id}'")
    for i, contact in enumerate(book.contacts):
        if not (contact.phone or contact.link or contact.note):
            error(("contacts", i), f"contact '{contact.id}' needs a phone, a link, or a note saying how to reach it")
    symptoms = {s.id for s in book.symptoms}
    for index, item_id in _duplicates([c.id for c in book.components]):
        error(("components", index, "id"), f"duplicate component id '{item_id}'")
    for i, component in enumerate(book.components):
        for j, symptom_id in enumerate(component.symptoms):
            if symptom_id not in symptoms:
                error(("components", i, "symptoms", j), f"unknown symptom '{symptom_id}'")
    if book.outage and book.outage.cause not in causes:
        error(("outage", "cause"), f"unknown cause '{book.outage.cause}'")

    for qid, question in book.questions.items():
        loc = ("questions", qid)
        target((*loc, "next"), question.next)
        for index, key in _duplicates([o.key for o in question.options]):
            error((*loc, "options", index, "key"), f"duplicate option key '{key}' in question '{qid}'")
        for j, option in enumerate(question.options):
            if option.key in RESERVED_OPTION_KEYS:
                error((*loc, "options", j, "key"), f"option key '{option.key}' is reserved for the engine")
            target((*loc, "options", j, "next"), option.next)
            for lang, phrases in option.says.items():
                for k, phrase in enumerate(phrases):
                    for concept in CONCEPT_REF.findall(phrase):
                        if concept not in book.vocabulary:
                            error(
                                (*loc, "options", j, "says", lang, k),
                                f"phrase '{phrase}' names unknown vocabulary '{concept}'",
                            )
            cause_weights((*loc, "options", j, "evidence"), option.evidence)
            if option.next is None and question.next is None:
                error((*loc, "options", j), f"option '{option.key}' has no next and question '{qid}' has none")
        if question.input is not None:
            _check_input(question.input, (*loc, "input"), targets, causes, error)
        if not question.options and question.input is None:
            error(loc, f"question '{qid}' has neither options nor input: the user could not answer it")


def _check_input(spec, loc, targets, causes, error: Report) -> None:
    check = CHECKS.get(spec.check)
    if check is None:
        error((*loc, "check"), f"unknown check '{spec.check}' (known: {', '.join(sorted(CHECKS))})")
        return
    nexts = spec.next if isinstance(spec.next, dict) else {}
    if isinstance(spec.next, str) and spec.next not in targets:
        error((*loc, "next"), f"next '{spec.next}' is no question of this playbook (nor '{DIAGNOSE}')")
    for outcome, value in nexts.items():
        if outcome != "default" and outcome not in check.outcomes:
            error((*loc, "next", outcome), f"check '{spec.check}' has no outcome '{outcome}'")
        if value not in targets:
            error((*loc, "next", outcome), f"next '{value}' is no question of this playbook (nor '{DIAGNOSE}')")
    if nexts and "default" not in nexts and not check.outcomes <= set(nexts):
        error((*loc, "next"), "next maps some outcomes but has no 'default' for the others")
    for outcome, weights in spec.evidence.items():
        if outcome not in check.outcomes:
            error((*loc, "evidence", outcome), f"check '{spec.check}' has no outcome '{outcome}'")
        for cause_id in weights:
            if cause_id not in causes:
                error((*loc, "evidence", outcome, cause_id), f"evidence names unknown cause '{cause_id}'")


TEMPLATE_FIELDS = frozenset(
    {
        "ask",
        "label",
        "note",
        "hint",
        "title",
        "explain",
        "detail",
        "name",
        "hours",
        "description",
        "announce",
        "update",
        "resolve",
        "reminder",
        "checklist",
    }
)


def localized_values(node: Any, loc: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], dict]]:
    """Every {zh: ..., en: ...} map in a raw playbook, with its location."""
    if isinstance(node, dict):
        if node and set(node) <= {"zh", "en"}:
            yield loc, node
            return
        for key, value in node.items():
            yield from localized_values(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from localized_values(value, (*loc, index))


def check_templates(raw: dict, templates: TemplateCache, error: Report, warn: Report) -> None:
    for loc, texts in localized_values(raw):
        is_template = (loc and loc[-1] in TEMPLATE_FIELDS) or (len(loc) == 2 and loc[0] == "texts")
        if not is_template:
            continue
        for lang, source in texts.items():
            if not isinstance(source, str):
                continue
            try:
                templates.compile(source)
            except jinja2.TemplateSyntaxError as exc:
                error((*loc, lang), f"template does not compile: {exc.message}")
                continue
            for name in sorted(undeclared_variables(source)):
                error((*loc, lang), f"template uses unknown variable '{name}'")
