"""The conversation state machine: `step(catalog, state, inbound, context, now) -> (state, effects)`.

Pure: everything it knows arrives in its arguments, everything it wants done leaves as effects.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.engine import record, subscribe, views
from bot.engine.answer_words import reports_done
from bot.engine.diagnosis import open_outage, outage_applies
from bot.engine.from_invoice import invoice_reading, invoice_text
from bot.engine.intents import correction, intent_of
from bot.engine.replies import understand
from bot.engine.subscribe import SubscribeError, parse_subscription
from bot.engine.summary import mask, render_summary
from bot.engine.texts import Speaker
from bot.engine.types import (
    Answer,
    Context,
    ConversationState,
    Effect,
    Feedback,
    Forget,
    Inbound,
    RememberRegion,
    Reply,
    Reported,
    RequestHandover,
    SaveRecord,
    SetTimer,
    Subscribe,
)
from bot.engine.understanding import (
    Reading,
    outage_reading,
    read_ahead,
    read_answer,
    reading_of,
    revise,
    target_of,
)
from bot.i18n import Lang, parse_lang
from bot.invoices.entries import describe
from bot.invoices.model import Invoice
from bot.playbook.catalog import Catalog
from bot.playbook.lint import reachable
from bot.playbook.model import DIAGNOSE, Question, Remind

LOOSE_NODES = ("diagnosis", "steps", "finished")  # at the menu, the symptom matcher reads descriptions
UNKNOWN_ANSWERS = ("not_sure", "skip")  # answers a later message may fill in without saying "不对"
STUCK_AFTER = 2  # replies in a row not understood at one node before the contacts are offered

Result = tuple[ConversationState, list[Effect]]


def step(
    catalog: Catalog, state: ConversationState | None, inbound: Inbound, context: Context, now: datetime
) -> Result:
    state = state or ConversationState()
    lead: list[str] = []
    if inbound.kind == "timer":
        return _timer(catalog, state, inbound, context, now)
    if state.node != "new" and _idle(state, context, now):
        lead.append(_speaker(catalog, state, context, inbound).t("idle_restart", minutes=context.idle_minutes))
        state = state.fresh()
    elif not _still_valid(catalog, state):
        lead.append(_speaker(catalog, state, context, inbound).t("flow_changed"))
        state = state.fresh()
    stamp = now.isoformat()
    if state.started_at is None:
        state = state.evolve(started_at=stamp)
    turn = _Turn(catalog, context, inbound, now)
    state, effects = turn.handle(state, lead)
    return state.evolve(updated_at=stamp), effects


def _speaker(catalog: Catalog, state: ConversationState, context: Context, inbound: Inbound) -> Speaker:
    lang: Lang = state.lang or state.written or inbound.lang_hint or context.lang
    return Speaker(catalog, catalog.playbook(state.playbook), state, context, lang)


def _idle(state: ConversationState, context: Context, now: datetime) -> bool:
    if not state.updated_at or context.idle_minutes <= 0:
        return False
    return now - datetime.fromisoformat(state.updated_at) > timedelta(minutes=context.idle_minutes)


def _still_valid(catalog: Catalog, state: ConversationState) -> bool:
    """False when a playbook change removed what this conversation stands on."""
    if state.node in ("new", "menu", "end", "forget", "followup", "subscribe") or state.node in record.STEPS:
        return True
    book = catalog.playbook(state.playbook)
    if book is None or not state.symptom or book.symptom(state.symptom) is None:
        return False
    if any(a.node not in book.questions for a in state.answers):
        return False
    if state.node in ("steps", "finished"):
        cause = book.cause(state.cause or "")
        return (
            cause is not None
            and state.step <= len(cause.steps)
            and (state.node == "finished" or state.step < len(cause.steps))
        )
    return state.node in ("diagnosis", "region") or state.node in book.questions


def _timer(catalog: Catalog, state: ConversationState, inbound: Inbound, context: Context, now: datetime) -> Result:
    sp = _speaker(catalog, state, context, inbound)
    payload = inbound.payload or {}
    if payload.get("kind") == "followup":  # after an outage: did what was missing come back?
        state = state.evolve(node="followup", updated_at=now.isoformat())  # a question: the answer isn't idle
        sp = _speaker(catalog, state, context, inbound)
        text = sp.t("followup", summary=payload.get("summary", ""), resolved=payload.get("resolved", ""),
                    records="；".join(payload.get("records") or []))  # fmt: skip
        return state, [views.view(sp, [text])]
    text = sp.local(payload.get("text"))
    if payload.get("late"):
        text += sp.t("reminder_late")
    return state, [Reply(text, (), state.node, state.symptom, lang=sp.lang)]


def written_in(text: str) -> Lang | None:
    """The language a description is written in, where the script makes it clear."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return "zh"
    words = [w for w in text.split() if w.isalpha() and w.isascii()]
    return "en" if len(words) >= 2 else None


class _Turn:
    """One inbound message being handled."""

    def __init__(self, catalog: Catalog, context: Context, inbound: Inbound, now: datetime):
        self.catalog, self.context, self.inbound, self.now = catalog, context, inbound, now
        self.text = (inbound.text or "").strip()
        self.effects: list[Effect] = []
        self.today = now.astimezone(ZoneInfo(context.tz)).date()  # "today" where the person is
        self.missed = False
        self._spoken: tuple[ConversationState, Speaker] | None = None

    def sp(self, state: ConversationState) -> Speaker:
        # asked for a dozen times a turn, mostly of the same (immutable) state: one Speaker per state
        if self._spoken is None or self._spoken[0] is not state:
            self._spoken = (state, _speaker(self.catalog, state, self.context, self.inbound))
        return self._spoken[1]

    def say(self, state: ConversationState, lead: list[str]) -> Result:
        self.effects.append(views.view(self.sp(state), lead))
        return state, self.effects

    # ---- dispatch ----------------------------------------------------------------------------

    def handle(self, state: ConversationState, lead: list[str]) -> Result:
        new_state, effects = self._handle(state, lead)
        if not self.missed and new_state.misses:
            new_state = new_state.evolve(misses=0)
        return new_state, effects

    def _handle(self, state: ConversationState, lead: list[str]) -> Result:
        invoice = (self.inbound.payload or {}).get("invoice")
        if isinstance(invoice, dict) and self.inbound.choice is None:
            return self.at_invoice(state, Invoice.from_dict(invoice), lead)
        unsupported = (self.inbound.payload or {}).get("unsupported")
        if unsupported and not self.text and self.inbound.choice is None:
            return self.say(
                state if state.node != "new" else state.evolve(node="menu"), [*lead, self.sp(state).t("text_only")]
            )
        if self.inbound.choice is None and self.text.startswith("/"):
            return self.command(state, lead)
        if self.inbound.choice is None and state.node in ("new", "menu", "end") and not state.lang:
            state = state.evolve(written=written_in(self.text) or state.written)
        sp = self.sp(state)
        typed = self.text if self.inbound.choice is None else ""
        if state.node in record.STEPS:
            if intent_of(typed) in ("cancel", "back", "restart"):
                return self.at_record(state, "cancel_record", lead)
            key = understand(self.text, self.inbound.choice, views.choices_at(sp), self.today).key
            return self.at_record(state, key if key == "cancel_record" else None, lead)
        revised = self.correct(state, lead) if typed else None
        if revised is not None:
            return revised
        state = self.learn(state, typed)
        question = sp.book.questions.get(state.node) if sp.book else None
        reading = None
        if question is not None:
            reading = read_answer(
                self.catalog, sp.book, state.node, self.text, self.inbound.choice, self.today,
                self._outage_applies(state), sp.lang,
            )  # fmt: skip
            key = reading.answer.key if reading.answer else None
            if reading.answer is None and self.inbound.choice is not None:
                key = self.inbound.choice if self.inbound.choice in views.GLOBAL_KEYS else None
        else:
            got = understand(self.text, self.inbound.choice, views.choices_at(sp), self.today)
            key = got.key
            if key is None and self.inbound.choice in views.GLOBAL_KEYS:
                key = self.inbound.choice
            if got.tied:
                return self.which(state, got.tied, lead)
            if key is None and got.loose and state.node in LOOSE_NODES and intent_of(typed) is None:
                key = got.loose
        if state.node == "subscribe":  # its words are parts and a province, read before intents
            return self.at_subscribe(state, key, lead)
        if key is None and typed and state.node != "forget":
            intent = intent_of(typed)
            if intent is not None:
                return self.said(state, intent, lead)
        if key == "restart":
            return self.restart(state, lead)
        if key == "back":
            return self.back(state, lead)
        if key == "contacts":
            return self.say(state, [*lead, views.contacts_text(sp, views.relevant_contacts(sp))])
        if key == "summary":
            return self.summary(state, lead, full=False)
        if key == "human":
            return self.human(state, lead)
        if state.node == "forget":
            return self.at_forget(state, key, lead)
        if state.node == "followup":
            return self.at_followup(state, key, lead)
        if question is not None:
            return self.at_question(state, question, reading, lead)
        if state.node == "region":
            return self.at_region(state, key, lead)
        if state.node == "diagnosis":
            return self.at_diagnosis(state, key, lead)
        if state.node == "steps":
            return self.at_steps(state, key, lead)
        if state.node == "finished":
            return self.at_finished(state, key, lead)
        return self.at_menu(state, key, lead)

    def not_understood(self, state: ConversationState, lead: list[str]) -> Result:
        self.missed = True
        state = state.evolve(misses=state.misses + 1)
        sp = self.sp(state)
        if self.inbound.choice is not None or not self.text:
            return self.say(state, [*lead, sp.t("pick_option")])
        if state.misses >= STUCK_AFTER and state.node != "menu":
            return self.stuck(state, lead)
        return self.say(state, [*lead, sp.t("not_understood", text=self.text[:80]), sp.t("pick_option")])

    def stuck(self, state: ConversationState, lead: list[str]) -> Result:
        """Two replies in a row that fit no option: offer people instead of asking again."""
        sp = self.sp(state)
        contacts = views.contacts_text(sp, views.relevant_contacts(sp))
        help_text = sp.t("stuck", human=self.context.support_available)
        reply = views.view(sp, [*lead, help_text, contacts])
        extra = [views.Option("human", sp.t("label_human"))] if self.context.support_available else []
        known = {o.key for o in reply.options}
        options = (*reply.options, *(o for o in extra if o.key not in known))
        self.effects.append(views.replace_options(reply, options))
        return state, self.effects

    def which(self, state: ConversationState, keys: tuple[str, ...], lead: list[str]) -> Result:
        """Two options fit equally: show both and ask."""
        sp = self.sp(state)
        labels = {o.key: o.label for o in views.options_at(sp)}
        both = "” / “".join(labels[k] for k in keys if k in labels)
        return self.say(state, [*lead, sp.t("which_one", text=both)])

    def restart(self, state: ConversationState, lead: list[str]) -> Result:
        state = state.fresh().evolve(started_at=state.started_at)
        return self.say(state.evolve(node="menu"), [*lead, self.sp(state).t("restarted")])

    def said(self, state: ConversationState, intent: str, lead: list[str]) -> Result:
        """Things people say anywhere: a person, thanks, hello, who are you, stop, help, contacts."""
        sp = self.sp(state)
        if intent == "human":
            return self.human(state, lead)
        if intent == "restart":
            return self.restart(state, lead)
        if intent == "back":
            return self.back(state, lead)
        if intent == "cancel":
            self.effects.append(Reply(sp.t("cancelled"), (), "end", state.symptom, lang=sp.lang))
            return state.evolve(node="end"), self.effects
        if intent == "contacts":
            return self.say(self._shown(state), [*lead, views.contacts_text(sp, views.relevant_contacts(sp))])
        if intent == "help":
            return self.say(self._shown(state), [*lead, sp.t("help")])
        if intent == "greeting" and state.node in ("new", "menu", "end"):
            first = views.outages_now(sp) if state.node == "new" else ""  # am I affected? before all else
            return self.say(state.evolve(node="menu"), [*lead, first, sp.t("welcome")])
        if intent == "thanks" and state.node in ("new", "end"):
            self.effects.append(Reply(sp.t("you_are_welcome"), (), state.node, state.symptom, lang=sp.lang))
            return state, self.effects
        text = {"thanks": "you_are_welcome", "greeting": "hello", "who": "who_am_i"}[intent]
        return self.say(self._shown(state), [*lead, sp.t(text)])

    # ---- understanding ----------------------------------------------------------------------

    def _outage_applies(self, state: ConversationState) -> bool:
        sp = self.sp(state)
        outage = open_outage(sp.book, self.context, state.symptom) if sp.book else None
        return outage_applies(outage, state.region or self.context.user_region)

    def learn(self, state: ConversationState, text: str) -> ConversationState:
        """Keep the answers this message gives to questions not asked yet."""
        book = self.sp(state).book
        if book is None or not text:
            return state
        asked = {a.node for a in state.answers} | {state.node}
        ahead = read_ahead(self.catalog, book, text, self.today, asked, self.sp(state).lang)
        if not ahead:
            return state
        kept = tuple(a for a in state.known if a.node not in ahead)
        return state.evolve(known=(*kept, *(r.answer for r in ahead.values())))

    def correct(self, state: ConversationState, lead: list[str]) -> Result | None:
        """ "不对，是昨天开的": revise the earlier answer it changes, and carry on from there."""
        rest = correction(self.text)
        sp = self.sp(state)
        if rest is None or sp.book is None or not state.answers:
            return None
        found = revise(self.catalog, sp.book, state.answers, rest, self.today, sp.lang)
        return self._revised(state, found, lead) if found is not None else None

    def told_later(self, state: ConversationState, lead: list[str]) -> Result | None:
        """A reply that answers nothing here but what was unknown before ("不清楚" to the upload
        state, then "开票软件里显示上传失败了"): the earlier answer is filled in."""
        sp = self.sp(state)
        if not self.text or sp.book is None:
            return None
        found = revise(self.catalog, sp.book, state.answers, self.text, self.today, sp.lang)
        if found is None or state.answers[found[0]].key not in UNKNOWN_ANSWERS:
            return None
        return self._revised(state, found, lead)

    def _revised(self, state: ConversationState, found: tuple[int, Reading], lead: list[str]) -> Result:
        sp = self.sp(state)
        index, reading = found
        old = state.answers[index]
        question = sp.book.questions[old.node]
        note = sp.t("corrected", text=reading.answer.label)
        if target_of(question, old) != reading.target and state.node in sp.book.questions:
            state = state.evolve(answers=state.answers[:index], paused=None)
            return self.apply(state, old.node, reading, [*lead, note])
        answers = (*state.answers[:index], reading.answer, *state.answers[index + 1 :])
        state = state.evolve(answers=answers)
        if state.node in ("steps", "finished"):
            state = state.evolve(node="diagnosis", cause=None, step=0, marks=())
        return self.say(state, [*lead, note, self._note(state, reading)])

    def _note(self, state: ConversationState, reading: Reading) -> str:
        return (reading.note or {}).get(self.sp(state).lang, "")

    # ---- nodes -------------------------------------------------------------------------------

    def at_menu(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        symptom_id = key.removeprefix("symptom:") if key and key.startswith("symptom:") else None
        if symptom_id is None and self.text and self.inbound.choice is None:
            symptom_id = self.catalog.matcher.match(self.text, self.context.match_threshold).symptom
        found = self.catalog.find_symptom(symptom_id) if symptom_id else None
        if found is None:
            sp = self.sp(state)
            first = [views.outages_now(sp), sp.t("welcome")] if state.node == "new" else []  # am I affected? first
            if state.node == "new" or not self.text:
                return self.say(state.evolve(node="menu"), [*lead, *first])
            return self.say(state.evolve(node="menu"), [*lead, sp.t("not_understood", text=self.text[:80])])
        book, symptom = found
        self.effects.append(Reported(symptom.id, mask(self.text if self.inbound.choice is None else "")))
        state = state.evolve(
            node="menu",
            playbook=book.id,
            symptom=symptom.id,
            symptom_text=self.text if self.inbound.choice is None else None,
            answers=(),
            known=(),
            cause=None,
            step=0,
            marks=(),
            tried=(),
            paused=None,
        )
        state = self.learn(state, self.text if self.inbound.choice is None else "")
        sp = self.sp(state)
        lead = [*lead, views.outage_note(sp), sp.t("symptom_chosen", symptom=sp.local(symptom.title))]
        return self.go(state, symptom.start, lead)

    def at_question(
        self, state: ConversationState, question: Question, reading: Reading | None, lead: list[str]
    ) -> Result:
        if reading is not None and reading.tied:
            return self.which(state, reading.tied, lead)
        if reading is None or reading.answer is None:
            return self.told_later(state, lead) or self.not_understood(state, lead)
        return self.apply(state, state.node, reading, lead)

    def apply(self, state: ConversationState, qid: str, reading: Reading, lead: list[str]) -> Result:
        """Record an answer to `qid` and move on to where it leads."""
        known = tuple(a for a in state.known if a.node != qid)
        state = state.evolve(answers=(*state.answers, reading.answer), known=known)
        return self.go(state, reading.target, [*lead, self._note(state, reading)])

    def go(self, state: ConversationState, target: str | None, lead: list[str]) -> Result:
        """Move to `target`, answering on the way every question the person's words already answer,
        and stop asking once the answers decide the cause."""
        book = self.sp(state).book
        taken: list[str] = []
        seen: set[str] = set()
        base = len(lead)  # what the answers taken from their words are said after
        while target in book.questions and target not in seen:
            seen.add(target)
            given = next((a for a in state.answers if a.node == target), None)
            if given is not None:  # answered before an early diagnosis paused the questions
                target = reading_of(book.questions[target], given).target
                continue
            told = self._told_ahead(state, target)
            probe = state.evolve(answers=(*state.answers, *told)) if told else state
            if not state.ask_all and views.decisive(self.sp(probe)):
                # what they said already decides it: count it, and ask nothing more
                state = probe.evolve(known=(), paused=target)
                taken += [a.label for a in told]
                notes = [self._note(state, reading_of(book.questions[a.node], a)) for a in told]
                target = DIAGNOSE
                lead = [*lead, *notes, self.sp(state).t("decided_early")]
                break
            reading = self._known(state, target)
            if reading is None:
                break
            if any(a.node == target for a in told):  # their words, not a declared outage
                taken.append(reading.answer.label)
            state = state.evolve(
                answers=(*state.answers, reading.answer), known=tuple(a for a in state.known if a.node != target)
            )
            lead = [*lead, self._note(state, reading)]
            target = reading.target
        if taken:
            sp = self.sp(state)
            said = sp.t("understood_from_words", text=("；" if sp.lang == "zh" else "; ").join(taken))
            lead = [*lead[:base], said, *lead[base:]]
        if target == DIAGNOSE or target is None:
            if views.region_needed(self.sp(state)):  # a regional outage counts only where the user is
                return self.say(state.evolve(node="region"), lead)
            return self.say(state.evolve(node="diagnosis"), lead)
        return self.say(state.evolve(node=target), lead)

    def _told_ahead(self, state: ConversationState, target: str) -> tuple[Answer, ...]:
        """Answers read from their words for questions still ahead of `target`."""
        book = self.sp(state).book
        memo = self.catalog.memo.setdefault("ahead_of", {})
        if (book.id, target) not in memo:
            memo[book.id, target] = frozenset(reachable(book, [target]))
        return tuple(a for a in state.known if a.node in memo[book.id, target])

    def _known(self, state: ConversationState, qid: str) -> Reading | None:
        """The answer to `qid` the person already gave in passing, or that a declared outage gives."""
        sp = self.sp(state)
        question = sp.book.questions[qid]
        answer = next((a for a in state.known if a.node == qid), None)
        if answer is not None:
            return reading_of(question, answer)
        if state.invoice:
            read = invoice_reading(sp.book, qid, Invoice.from_dict(state.invoice), self.today, sp.lang)
            if read is not None:
                return read
        if self._outage_applies(state):
            return outage_reading(sp.book, qid, sp.lang)
        return None

    def at_diagnosis(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        if key == "keep_asking" and state.paused:
            return self.go(state.evolve(paused=None, ask_all=True), state.paused, lead)
        if not key or not key.startswith("cause:"):
            return self.not_understood(state, lead)
        return self.start_steps(state, key.removeprefix("cause:"), lead)

    def start_steps(self, state: ConversationState, cause_id: str, lead: list[str]) -> Result:
        cause = self.sp(state).book.cause(cause_id)
        node = "steps" if cause.steps else "finished"
        return self.say(state.evolve(node=node, cause=cause_id, step=0, marks=(), paused=None), lead)

    def at_steps(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        if key is None and self.inbound.choice is None and reports_done(self.text):
            key = "done"  # "看了", "插拔过了": an action reported finished
        if key == "failed":  # "没用": they did it and it didn't help: on to the next step
            key, lead = "done", [*lead, self.sp(state).t("step_failed")]
        if key in ("done", "skip"):
            marks = (*state.marks[: state.step], key)
            cause = self.sp(state).book.cause(state.cause)
            if state.step + 1 >= len(cause.steps):
                return self.say(state.evolve(node="finished", step=len(cause.steps), marks=marks), lead)
            return self.say(state.evolve(step=state.step + 1, marks=marks), lead)
        if key == "remind":
            return self.remind(state, lead)
        return self.not_understood(state, lead)

    def remind(self, state: ConversationState, lead: list[str]) -> Result:
        sp = self.sp(state)
        remind: Remind = sp.book.cause(state.cause).steps[state.step].remind
        due = _remind_due(remind, self.now, ZoneInfo(self.context.tz))
        text = {lang: sp.catalog.templates.render(value, sp.variables({})) for lang, value in remind.text.items()}
        self.effects.append(SetTimer(f"remind:{state.cause}:{state.step}", due, {"text": text}))
        when = due.astimezone(ZoneInfo(self.context.tz)).strftime("%Y-%m-%d %H:%M")
        return self.say(state, [*lead, sp.t("reminder_set", text=when)])

    def at_finished(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        sp = self.sp(state)
        if key in ("solved", "partly", "not_solved"):
            done, skipped = state.marks.count("done"), state.marks.count("skip")
            self.effects.append(Feedback(state.symptom, state.cause, key, done, skipped))
        if key == "solved":
            self.effects.append(Reply(sp.t("solved"), (), "end", state.symptom, lang=sp.lang))
            return state.evolve(node="end"), self.effects
        if key in ("partly", "not_solved"):
            tried = (*state.tried, state.cause) if state.cause not in state.tried else state.tried
            state = state.evolve(node="diagnosis", cause=None, step=0, marks=(), tried=tried)
            return self.say(state, [*lead, self.sp(state).t(key)])
        return self.not_understood(state, lead)

    def summary(self, state: ConversationState, lead: list[str], full: bool) -> Result:
        sp = self.sp(state)
        return self.say(self._shown(state), [*lead, render_summary(sp, full=full), sp.t("summary_hint")])

    def human(self, state: ConversationState, lead: list[str]) -> Result:
        sp = self.sp(state)
        if not self.context.support_available:
            contacts = views.contacts_text(sp, views.relevant_contacts(sp))
            return self.say(self._shown(state), [*lead, sp.t("handover_unavailable"), contacts])
        support = Speaker(sp.catalog, sp.book, state, self.context, self.context.lang)  # in support's language
        self.effects.append(RequestHandover(render_summary(support)))
        self.effects.append(Reply(sp.t("handover_queued"), (), state.node, state.symptom, lang=sp.lang))
        return state, self.effects

    def at_forget(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        sp = self.sp(state)
        if key == "forget_yes":
            self.effects.append(Forget())
            fresh = ConversationState(lang=state.lang, started_at=self.now.isoformat())
            self.effects.append(Reply(sp.t("forgotten"), (), "new", None, lang=sp.lang))
            return fresh, self.effects
        if key == "forget_no":
            return self.say(self._resumed(state), [*lead, sp.t("forget_kept")])
        return self.not_understood(state, lead)

    def at_subscribe(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        """Which parts, and where: a button for one part or all of them, or words for several and a
        province ("查验平台 乐企 北京")."""
        sp = self.sp(state)
        book = views.subscription_book(sp)
        typed = self.text if self.inbound.choice is None else ""
        if key == "cancel_subscribe" or intent_of(typed) in ("cancel", "back"):
            return self.say(self._resumed(state), [*lead, sp.t("subscribe_cancelled")])
        if typed:  # words: several parts and a province, read as a whole
            try:
                components, region = parse_subscription(book, typed)
            except SubscribeError as exc:
                if (intent := intent_of(typed)) is not None:  # "转人工", "help": said, not parts
                    return self.said(state, intent, lead)
                titles = subscribe.titles(book, None, sp.lang)
                return self.say(state, [*lead, sp.t("personal_subscribe_unknown", name=str(exc)[:40], text=titles)])
        elif key == "subscribe_all":
            components, region = (), None
        elif key and key.startswith("subscribe:"):
            components, region = (key.removeprefix("subscribe:"),), None
        else:
            return self.not_understood(state, lead)
        self.effects.append(Subscribe(components, region))
        described = subscribe.described(book, components, region, sp.lang)
        return self.say(self._resumed(state), [*lead, sp.t("personal_subscribed", text=described)])

    def at_followup(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        """The answer to the after-recovery check: counted for the stats; what is still missing
        goes to a person where there are any, else the contacts say who can help."""
        sp = self.sp(state)
        if key not in ("recheck_fine", "recheck_missing"):
            return self.not_understood(state, lead)
        self.effects.append(Feedback(state.symptom, state.cause, key, 0, 0))
        state = state.evolve(node="end")
        if key == "recheck_fine":
            return self.say(state, [*lead, sp.t("followup_fine")])
        if self.context.support_available:
            self.effects.append(RequestHandover(sp.t("followup_case")))
            return self.say(state, [*lead, sp.t("followup_handed_over")])
        return self.say(state, [*lead, sp.t("followup_missing"), views.contacts_text(sp, views.relevant_contacts(sp))])

    def at_region(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        outage = views.region_needed(self.sp(state)) or diagnosis_outage(self.sp(state))
        if key == "in_region" and outage is not None:
            region = outage.region
        elif key == "other_region":
            region = None  # not remembered: a later outage elsewhere may still concern them
            state = state.evolve(region="-")
        elif self.text and self.inbound.choice is None:
            region = self.text[:40]
        else:
            return self.not_understood(state, lead)
        if region:
            self.effects.append(RememberRegion(region))
            state = state.evolve(region=region)
        return self.say(state.evolve(node="diagnosis"), lead)

    def at_invoice(self, state: ConversationState, invoice: Invoice, lead: list[str]) -> Result:
        """A photo or file was read: what to enter when verifying it, and the answers it gives."""
        sp = self.sp(state)
        lead = [*lead, describe(invoice, self.today, sp.lang)]
        if not invoice.found():
            return self.say(state if state.node != "new" else state.evolve(node="menu"), lead)
        state = state.evolve(invoice=invoice.to_dict())
        if state.node in record.STEPS:
            return self.record_invoice(state, invoice, lead)
        question = sp.book.questions.get(state.node) if sp.book else None
        reading = invoice_reading(sp.book, state.node, invoice, self.today, sp.lang) if question else None
        if reading is not None:
            return self.apply(state, state.node, reading, lead)
        return self.say(state if state.node != "new" else state.evolve(node="menu"), lead)

    def record_invoice(self, state: ConversationState, invoice: Invoice, lead: list[str]) -> Result:
        """/record given a file: its number, total and date are taken; what is missing is asked."""
        number = record.parse_number(invoice_text(invoice), self.today).value
        draft = {
            **(state.draft or {}),
            **{k: v for k, v in (("number", number), ("amount", invoice.total), ("date", invoice.date)) if v},
        }
        parties = record.parties(invoice, self.sp(state).lang)  # whom to name as the counterparty
        return self.record_next(state, draft, lead, [parties] if parties else [])

    def record_next(self, state: ConversationState, draft: dict, lead: list[str], hint: list[str]) -> Result:
        """Ask for the first field of the record not known yet (with `hint`), or save the record."""
        missing = next((s for s in record.STEPS if s.removeprefix("record_") not in draft), None)
        if missing is not None:
            return self.say(state.evolve(node=missing, draft=draft), [*lead, *hint])
        self.effects.append(SaveRecord(draft["number"], draft["amount"], draft["date"], draft["counterparty"]))
        summary = f"{draft['number']}　{draft['amount']}　{draft['date']}　{draft['counterparty']}"
        return self.say(self._resumed(state), [*lead, self.sp(state).t("record_saved", text=summary)])

    def at_record(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        sp = self.sp(state)
        if key == "cancel_record":
            return self.say(self._resumed(state), [*lead, sp.t("record_cancelled")])
        if not self.text or self.inbound.choice is not None:
            return self.not_understood(state, lead)
        parsers = {
            "record_number": lambda t: record.parse_number(t, self.today),
            "record_amount": record.parse_amount,
            "record_date": lambda t: record.parse_date(t, self.today),
            "record_counterparty": record.parse_counterparty,
        }
        parsed = parsers[state.node](self.text)
        note = parsed.message.get(sp.lang, "") if parsed.message else ""
        if parsed.value is None:
            return self.say(state, [*lead, note])
        draft = {**(state.draft or {}), state.node.removeprefix("record_"): parsed.value}
        return self.record_next(state, draft, [*lead, note], [])

    @staticmethod
    def _resumed(state: ConversationState) -> ConversationState:
        resume = state.resume if state.resume not in (None, "new", "end") else "menu"
        return state.evolve(node=resume, draft=None, resume=None)

    def back(self, state: ConversationState, lead: list[str]) -> Result:
        node = state.node
        if node == "steps" and state.step > 0:
            return self.say(state.evolve(step=state.step - 1, marks=state.marks[: state.step - 1]), lead)
        if node == "finished" and state.cause:
            cause = self.sp(state).book.cause(state.cause)
            if cause.steps:
                last = len(cause.steps) - 1
                return self.say(state.evolve(node="steps", step=last, marks=state.marks[:last]), lead)
        if node in ("steps", "finished"):
            return self.say(state.evolve(node="diagnosis", cause=None, step=0, marks=()), lead)
        if node in record.STEPS:
            return self.say(self._resumed(state), lead)
        if state.answers:
            last = state.answers[-1]
            return self.say(state.evolve(node=last.node, answers=state.answers[:-1], paused=None), lead)
        if state.symptom:
            return self.say(state.fresh().evolve(node="menu", started_at=state.started_at), lead)
        return self.say(state.evolve(node="menu"), [*lead, self.sp(state).t("at_start")])

    # ---- commands ----------------------------------------------------------------------------

    def command(self, state: ConversationState, lead: list[str]) -> Result:
        name, _, arg = self.text[1:].partition(" ")
        name = name.split("@", 1)[0].lower()  # Telegram appends @botname in groups
        arg = arg.strip()
        sp = self.sp(state)
        if name in ("start", "menu"):
            fresh = state.fresh().evolve(node="menu", started_at=self.now.isoformat())
            return self.say(fresh, [*lead, self.sp(fresh).t("welcome")])
        if name == "restart":
            fresh = state.fresh().evolve(node="menu", started_at=self.now.isoformat())
            return self.say(fresh, [*lead, self.sp(fresh).t("restarted")])
        if name == "back":
            return self.back(state, lead)
        if name == "help":
            return self.say(self._shown(state), [*lead, sp.t("help")])
        if name == "contacts":
            return self.say(self._shown(state), [*lead, views.contacts_text(sp, views.relevant_contacts(sp))])
        if name == "cancel":
            if state.node in record.STEPS:
                return self.at_record(state, "cancel_record", lead)
            return self.said(state, "cancel", lead)
        if name == "steps":
            cause = views.current_cause(sp) or views.leading_cause(sp)
            listing = views.steps_list(sp, cause) if cause else sp.t("no_cause_yet")
            return self.say(self._shown(state), [*lead, listing])
        if name == "summary":
            return self.summary(state, lead, full=arg.lower() == "full")
        if name == "human":
            return self.human(state, lead)
        if name == "forget":
            resume = state.node if state.node != "forget" else state.resume
            return self.say(state.evolve(node="forget", resume=resume), lead)
        if name == "subscribe":  # in a one-to-one chat, without words (with them, operations take it)
            resume = state.node if state.node != "subscribe" else state.resume
            return self.say(state.evolve(node="subscribe", resume=resume), lead)
        if name == "record":
            resume = state.resume if state.node in record.STEPS else state.node
            return self.say(state.evolve(node="record_number", draft={}, resume=resume), lead)
        if name == "lang":
            lang = parse_lang(arg)
            if lang is None:
                return self.say(self._shown(state), [*lead, sp.t("lang_usage")])
            state = self._shown(state).evolve(lang=lang)
            return self.say(state, [*lead, self.sp(state).t("lang_set")])
        return self.say(self._shown(state), [*lead, sp.t("unknown_command", text="/" + name)])

    @staticmethod
    def _shown(state: ConversationState) -> ConversationState:
        """A brand-new conversation shows the menu after a command's answer."""
        return state.evolve(node="menu") if state.node == "new" else state


def diagnosis_outage(sp):
    return open_outage(sp.book, sp.context, sp.state.symptom) if sp.book else None


def _remind_due(remind: Remind, now: datetime, tz: ZoneInfo) -> datetime:
    if remind.after_hours is not None:
        return now + timedelta(hours=remind.after_hours)
    hour, minute = (int(x) for x in remind.next_day_at.split(":"))
    local = now.astimezone(tz) + timedelta(days=1)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)
