"""What transcript tests exercise of a playbook: which options were answered, which causes came out
on top of a diagnosis, and which of their steps were shown. `outage-bot test --coverage` lists the
rest, so a playbook author sees the advice no test has ever led to."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.engine.types import ConversationState, Reply
from bot.playbook.catalog import Catalog


@dataclass
class Coverage:
    options: set[tuple[str, str, str]] = field(default_factory=set)  # (playbook, question, option key)
    causes: set[tuple[str, str]] = field(default_factory=set)  # (playbook, cause) ranked first
    steps: set[tuple[str, str, int]] = field(default_factory=set)  # (playbook, cause, step index)

    def record(self, state: ConversationState, reply: Reply) -> None:
        book = state.playbook
        if book is None:
            return
        self.options.update((book, a.node, a.key) for a in state.answers if a.key)
        if reply.node == "diagnosis" and reply.causes:
            self.causes.add((book, reply.causes[0].id))
        if state.node == "steps" and state.cause:
            self.steps.add((book, state.cause, state.step))
            self.causes.add((book, state.cause))


@dataclass(frozen=True)
class Gap:
    kind: str  # option | cause | step
    where: str

    def __str__(self) -> str:
        return f"{self.kind:<7}{self.where}"


def gaps(catalog: Catalog, coverage: Coverage) -> tuple[list[Gap], dict[str, tuple[int, int]]]:
    """Everything no transcript exercised, and (exercised, total) per kind."""
    missing: list[Gap] = []
    totals = {"option": [0, 0], "cause": [0, 0], "step": [0, 0]}

    def count(kind: str, hit: bool, where: str) -> None:
        totals[kind][1] += 1
        totals[kind][0] += hit
        if not hit:
            missing.append(Gap(kind, where))

    for book in catalog.playbooks:
        for qid, question in book.questions.items():
            for option in question.options:
                count("option", (book.id, qid, option.key) in coverage.options, f"{book.id}: {qid} → {option.key}")
        for cause in book.causes:
            count("cause", (book.id, cause.id) in coverage.causes, f"{book.id}: {cause.id}")
            for index, _ in enumerate(cause.steps):
                count("step", (book.id, cause.id, index) in coverage.steps, f"{book.id}: {cause.id} step {index + 1}")
    return missing, {kind: (hit, total) for kind, (hit, total) in totals.items()}
