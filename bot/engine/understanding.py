"""A playbook's questions as the reply matcher sees them, and the answers a message gives.

- `read_answer`: the answer to the question being asked (a button, a typed reply, a pasted number).
- `read_ahead`: the answers a message gives to questions not asked yet ("今天开的票查验说查无此票"
  answers where it is missing and when it was issued), from the playbook's `says` phrases, its
  facts and the checks that find their thing inside a sentence.
- `revise`: a correction ("不对，是昨天开的") read against the answers already given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.checks import CHECKS, CheckResult
from bot.engine.answer_words import ANSWER_WORDS
from bot.engine.intents import intent_of
from bot.engine.replies import Choice, Understood, infer, make_choice, understand
from bot.engine.types import Answer
from bot.i18n import Lang, pick
from bot.playbook.catalog import Catalog
from bot.playbook.model import Playbook, Question

AHEAD_MEMO = 1024  # messages whose answers-ahead are kept (several turns may read the same one)


def question_choices(catalog: Catalog, book: Playbook, qid: str) -> list[Choice]:
    """The question's options as Choices, built once per playbook question."""
    memo = catalog.memo.setdefault("choices", {})
    key = (book.id, qid)
    if key not in memo:
        question = book.questions[qid]
        vocabulary = {name: [w for words in langs.values() for w in words] for name, langs in book.vocabulary.items()}
        keys = {o.key for o in question.options}
        # where "don't know" is no option, it means passing the question by ("不知道税号" → skip)
        unsure = ANSWER_WORDS["not_sure"] if "skip" in keys and "not_sure" not in keys else ()
        memo[key] = [
            make_choice(
                o.key,
                [
                    *o.label.values(),
                    *(a for words in o.aliases.values() for a in words),
                    *(unsure if o.key == "skip" else ()),
                ],
                [s for words in o.says.values() for s in words],
                o.fact,
                vocabulary,
            )
            for o in question.options
        ]
    return memo[key]


@dataclass(frozen=True)
class Reading:
    answer: Answer | None
    target: str | None = None  # where the answer leads
    note: dict[str, str] | None = None  # an option's note or a check's message, by language
    tied: tuple[str, ...] = ()  # options that fit equally: ask which


def target_of(question: Question, answer: Answer) -> str | None:
    if answer.key is not None:
        option = next((o for o in question.options if o.key == answer.key), None)
        return (option.next if option else None) or question.next
    spec = question.input
    nexts = spec.next if isinstance(spec.next, dict) else {"default": spec.next}
    return nexts.get(answer.outcome or "") or nexts["default"]


def option_reading(qid: str, question: Question, key: str, inferred: bool, lang: Lang) -> Reading:
    option = next(o for o in question.options if o.key == key)
    return reading_of(question, Answer(qid, pick(option.label, lang), key=key, inferred=inferred or None))


def reading_of(question: Question, answer: Answer) -> Reading:
    """An answer already given (to an option) as a Reading: where it leads, and its option's note."""
    option = next((o for o in question.options if o.key == answer.key), None)
    note = dict(option.note) if option is not None and option.note else None
    return Reading(answer, target_of(question, answer), note)


def input_reading(qid: str, question: Question, result: CheckResult, label: str, inferred: bool) -> Reading:
    spec = question.input
    answer = Answer(
        qid, label[:500], save=spec.save, outcome=result.outcome, facts=result.facts, inferred=inferred or None
    )
    return Reading(answer, target_of(question, answer), result.message or None)


def found_label(question: Question, result: CheckResult, text: str, lang: Lang) -> str:
    """How to show what was read: the option it equals ("查验结果“不一致”"), the number, or the text."""
    same = next((o for o in question.options if o.key == result.outcome), None)
    if same is not None:
        return pick(same.label, lang)
    facts = result.facts
    number = " ".join(p for p in (facts.get("code"), facts.get("number")) if p)
    return number or facts.get("masked") or facts.get("value") or text.strip()


def read_answer(
    catalog: Catalog, book: Playbook, qid: str, text: str, choice: str | None, today: date, outage: bool, lang: Lang
) -> Reading:
    """What a reply at question `qid` answers; Reading(None) when it answers nothing."""
    question = book.questions[qid]
    choices = question_choices(catalog, book, qid)
    if choice is not None:
        got = understand(None, choice, choices, today)
        return option_reading(qid, question, got.key, False, lang) if got.key else Reading(None)
    check = CHECKS[question.input.check] if question.input else None
    if check is not None and (found := check.find(text, today)) is not None:
        return input_reading(qid, question, found, found_label(question, found, text, lang), False)
    got: Understood = understand(text, None, choices, today, outage=outage)
    if got.key:
        return option_reading(qid, question, got.key, False, lang)
    if got.tied:
        return Reading(None, tied=got.tied)
    if got.loose and intent_of(text) is None and (check is None or not any(c.isdigit() for c in text)):
        return option_reading(qid, question, got.loose, False, lang)  # a pasted number goes to the check
    if check is not None and text.strip() and (not check.wants_digits or any(c.isdigit() for c in text)):
        return input_reading(qid, question, check.run(text, today), text.strip(), False)
    return Reading(None)


def read_ahead(
    catalog: Catalog, book: Playbook, text: str, today: date, skip: set[str], lang: Lang
) -> dict[str, Reading]:
    """Answers this message gives to the playbook's questions other than `skip`."""
    if not text:
        return {}
    memo = catalog.memo.setdefault("ahead", {})
    key = (book.id, text, today, lang)
    if key not in memo:
        if len(memo) >= AHEAD_MEMO:
            memo.pop(next(iter(memo)))  # the oldest: a message is read ahead once, right when it arrives
        memo[key] = _read_all_ahead(catalog, book, text, today, lang)
    return {qid: reading for qid, reading in memo[key].items() if qid not in skip}


def _read_all_ahead(catalog: Catalog, book: Playbook, text: str, today: date, lang: Lang) -> dict[str, Reading]:
    found: dict[str, Reading] = {}
    for qid, question in book.questions.items():
        check = CHECKS[question.input.check] if question.input else None
        result = check.find(text, today) if check is not None else None
        if result is not None and result.outcome not in check.weak_ahead:
            reading = input_reading(qid, question, result, found_label(question, result, text, lang), True)
            if reading.target != qid:  # an answer that only asks the same question again proves nothing
                found[qid] = reading
                continue
        key = infer(text, question_choices(catalog, book, qid), today)
        if key is not None:
            found[qid] = option_reading(qid, question, key, True, lang)
    return found


def outage_reading(book: Playbook, qid: str, lang: Lang) -> Reading | None:
    """A question one of whose options stands for a declared outage ("is there a notice?")."""
    question = book.questions.get(qid)
    option = next((o for o in question.options if o.fact == "outage"), None) if question else None
    return option_reading(qid, question, option.key, True, lang) if option else None


def revise(
    catalog: Catalog, book: Playbook, answers: tuple[Answer, ...], text: str, today: date, lang: Lang
) -> tuple[int, Reading] | None:
    """The latest given answer this correction changes, and the new reading of it."""
    for index in range(len(answers) - 1, -1, -1):
        old = answers[index]
        if old.node not in book.questions:
            continue
        question = book.questions[old.node]
        check = CHECKS[question.input.check] if question.input else None
        if check is not None and (result := check.find(text, today)) is not None:
            reading = input_reading(old.node, question, result, found_label(question, result, text, lang), False)
        else:
            got = understand(text, None, question_choices(catalog, book, old.node), today)
            if not got.key or got.how == "number":
                continue
            reading = option_reading(old.node, question, got.key, False, lang)
        new = reading.answer
        if (new.key, new.outcome, new.label) != (old.key, old.outcome, old.label):
            return index, reading
    return None
