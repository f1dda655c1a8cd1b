"""A playbook's state machine as a Mermaid flowchart or a Graphviz DOT graph."""

from __future__ import annotations

from bot.i18n import Lang, pick
from bot.playbook.model import DIAGNOSE, Playbook

MAX_LABEL = 24


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _edges(book: Playbook, lang: Lang) -> list[tuple[str, str, str, bool]]:
    """(from, to, label, is_free_text) for every transition, menu and diagnosis included."""
    edges = [("menu", s.start, pick(s.title, lang), False) for s in book.symptoms]
    for qid, question in book.questions.items():
        for option in question.options:
            edges.append((qid, option.next or question.next or DIAGNOSE, pick(option.label, lang), False))
        if question.input is not None:
            nexts = question.input.next
            for outcome, target in nexts.items() if isinstance(nexts, dict) else [("text", nexts)]:
                edges.append((qid, target, f"{question.input.check}: {outcome}", True))
    for cause in book.causes:
        edges.append((DIAGNOSE, f"cause_{cause.id}", pick(cause.title, lang), False))
    return edges


def _node_labels(book: Playbook, lang: Lang) -> dict[str, tuple[str, str]]:
    """node id → (label, shape) where shape is one of start, question, diagnosis, cause."""
    labels = {"menu": ("menu", "start"), DIAGNOSE: ("diagnosis", "diagnosis")}
    for qid, question in book.questions.items():
        labels[qid] = (f"{qid}: {_short(pick(question.ask, lang))}", "question")
    for cause in book.causes:
        labels[f"cause_{cause.id}"] = (f"{pick(cause.title, lang)} ({len(cause.steps)} steps)", "cause")
    return labels


def _mermaid_text(text: str) -> str:
    return text.replace('"', "'").replace("|", "/")


def to_mermaid(book: Playbook, lang: Lang = "zh") -> str:
    shapes = {"start": '(["{}"])', "question": '{{"{}"}}', "diagnosis": '[["{}"]]', "cause": '["{}"]'}
    lines = ["flowchart TD"]
    for node, (label, shape) in _node_labels(book, lang).items():
        lines.append(f"    {node}{shapes[shape].format(_mermaid_text(label))}")
    seen = set()
    for source, target, label, free in _edges(book, lang):
        edge = (source, target, label)
        if edge in seen:
            continue
        seen.add(edge)
        arrow = "-.->" if free else "-->"
        lines.append(f'    {source} {arrow}|"{_mermaid_text(_short(label))}"| {target}')
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(book: Playbook, lang: Lang = "zh") -> str:
    shapes = {"start": "oval", "question": "diamond", "diagnosis": "box3d", "cause": "box"}
    lines = [f'digraph "{book.id}" {{', "    rankdir=TB;", '    node [fontname="sans-serif"];']
    for node, (label, shape) in _node_labels(book, lang).items():
        lines.append(f'    "{node}" [label="{_dot_text(label)}", shape={shapes[shape]}];')
    for source, target, label, free in _edges(book, lang):
        style = ", style=dashed" if free else ""
        lines.append(f'    "{source}" -> "{target}" [label="{_dot_text(_short(label))}"{style}];')
    lines.append("}")
    return "\n".join(lines) + "\n"
