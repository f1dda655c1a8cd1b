"""The conversation state machine: `step(catalog, state, inbound, context, now) -> (state, effects)`.

Pure: everything it knows arrives in its arguments, everything it wants done leaves as effects.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.checks import CHECKS
from bot.engine import record, views
from bot.engine.diagnosis import open_outage
from bot.engine.options import choose
from bot.engine.summary import render_summary
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
    RequestHandover,
    SaveRecord,
    SetTimer,
)
from bot.i18n import Lang, parse_lang
from bot.playbook.catalog import Catalog
from bot.playbook.model import DIAGNOSE, Question, Remind

Result = tuple[ConversationState, list[Effect]]


def step(
    catalog: Catalog, state: ConversationState | None, inbound: Inbound, context: Context, now: datetime
) -> Result:
    state = state or ConversationState()
    lead: list[str] = []
    if inbound.kind == "timer":
        return _timer(catalog, state, inbound, context)
    if state.node != "new" and _idle(state, context, now):
        lead.append(_speaker(catalog, state, context, inbound).t("idle_restart", minutes=context.idle_minutes))
        state = state.fresh()
    elif not _still_valid(catalog, state):
        lead.append(_speaker(catalog, state, context, inbound).t("flow_changed"))
        state = state.fresh()
    if state.started_at is None:
        state = state.evolve(started_at=now.isoformat())
    turn = _Turn(catalog, context, inbound, now)
    state, effects = turn.handle(state, lead)
    return state.evolve(updated_at=now.isoformat()), effects


def _speaker(catalog: Catalog, state: ConversationState, context: Context, inbound: Inbound) -> Speaker:
    lang: Lang = state.lang or inbound.lang_hint or context.lang
    return Speaker(catalog, catalog.playbook(state.playbook), state, context, lang)


def _idle(state: ConversationState, context: Context, now: datetime) -> bool:
    if not state.updated_at or context.idle_minutes <= 0:
        return False
    return now - datetime.fromisoformat(state.updated_at) > timedelta(minutes=context.idle_minutes)


def _still_valid(catalog: Catalog, state: ConversationState) -> bool:
    """False when a playbook change removed what this conversation stands on."""
    if state.node in ("new", "menu", "end", "forget") or state.node in record.STEPS:
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


def _timer(catalog: Catalog, state: ConversationState, inbound: Inbound, context: Context) -> Result:
    sp = _speaker(catalog, state, context, inbound)
    payload = inbound.payload or {}
    text = sp.local(payload.get("text"))
    if payload.get("late"):
        text += sp.t("reminder_late")
    return state, [Reply(text, (), state.node, state.symptom, lang=sp.lang)]


class _Turn:
    """One inbound message being handled."""

    def __init__(self, catalog: Catalog, context: Context, inbound: Inbound, now: datetime):
        self.catalog, self.context, self.inbound, self.now = catalog, context, inbound, now
        self.text = (inbound.text or "").strip()
        self.effects: list[Effect] = []

    def sp(self, state: ConversationState) -> Speaker:
        return _speaker(self.catalog, state, self.context, self.inbound)

    def say(self, state: ConversationState, lead: list[str]) -> Result:
        self.effects.append(views.view(self.sp(state), lead))
        return state, self.effects

    # ---- dispatch ----------------------------------------------------------------------------

    def handle(self, state: ConversationState, lead: list[str]) -> Result:
        unsupported = (self.inbound.payload or {}).get("unsupported")
        if unsupported and not self.text and self.inbound.choice is None:
            return self.say(
                state if state.node != "new" else state.evolve(node="menu"), [*lead, self.sp(state).t("text_only")]
            )
        if self.inbound.choice is None and self.text.startswith("/"):
            return self.command(state, lead)
        sp = self.sp(state)
        options = views.options_at(sp)
        if state.node in record.STEPS:
            key = choose(self.text, self.inbound.choice, options, fuzzy=False)
            return self.at_record(state, key, lead)
        aliases = None
        question = sp.book.questions.get(state.node) if sp.book else None
        if question is not None:
            aliases = {o.key: [a for lang in o.aliases.values() for a in lang] for o in question.options}
        fuzzy = question is None or question.input is None
        key = choose(self.text, self.inbound.choice, options, aliases, fuzzy=fuzzy)
        if key == "restart":
            state = state.fresh().evolve(started_at=state.started_at)
            return self.say(state.evolve(node="menu"), [*lead, self.sp(state).t("restarted")])
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
        if question is not None:
            return self.at_question(state, question, key, lead)
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
        sp = self.sp(state)
        if self.inbound.choice is not None or not self.text:
            return self.say(state, [*lead, sp.t("pick_option")])
        return self.say(state, [*lead, sp.t("not_understood", text=self.text[:80]), sp.t("pick_option")])

    # ---- nodes -------------------------------------------------------------------------------

    def at_menu(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        symptom_id = key.removeprefix("symptom:") if key and key.startswith("symptom:") else None
        if symptom_id is None and self.text and self.inbound.choice is None:
            symptom_id = self.catalog.matcher.match(self.text, self.context.match_threshold).symptom
        found = self.catalog.find_symptom(symptom_id) if symptom_id else None
        if found is None:
            sp = self.sp(state)
            greeting = sp.t("welcome") if state.node == "new" else ""
            if state.node == "new" or not self.text:
                return self.say(state.evolve(node="menu"), [*lead, greeting])
            return self.say(state.evolve(node="menu"), [*lead, sp.t("not_understood", text=self.text[:80])])
        book, symptom = found
        state = state.evolve(
            node=symptom.start,
            playbook=book.id,
            symptom=symptom.id,
            symptom_text=self.text if key is None else None,
            answers=(),
            cause=None,
            step=0,
            marks=(),
            tried=(),
        )
        sp = self.sp(state)
        return self.say(state, [*lead, views.outage_note(sp), sp.t("symptom_chosen", symptom=sp.local(symptom.title))])

    def at_question(self, state: ConversationState, question: Question, key: str | None, lead: list[str]) -> Result:
        sp = self.sp(state)
        option = next((o for o in question.options if o.key == key), None)
        if option is not None:
            answer = Answer(state.node, sp.local(option.label), key=option.key)
            target = option.next or question.next
            note = sp.local(option.note) if option.note else ""
        elif question.input is not None and self.text and self.inbound.choice is None:
            spec = question.input
            result = CHECKS[spec.check].run(self.text, self.now.date())
            answer = Answer(state.node, self.text[:500], save=spec.save, outcome=result.outcome, facts=result.facts)
            nexts = spec.next if isinstance(spec.next, dict) else {"default": spec.next}
            target = nexts.get(result.outcome) or nexts["default"]
            note = result.message.get(sp.lang, "") if result.message else ""
        else:
            return self.not_understood(state, lead)
        state = state.evolve(answers=(*state.answers, answer))
        return self.go(state, target, [*lead, note])

    def go(self, state: ConversationState, target: str | None, lead: list[str]) -> Result:
        if target == DIAGNOSE or target is None:
            if views.region_needed(self.sp(state)):  # a regional outage counts only where the user is
                return self.say(state.evolve(node="region"), lead)
            return self.say(state.evolve(node="diagnosis"), lead)
        return self.say(state.evolve(node=target), lead)

    def at_diagnosis(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        if not key or not key.startswith("cause:"):
            return self.not_understood(state, lead)
        return self.start_steps(state, key.removeprefix("cause:"), lead)

    def start_steps(self, state: ConversationState, cause_id: str, lead: list[str]) -> Result:
        cause = self.sp(state).book.cause(cause_id)
        node = "steps" if cause.steps else "finished"
        return self.say(state.evolve(node=node, cause=cause_id, step=0, marks=()), lead)

    def at_steps(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
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

    def at_record(self, state: ConversationState, key: str | None, lead: list[str]) -> Result:
        sp = self.sp(state)
        if key == "cancel_record":
            return self.say(self._resumed(state), [*lead, sp.t("record_cancelled")])
        if not self.text or self.inbound.choice is not None:
            return self.not_understood(state, lead)
        today = self.now.astimezone(ZoneInfo(self.context.tz)).date()
        parsers = {
            "record_number": lambda t: record.parse_number(t, today),
            "record_amount": record.parse_amount,
            "record_date": lambda t: record.parse_date(t, today),
            "record_counterparty": record.parse_counterparty,
        }
        parsed = parsers[state.node](self.text)
        note = parsed.message.get(sp.lang, "") if parsed.message else ""
        if parsed.value is None:
            return self.say(state, [*lead, note])
        draft = {**(state.draft or {}), state.node.removeprefix("record_"): parsed.value}
        position = record.STEPS.index(state.node)
        if position + 1 < len(record.STEPS):
            return self.say(state.evolve(node=record.STEPS[position + 1], draft=draft), [*lead, note])
        self.effects.append(SaveRecord(draft["number"], draft["amount"], draft["date"], draft["counterparty"]))
        summary = f"{draft['number']}　{draft['amount']}　{draft['date']}　{draft['counterparty']}"
        return self.say(self._resumed(state), [*lead, note, sp.t("record_saved", text=summary)])

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
            return self.say(state.evolve(node=last.node, answers=state.answers[:-1]), lead)
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
        if name == "steps":
            cause = views.current_cause(sp)
            listing = views.steps_list(sp, cause) if cause else sp.t("no_cause_yet")
            return self.say(self._shown(state), [*lead, listing])
        if name == "summary":
            return self.summary(state, lead, full=arg.lower() == "full")
        if name == "human":
            return self.human(state, lead)
        if name == "forget":
            resume = state.node if state.node != "forget" else state.resume
            return self.say(state.evolve(node="forget", resume=resume), lead)
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
    return open_outage(sp.book, sp.context) if sp.book else None


def _remind_due(remind: Remind, now: datetime, tz: ZoneInfo) -> datetime:
    if remind.after_hours is not None:
        return now + timedelta(hours=remind.after_hours)
    hour, minute = (int(x) for x in remind.next_day_at.split(":"))
    local = now.astimezone(tz) + timedelta(days=1)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)
