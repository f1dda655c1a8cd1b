"""Rank a symptom's causes by the evidence in the answers (and any declared outage)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.engine.types import Answer, Context, OutageInfo
from bot.playbook.model import Cause, Playbook, Symptom

TOP_CAUSES = 3


@dataclass(frozen=True)
class Ranked:
    cause: Cause
    score: float
    why: tuple[str, ...]  # the answers that pointed here
    by_outage: bool = False  # a declared outage pointed here too


def answer_weights(book: Playbook, answer: Answer) -> dict[str, float]:
    question = book.questions.get(answer.node)
    if question is None:
        return {}
    if answer.key is not None:
        option = next((o for o in question.options if o.key == answer.key), None)
        return dict(option.evidence) if option else {}
    if question.input is not None and answer.outcome is not None:
        return dict(question.input.evidence.get(answer.outcome, {}))
    return {}


def open_outage(book: Playbook, context: Context, symptom: str | None = None) -> OutageInfo | None:
    """The declared outage of the book's system; with `symptom`, only if it names no components or
    one whose failure shows as that symptom (the 乐企 down says nothing of the verification platform)."""
    outage = next((o for o in context.outages if o.system == book.system), None)
    if outage is None or not outage.components or symptom is None:
        return outage
    return outage if set(outage.components) & book.components_of(symptom) else None


def regions(region: str | None) -> list[str]:
    """An outage's provinces: "北京,上海" / "北京、上海" → ["北京", "上海"]."""
    return [r for r in re.split(r"[,，、;；/\s]+", region or "") if r]


def _place(name: str) -> str:
    return re.sub(r"(省|市|自治区|特别行政区|地区|region|city|province)$", "", name.strip().lower()).strip()


def same_region(a: str, b: str) -> bool:
    """北京 ~ 北京市 ~ beijing city; one naming the other also counts (北京 ~ 北京海淀区)."""
    a, b = _place(a), _place(b)
    return bool(a and b) and (a in b or b in a)


def outage_applies(outage: OutageInfo | None, region: str | None) -> bool:
    """A declared outage counts as evidence where it applies: everywhere, or in its region."""
    if outage is None:
        return False
    return outage.region is None or (region is not None and any(same_region(region, r) for r in regions(outage.region)))


def rank(
    book: Playbook, symptom: Symptom, answers: tuple[Answer, ...], context: Context, region: str | None = None
) -> list[Ranked]:
    """All of the symptom's causes, best first; ties keep the symptom's own order."""
    outage = open_outage(book, context, symptom.id)
    if not outage_applies(outage, region or context.user_region):
        outage = None
    ranked = []
    weighed = [(answer, answer_weights(book, answer)) for answer in answers]
    for cause_id in symptom.causes:
        cause = book.cause(cause_id)
        if cause is None:
            continue
        score, why = cause.prior, []
        for answer, weights in weighed:
            weight = weights.get(cause_id, 0.0)
            score += weight
            if weight > 0:
                why.append(answer.label)
        by_outage = bool(outage and book.outage and book.outage.cause == cause_id)
        if by_outage:
            score += book.outage.weight
        ranked.append(Ranked(cause, round(score, 3), tuple(why), by_outage))
    order = {c: i for i, c in enumerate(symptom.causes)}
    return sorted(ranked, key=lambda r: (-r.score, order[r.cause.id]))


def top(ranked: list[Ranked]) -> tuple[list[Ranked], bool]:
    """The causes to show and whether the evidence supports them (False: we're guessing)."""
    supported = [r for r in ranked if r.score > 0]
    if not supported:
        return ranked[:TOP_CAUSES], False
    best = supported[0].score
    # keep causes within reach of the best one; a cause with a third of the evidence is still worth a look
    return [r for r in supported if r.score >= best / 3][:TOP_CAUSES], True
