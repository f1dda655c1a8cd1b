"""Walk every reachable conversation state of a playbook through the pure engine.

From each symptom (chosen by button, and described in each of its example sentences, zh and en),
every state is answered with every option it offers, the check's sample input for every outcome of
a question that takes free text, each option's label typed out, a reply nobody could place, and
photos or files of invoices read (one per verification family, one issued today, one unreadable); in
Chinese and English, with and without a declared outage (everywhere, and in one region), with and
without a support team. Templates render with StrictUndefined, so a template that cannot render
with a reachable set of answers raises here.

A failure is any exception, a turn without a reply or with an empty one, or a state from which no
sequence of answers reaches a diagnosis or a person; each is reported with the path that led there.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from bot.checks import CHECKS
from bot.engine import views
from bot.engine.from_invoice import invoice_reading
from bot.engine.machine import step
from bot.engine.texts import Speaker
from bot.engine.types import (
    Context,
    ConversationKey,
    ConversationState,
    Inbound,
    OutageInfo,
    Reply,
    RequestHandover,
)
from bot.i18n import pick
from bot.invoices.model import Invoice, unreadable
from bot.playbook.catalog import Catalog
from bot.playbook.lint import reachable
from bot.playbook.model import Playbook

NOW = datetime.fromisoformat("2026-03-02T10:00:00+08:00")  # a Monday morning in Beijing
KEY = ConversationKey("explore", "chat", "user")
NONSENSE = "嗯嗯嗯嗯嗯"
MAX_MISSES = 2  # unplaced replies in a row worth exploring: the second one offers people
ARRIVED = frozenset({"diagnosis", "steps", "finished", "end"})
MAX_STATES = 500_000
ASIDES = ("subscribe",)  # nodes outside the diagnosis that lead back to where the person was
SENT_FILES = {  # one invoice per verification family, one issued today, one file nothing was read from
    "a special invoice's PDF": Invoice(kind="special", code="1100261130", number="12345678", date="2026-02-20",
                                       amount="100.00", tax="13.00", total="113.00",
                                       buyer_tax_id="91110108MA01ABCD1X").to_dict(),
    "a general invoice issued today": Invoice(kind="general", code="044031900111", number="87654321",
                                              date=NOW.date().isoformat(), amount="50.00", tax="3.00", total="53.00",
                                              check_code="12345678901234567890").to_dict(),
    "a 数电票 OFD": Invoice(kind="digital_special", number="26112000000012345678", date="2026-01-05",
                          amount="1000.00", tax="60.00", total="1060.00").to_dict(),
    "a photo without an invoice": unreadable("没有在图片里找到发票二维码。", "No invoice QR code was found.").to_dict(),
}  # fmt: skip


@dataclass(frozen=True)
class Failure:
    path: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return f"{self.message}\n    path: " + " → ".join(self.path)


@dataclass
class Exploration:
    playbook: str
    states: int = 0
    turns: int = 0
    contexts: int = 0
    failures: list[Failure] = field(default_factory=list)


def contexts(book: Playbook) -> list[tuple[str, Context]]:
    everywhere = OutageInfo(book.system, "发票系统维护 / maintenance", until="20:00")
    regional = OutageInfo(book.system, "北京地区维护 / maintenance in Beijing", region="北京")
    variants = []
    for lang, name, outages, support in (
        ("zh", "no outage", (), False),
        ("en", "no outage", (), True),
        ("zh", "outage", (everywhere,), True),
        ("en", "regional outage", (regional,), False),
    ):
        label = f"{lang}, {name}, {'support' if support else 'no support'}"
        variants.append((label, Context(lang=lang, outages=outages, support_available=support)))
    return variants


def _inputs(book: Playbook, state: ConversationState, reply: Reply, lang: str, typed: set):
    """(description, Inbound) for every way of answering this state. Each option's label typed out,
    and a reply nobody could place, go once to each node (and number of misses): they test that
    typing is understood, and pressing the same option is explored from every state anyway."""
    for option in reply.options:
        yield f"press {option.key}", Inbound(KEY, NOW, choice=option.key)
    question = book.questions.get(state.node)
    if question is not None and question.input is not None:
        for outcome, sample in CHECKS[question.input.check].samples.items():
            yield f"type {sample!r} ({outcome})", Inbound(KEY, NOW, text=sample)
    if (state.node, state.misses) in typed:
        return
    typed.add((state.node, state.misses))
    if question is not None and state.misses == 0:  # a photo or file read: the answers it gives
        for name, invoice in SENT_FILES.items():
            yield f"send {name}", Inbound(KEY, NOW, payload={"attachment": {}, "invoice": invoice})
    if question is not None and state.misses == 0:
        for option in question.options:
            label = pick(option.label, lang)
            yield f"type {label!r}", Inbound(KEY, NOW, text=label)
    if state.node == "subscribe" and state.misses == 0:
        for words in ("查验平台 乐企 北京", "all", "打印机"):
            yield f"type {words!r}", Inbound(KEY, NOW, text=words)
    if state.node == "followup" and state.misses == 0:
        for option in reply.options:
            yield f"type {option.label!r}", Inbound(KEY, NOW, text=option.label)
    if state.misses < MAX_MISSES and state.node not in ("new", "menu", "end"):
        yield f"type {NONSENSE!r}", Inbound(KEY, NOW, text=NONSENSE)


def _starts(book: Playbook, lang: str):
    followup = {"kind": "followup", "summary": "维护", "resolved": "2026-03-02 09:00", "records": ["12345678 1.00"]}
    yield "the after-recovery check arrives", Inbound(KEY, NOW, kind="timer", payload=followup)
    yield "type '/subscribe'", Inbound(KEY, NOW, text="/subscribe")
    for symptom in book.symptoms:
        yield f"press symptom:{symptom.id}", Inbound(KEY, NOW, choice=f"symptom:{symptom.id}")
        for example in symptom.examples.get(lang, []):
            yield f"type {example!r}", Inbound(KEY, NOW, text=example)


def _identity(catalog: Catalog, book: Playbook, context: Context, state: ConversationState) -> str:
    """What makes a state behave differently from here on; of two states alike in all of it, one is
    explored. That is the causes the ranking shows and whether it is decisive (not the answers
    that made them), the slots' outcomes and invoice families the templates read, which questions
    were answered and which was last (what `back` undoes), the answers known ahead for questions
    still reachable, and the rest of the state. Done and skipped steps render alike, so marks
    count as how many steps were passed."""
    data = state.to_dict()
    for volatile in ("started_at", "updated_at", "symptom_text", "answers", "known", "marks", "invoice"):
        data.pop(volatile, None)
    sp = Speaker(catalog, book, state, context, "zh")
    shown, supported = views.shown_causes(sp) if state.symptom else ([], False)
    data["ranking"] = [shown[0].cause.id if shown else None, supported, views.decisive(sp) if state.symptom else False]
    read = _slots_read(catalog, book)
    data["slots"] = sorted(
        (name, slot.get("outcome"), slot.get("family")) for name, slot in state.slots().items() if name in read
    )
    data["chosen"] = sorted((q, k) for q, k in state.chosen().items() if q in _slots_read(catalog, book, _CHOSEN_REF))
    data["last"] = state.answers[-1].node if state.answers else None
    ahead = reachable(book, [state.node])
    data["known"] = sorted((a.node, a.key or "", a.outcome or "") for a in state.known if a.node in ahead)
    data["marks"] = len(state.marks)
    data["paused"] = state.paused is not None
    if state.invoice and _answers_ahead(book, state, ahead):  # a read invoice matters while it answers more
        data["invoice"] = [state.invoice.get("kind"), state.invoice.get("date") == NOW.date().isoformat()]
    data["tried"] = min(len(state.tried), 2)  # which causes were tried shows in the ranking already
    if state.node in ("steps", "finished"):  # a cause's steps show the same whatever led to them
        for irrelevant in ("ranking", "last", "known", "paused"):
            data.pop(irrelevant, None)
    elif state.node == "diagnosis":  # `back` from here is explored from the question states
        data.pop("last")
    return json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)


def _answers_ahead(book: Playbook, state: ConversationState, ahead) -> bool:
    """Whether the conversation's invoice answers a question still to come."""
    answered = {a.node for a in state.answers}
    invoice = Invoice.from_dict(state.invoice)
    return any(
        invoice_reading(book, qid, invoice, NOW.date(), "zh") is not None
        for qid in ahead
        if qid in book.questions and qid not in answered
    )


_SLOT_REF = re.compile(r"slots(?:\.get\(\s*|\[\s*)['\"](\w+)['\"]|slots\.(\w+)")
_CHOSEN_REF = re.compile(r"chosen(?:\.get\(\s*|\[\s*)['\"](\w+)['\"]|chosen\.(\w+)")


def _slots_read(catalog: Catalog, book: Playbook, ref: re.Pattern[str] = _SLOT_REF) -> frozenset[str]:
    """The slot names (or, with _CHOSEN_REF, the questions whose chosen option) the playbook's
    templates read: only those can change what a state renders."""
    memo = catalog.memo.setdefault("slots_read", {})
    if (book.id, ref.pattern) not in memo:
        memo[book.id, ref.pattern] = frozenset(a or b for a, b in ref.findall(book.model_dump_json()))
    return memo[book.id, ref.pattern]


def explore(catalog: Catalog, book: Playbook) -> Exploration:
    result = Exploration(book.id)
    for label, context in contexts(book):
        result.contexts += 1
        _explore_one(catalog, book, context, label, result)
    return result


def _explore_one(catalog: Catalog, book: Playbook, context: Context, label: str, result: Exploration) -> None:
    typed: set = set()
    parents: dict[str, tuple[str | None, str]] = {}
    edges: dict[str, set[str]] = {}
    arrived: set[str] = set()
    queue: deque[tuple[str, ConversationState, Reply]] = deque()
    root = f"[{label}]"

    def path(identity: str | None, last: str | None = None) -> tuple[str, ...]:
        steps = [last] if last else []
        while identity is not None and identity in parents:
            identity, how = parents[identity]
            steps.append(how)
        return (root, *reversed(steps))

    def turn(parent: str | None, state: ConversationState | None, how: str, inbound: Inbound) -> None:
        result.turns += 1
        try:
            new, effects = step(catalog, state, inbound, context, NOW)
        except Exception as exc:  # any exception on any path is the finding
            result.failures.append(Failure(path(parent, how), f"{type(exc).__name__}: {exc}"))
            return
        replies = [e for e in effects if isinstance(e, Reply)]
        if not replies or not all(r.text.strip() for r in replies):
            result.failures.append(Failure(path(parent, how), "the bot did not reply"))
            return
        identity = _identity(catalog, book, context, new)
        if parent is not None:
            edges.setdefault(parent, set()).add(identity)
        if any(isinstance(e, RequestHandover) for e in effects) or new.node in ARRIVED:
            arrived.add(identity)
        if identity in parents or len(parents) >= MAX_STATES:
            return
        parents[identity] = (parent, how)
        queue.append((identity, new, replies[-1]))

    for how, inbound in _starts(book, context.lang):
        turn(None, None, how, inbound)
    while queue:
        identity, state, reply = queue.popleft()
        if state.playbook != book.id and state.node in ("menu", "new", "end"):
            continue  # back at the menu: the starts cover it
        for how, inbound in _inputs(book, state, reply, reply.lang, typed):
            turn(identity, state, how, inbound)
    result.states += len(parents)
    _dead_ends(parents, edges, arrived, path, result)


def _dead_ends(parents, edges, arrived, path, result: Exploration) -> None:
    """States from which no sequence of answers arrives at a diagnosis or a person."""
    incoming: dict[str, set[str]] = {}
    for source, targets in edges.items():
        for target in targets:
            incoming.setdefault(target, set()).add(source)
    good = set(arrived)
    todo = list(arrived)
    while todo:
        for source in incoming.get(todo.pop(), ()):
            if source not in good:
                good.add(source)
                todo.append(source)
    for identity in parents:
        state = json.loads(identity)
        if identity not in good and state.get("node") not in ("menu", "new", "end", *ASIDES):
            result.failures.append(Failure(path(identity), f"no answer from '{state['node']}' leads to a diagnosis"))
            break  # one is enough to show; the rest follow from it
