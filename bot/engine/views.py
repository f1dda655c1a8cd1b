"""What the bot says at each conversation node: text plus the options offered there.

The options built here are also what a user's answer is matched against, so the numbers a
user sees and the numbers the engine understands can't drift apart.
"""

from __future__ import annotations

from dataclasses import replace

from bot.engine import subscribe
from bot.engine.diagnosis import open_outage, outage_applies, rank, top
from bot.engine.replies import Choice, make_choice
from bot.engine.texts import Speaker, ui_texts
from bot.engine.types import CauseScore, Option, OutageInfo, Reply
from bot.playbook.model import Cause, Playbook, Question, Symptom

# Buttons that work wherever the conversation is, even when the node doesn't show them.
GLOBAL_KEYS = frozenset({"human", "contacts", "summary", "restart", "back"})
# An early diagnosis needs a cause this far ahead on the person's own answers (a declared outage's
# weight aside): one strong answer is not enough, two agreeing ones are.
DECISIVE_SCORE, DECISIVE_MARGIN = 6.0, 4.0


def menu_options(sp: Speaker) -> list[Option]:
    options = [Option(f"symptom:{s.id}", sp.local(s.title)) for _, s in sp.catalog.symptoms()]
    return [*options, Option("contacts", sp.t("label_contacts"))]


def question_options(sp: Speaker, question: Question) -> list[Option]:
    options = [Option(o.key, sp.local(o.label)) for o in question.options]
    return [*options, Option("back", sp.t("label_back")), Option("restart", sp.t("label_restart"))]


def symptom_of(sp: Speaker) -> Symptom | None:
    return sp.book.symptom(sp.state.symptom) if sp.book and sp.state.symptom else None


RANKINGS_KEPT = 2048


def ranked_causes(sp: Speaker):
    return _ranking(sp)[0]


def _ranking(sp: Speaker) -> tuple[list, tuple[CauseScore, ...]]:
    """The ranked causes and their scores as a reply carries them."""
    if "ranked" not in sp.memo:  # several parts of one reply need the ranking
        symptom = symptom_of(sp)
        sp.memo["ranked"] = _rank_once(sp, symptom) if sp.book is not None and symptom is not None else ([], ())
    return sp.memo["ranked"]


def _rank_once(sp: Speaker, symptom: Symptom) -> tuple[list, tuple[CauseScore, ...]]:
    """A turn asks for the ranking of the same answers several times, through several speakers."""
    memo = sp.catalog.memo.setdefault("rankings", {})
    state, context = sp.state, sp.context
    key = (
        sp.book.id, symptom.id, state.region, context.user_region, context.outages,
        tuple((a.node, a.key, a.outcome, a.label) for a in state.answers),
    )  # fmt: skip
    if key not in memo:
        if len(memo) >= RANKINGS_KEPT:
            memo.pop(next(iter(memo)))
        ranked = rank(sp.book, symptom, state.answers, context, state.region)
        memo[key] = ranked, tuple(CauseScore(r.cause.id, r.score) for r in ranked)
    return memo[key]


def region_needed(sp: Speaker) -> OutageInfo | None:
    """A regional outage of this system is open and we don't know where the user is."""
    outage = open_outage(sp.book, sp.context, sp.state.symptom) if sp.book else None
    if outage is None or outage.region is None or sp.state.region or sp.context.user_region:
        return None
    return outage


def region_options(sp: Speaker, outage: OutageInfo) -> list[Option]:
    return [
        Option("in_region", outage.region),
        Option("other_region", sp.t("label_other_region")),
        Option("back", sp.t("label_back")),
        Option("restart", sp.t("label_restart")),
    ]


def record_options(sp: Speaker) -> list[Option]:
    return [Option("cancel_record", sp.t("label_cancel"))]


def shown_causes(sp: Speaker):
    """The causes the diagnosis shows, leaving out the ones already tried when others remain."""
    ranked = ranked_causes(sp)
    untried = [r for r in ranked if r.cause.id not in sp.state.tried] or ranked
    return top(untried)


def decisive(sp: Speaker) -> bool:
    """The answers so far leave no reasonable doubt about the cause."""
    ranked = ranked_causes(sp)
    if not ranked:
        return False
    weight = sp.book.outage.weight if sp.book and sp.book.outage else 0.0
    scores = sorted((r.score - (weight if r.by_outage else 0.0) for r in ranked), reverse=True)
    second = scores[1] if len(scores) > 1 else 0.0
    return scores[0] >= DECISIVE_SCORE and scores[0] - second >= DECISIVE_MARGIN


def leading_cause(sp: Speaker) -> Cause | None:
    """At the diagnosis, before one is chosen: the most likely cause."""
    if sp.state.node != "diagnosis":
        return None
    shown, _ = shown_causes(sp)
    return shown[0].cause if shown else None


def diagnosis_options(sp: Speaker) -> list[Option]:
    shown, supported = shown_causes(sp)
    options = [Option(f"cause:{r.cause.id}", sp.t("label_cause", cause=sp.local(r.cause.title))) for r in shown]
    if sp.state.paused:  # diagnosed early: the questions left can still be answered
        options.append(Option("keep_asking", sp.t("label_keep_asking")))
    if not supported and sp.context.support_available:  # unclear: offer a person
        options.append(Option("human", sp.t("label_human")))
    return [
        *options,
        Option("contacts", sp.t("label_contacts")),
        Option("summary", sp.t("label_summary")),
        Option("back", sp.t("label_back")),
        Option("restart", sp.t("label_restart")),
    ]


def step_options(sp: Speaker, cause: Cause) -> list[Option]:
    options = [Option("done", sp.t("label_done")), Option("skip", sp.t("label_skip"))]
    current = cause.steps[sp.state.step] if sp.state.step < len(cause.steps) else None
    if current is not None and current.remind is not None:
        options.append(Option("remind", sp.local(current.remind.label)))
    return [
        *options,
        Option("contacts", sp.t("label_contacts")),
        Option("back", sp.t("label_back")),
        Option("restart", sp.t("label_restart")),
    ]


def finished_options(sp: Speaker) -> list[Option]:
    human = [Option("human", sp.t("label_human"))] if sp.context.support_available else []
    return [
        Option("solved", sp.t("label_solved")),
        Option("partly", sp.t("label_partly")),
        Option("not_solved", sp.t("label_not_solved")),
        Option("summary", sp.t("label_summary")),
        *human,
        Option("back", sp.t("label_back")),
        Option("restart", sp.t("label_restart")),
    ]


def forget_options(sp: Speaker) -> list[Option]:
    return [Option("forget_yes", sp.t("label_forget_yes")), Option("forget_no", sp.t("label_forget_no"))]


def subscription_book(sp: Speaker) -> Playbook | None:
    return sp.book or (sp.catalog.playbooks[0] if sp.catalog.playbooks else None)


def subscribe_options(sp: Speaker) -> list[Option]:
    book = subscription_book(sp)
    parts = [Option(f"subscribe:{c.id}", sp.local(c.title)) for c in (book.components if book else [])]
    return [Option("subscribe_all", sp.t("label_subscribe_all")), *parts,
            Option("cancel_subscribe", sp.t("label_cancel"))]  # fmt: skip


def followup_options(sp: Speaker) -> list[Option]:
    return [
        Option("recheck_fine", sp.t("label_recheck_fine")),
        Option("recheck_missing", sp.t("label_recheck_missing")),
    ]


def current_cause(sp: Speaker) -> Cause | None:
    return sp.book.cause(sp.state.cause) if sp.book and sp.state.cause else None


def options_at(sp: Speaker) -> list[Option]:
    """The options offered at the conversation's current node."""
    node = sp.state.node
    if node == "forget":
        return forget_options(sp)
    if node == "followup":
        return followup_options(sp)
    if node == "subscribe":
        return subscribe_options(sp)
    if node.startswith("record_"):
        return record_options(sp)
    if node == "region" and (outage := open_outage(sp.book, sp.context, sp.state.symptom) if sp.book else None):
        return region_options(sp, outage)
    if node == "diagnosis":
        return diagnosis_options(sp)
    if node == "steps" and (cause := current_cause(sp)):
        return step_options(sp, cause)
    if node == "finished":
        return finished_options(sp)
    if sp.book and node in sp.book.questions:
        return question_options(sp, sp.book.questions[node])
    return menu_options(sp)


def choices_at(sp: Speaker) -> list[Choice]:
    """The options at an engine node (menu, diagnosis, steps, …) as the reply matcher sees them."""
    choices = []
    for option in options_at(sp):
        names = [option.label]
        if option.key.startswith("cause:") and sp.book and (cause := sp.book.cause(option.key[6:])):
            names += list(cause.title.values())  # "维护" picks 系统维护或数据同步故障
        elif option.key.startswith("symptom:"):
            found = sp.catalog.find_symptom(option.key[8:])
            names += list(found[1].title.values()) if found else []
        elif label := ui_texts().get(f"label_{option.key}"):
            names += list(label.values())  # both languages: "solved" is understood in a Chinese chat
        choices.append(make_choice(option.key, [n for n in names if n]))
    if sp.state.node == "steps":
        choices.append(make_choice("failed", []))  # "没用": understood, though no button says it
    return choices


def replace_options(reply: Reply, options) -> Reply:
    return replace(reply, options=tuple(options))


def _reply(sp: Speaker, parts: list[str], options: list[Option], causes=()) -> Reply:
    text = "\n\n".join(p for p in parts if p)
    return Reply(text, tuple(options), sp.state.node, sp.state.symptom, tuple(causes), sp.lang)


def _scores(sp: Speaker) -> tuple[CauseScore, ...]:
    return _ranking(sp)[1]


def outage_note(sp: Speaker) -> str:
    outage = open_outage(sp.book, sp.context, sp.state.symptom) if sp.book else None
    return _notice(sp, outage) if outage else ""


def outages_now(sp: Speaker) -> str:
    """Before any question: the declared outages that may concern this person (where they are, if
    known; everywhere else, with the region the notice names)."""
    region = sp.state.region or sp.context.user_region
    return "\n".join(_notice(sp, o) for o in sp.context.outages if region is None or outage_applies(o, region))


def _notice(sp: Speaker, outage: OutageInfo) -> str:
    book = sp.catalog.by_system(outage.system)
    parts = [book.component(c) for c in outage.components] if book else []
    titles = [sp.local(p.title) for p in parts if p]
    return sp.t("outage_notice", outage=outage, affected=("、" if sp.lang == "zh" else ", ").join(titles))


def view(sp: Speaker, lead: list[str] | None = None) -> Reply:
    """The current node's prompt and options, after any `lead` paragraphs."""
    lead = [p for p in (lead or []) if p]
    node = sp.state.node
    if node == "forget":
        return _reply(sp, [*lead, sp.t("forget_question")], forget_options(sp))
    if node == "followup":
        return _reply(sp, [*lead, sp.t("followup_question")], followup_options(sp))
    if node == "subscribe":
        question = sp.t("subscribe_question", text=subscribe.titles(subscription_book(sp), None, sp.lang))
        return _reply(sp, [*lead, question], subscribe_options(sp))
    if node.startswith("record_"):
        return _reply(sp, [*lead, sp.t(node)], record_options(sp))
    if node == "region" and (outage := open_outage(sp.book, sp.context, sp.state.symptom) if sp.book else None):
        return _reply(sp, [*lead, sp.t("region_question", text=outage.region)], region_options(sp, outage))
    if node == "diagnosis":
        return diagnosis_view(sp, lead)
    if node == "steps" and (cause := current_cause(sp)):
        return step_view(sp, cause, lead)
    if node == "finished" and (cause := current_cause(sp)):
        return finished_view(sp, cause, lead)
    if sp.book and node in sp.book.questions:
        question = sp.book.questions[node]
        hint = sp.local(question.input.hint) if question.input and question.input.hint else ""
        return _reply(sp, [*lead, sp.local(question.ask), hint], question_options(sp, question), _scores(sp))
    return _reply(sp, [*lead, sp.t("menu")], menu_options(sp))


def diagnosis_view(sp: Speaker, lead: list[str]) -> Reply:
    shown, supported = shown_causes(sp)
    items = []
    for n, r in enumerate(shown, 1):
        why = list(r.why)
        if r.by_outage:
            why.insert(0, sp.t("why_outage"))
        items.append(
            sp.t(
                "diagnosis_item",
                n=n,
                cause=sp.local(r.cause.title),
                text=sp.local(r.cause.explain),
                why="；".join(why) if sp.lang == "zh" else "; ".join(why),
            )
        )
    header = sp.t("diagnosis_header" if supported else "diagnosis_unclear")
    body = header + "\n" + "\n".join(items)
    return _reply(sp, [*lead, outage_note(sp), body, sp.t("diagnosis_choose")], diagnosis_options(sp), _scores(sp))


def step_view(sp: Speaker, cause: Cause, lead: list[str]) -> Reply:
    total = len(cause.steps)
    step = cause.steps[sp.state.step]
    text = sp.t("step", n=sp.state.step + 1, total=total, step=sp.local(step.title), text=sp.local(step.detail))
    return _reply(sp, [*lead, text], step_options(sp, cause), _scores(sp))


def contacts_text(sp: Speaker, contact_ids: list[str]) -> str:
    lines = [sp.contact_text(c) for cid in contact_ids if (c := sp.contact(cid))]
    return sp.t("contacts_header") + "\n" + "\n".join(lines) if lines else ""


def relevant_contacts(sp: Speaker) -> list[str]:
    """The chosen cause's contacts; else those of the symptom's causes; else every contact."""
    cause = current_cause(sp)
    if cause is not None:
        return list(cause.contacts)
    symptom = symptom_of(sp)
    if sp.book is not None and symptom is not None:
        causes = [c for cid in symptom.causes if (c := sp.book.cause(cid))]
        return list(dict.fromkeys(contact for c in causes for contact in c.contacts))
    books = [sp.book] if sp.book else sp.catalog.playbooks
    return list(dict.fromkeys(c.id for book in books for c in book.contacts))


def finished_view(sp: Speaker, cause: Cause, lead: list[str]) -> Reply:
    done = (
        sp.t("steps_done", cause=sp.local(cause.title))
        if cause.steps
        else sp.t("no_steps", cause=sp.local(cause.title))
    )
    parts = [*lead, done, contacts_text(sp, list(cause.contacts)), sp.t("finished_question")]
    return _reply(sp, parts, finished_options(sp), _scores(sp))


def steps_list(sp: Speaker, cause: Cause) -> str:
    lines = []
    for i, step in enumerate(cause.steps):
        if i < len(sp.state.marks):
            mark = "✓" if sp.state.marks[i] == "done" else "↷"
        else:
            mark = "→" if i == sp.state.step and sp.state.node == "steps" else "·"
        lines.append(f"{mark} {i + 1}. {sp.local(step.title)}")
    return sp.t("steps_header", cause=sp.local(cause.title)) + "\n" + "\n".join(lines)
