"""Plain values that flow into and out of the engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cached_property
from typing import Any, Literal
from urllib.parse import unquote

from bot.i18n import Lang
from bot.playbook.model import Contact


@dataclass(frozen=True)
class ConversationKey:
    """channel + chat + user: in a group, each member has their own conversation."""

    channel: str
    chat: str
    user: str

    def __str__(self) -> str:
        return self.stored

    @cached_property
    def stored(self) -> str:
        """The form the store keys it by (asked for several times a message: made once)."""
        return ":".join(_escape(part) for part in (self.channel, self.chat, self.user))

    @classmethod
    def parse(cls, text: str) -> ConversationKey:
        channel, chat, user = (unquote(part) for part in text.split(":", 2))
        return cls(channel, chat, user)


def _escape(part: str) -> str:
    """Any id a platform sends may hold ':' (a user "g1:A"): escaped so the key reads back the same.
    Ids without ':' or '%' (all that were ever stored) keep their form."""
    return part.replace("%", "%25").replace(":", "%3A") if ":" in part or "%" in part else part


@dataclass(frozen=True)
class Inbound:
    key: ConversationKey
    at: datetime
    text: str | None = None  # what the user typed
    choice: str | None = None  # a button's payload: an option key
    kind: Literal["message", "timer"] = "message"
    payload: Mapping[str, Any] | None = None  # a timer's payload
    lang_hint: Lang | None = None  # the platform's idea of the user's language
    ref: str | None = None  # the platform's id of this message, so a reply can thread to it
    chat_title: str | None = None  # a group chat's name, for /subscribe
    reply_to: str | None = None  # the platform id of the message this one replies to
    user_name: str | None = None  # how to call the sender (an agent's name, for the user)


@dataclass(frozen=True)
class OutageInfo:
    system: str
    summary: str
    region: str | None = None
    until: str | None = None
    link: str | None = None
    components: tuple[str, ...] = ()  # the playbook's component ids it concerns; none: the whole system


@dataclass(frozen=True)
class Context:
    """The facts of the world the engine may use; the runtime assembles it per message."""

    lang: Lang = "zh"  # default language when the user hasn't chosen one
    tz: str = "Asia/Shanghai"  # where "tomorrow at 09:00" and "today" are meant (OUTAGE_BOT_TZ)
    outages: tuple[OutageInfo, ...] = ()
    contacts: Mapping[str, Contact] = field(default_factory=dict)  # overrides by contact id
    is_admin: bool = False
    user_region: str | None = None  # remembered per user; decides whether a regional outage applies
    support_available: bool = False  # a support chat or support users are configured
    buttons: bool = True  # options show as buttons (not in the terminal chat, where numbers are typed)
    idle_minutes: int = 60
    match_threshold: float = 0.3


@dataclass(frozen=True)
class Answer:
    node: str  # the question answered
    label: str  # what to show for it ("今天开具", or the text typed)
    key: str | None = None  # the option chosen
    save: str | None = None  # slot name, for free-text answers
    outcome: str | None = None  # the check's outcome, for free-text answers
    facts: Mapping[str, Any] | None = None
    inferred: bool | None = None  # taken from the person's words before the question was asked


@dataclass(frozen=True)
class ConversationState:
    node: str = "new"
    playbook: str | None = None
    symptom: str | None = None
    symptom_text: str | None = None  # the user's own words for the problem
    answers: tuple[Answer, ...] = ()
    cause: str | None = None
    step: int = 0
    marks: tuple[str, ...] = ()  # per step: "done" | "skip"
    tried: tuple[str, ...] = ()  # causes whose steps didn't solve it
    region: str | None = None  # the user's answer to the region question, this conversation
    draft: Mapping[str, str] | None = None  # a /record in progress
    resume: str | None = None  # where to go back to after /record
    lang: Lang | None = None  # chosen with /lang; overrides the platform's hint
    written: Lang | None = None  # the language they described the problem in
    known: tuple[Answer, ...] = ()  # answers read from their words for questions not asked yet
    misses: int = 0  # replies in a row not understood at this node
    paused: str | None = None  # the question a decisive early diagnosis left unasked
    ask_all: bool = False  # they chose to go on after an early diagnosis: no early one again
    started_at: str | None = None  # ISO 8601
    updated_at: str | None = None
    invoice: Mapping[str, Any] | None = None  # the last invoice read from a photo or file (Invoice.to_dict)

    def to_dict(self) -> dict[str, Any]:
        """Only what differs from a fresh conversation: it is stored once per conversation, and
        from_dict() fills in the rest."""
        data = {name: value for name, default in _STATE_DEFAULTS.items() if (value := getattr(self, name)) != default}
        data["node"] = self.node  # always: queries (stats) read it
        for name in ("answers", "known"):
            if answers := getattr(self, name):
                data[name] = [{k: v for k, v in vars(a).items() if v is not None} for a in answers]
        if self.draft is not None:
            data["draft"] = dict(self.draft)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationState:
        """Every stored state passes here once a turn: the defaults and the stored values go into the
        instance directly (a frozen dataclass's __init__ sets its 22 fields one by one)."""
        state = object.__new__(cls)
        values = state.__dict__
        values.update(_STATE_DEFAULTS)
        values.update((k, v) for k, v in data.items() if k in _STATE_FIELDS)
        values["answers"] = tuple(_answer(a) for a in values["answers"])
        values["known"] = tuple(_answer(a) for a in values["known"])
        values["marks"] = tuple(values["marks"])
        values["tried"] = tuple(values["tried"])
        return state

    def slots(self) -> dict[str, dict[str, Any]]:
        """Free-text answers by slot name: {"invoice": {"text": ..., "outcome": ..., **facts}}."""
        return {a.save: {"text": a.label, "outcome": a.outcome, **(a.facts or {})} for a in self.answers if a.save}

    def chosen(self) -> dict[str, str]:
        """The option chosen at each question answered with one: {"q_type": "special"}."""
        return {a.node: a.key for a in self.answers if a.key}

    def fresh(self) -> ConversationState:
        """A new conversation that keeps only the user's language (and region)."""
        return ConversationState(lang=self.lang, written=self.written, region=self.region)

    def evolve(self, **changes: Any) -> ConversationState:
        """A copy with `changes` (dataclasses.replace, without its per-field work: a turn makes
        several copies, and this is the engine's most frequent call)."""
        if not changes.keys() <= _STATE_FIELDS:
            raise TypeError(f"unknown ConversationState fields: {sorted(changes.keys() - _STATE_FIELDS)}")
        copy = object.__new__(ConversationState)
        copy.__dict__.update(self.__dict__, **changes)
        return copy


_STATE_DEFAULTS = {f: getattr(ConversationState(), f) for f in ConversationState.__dataclass_fields__}
_STATE_FIELDS = frozenset(_STATE_DEFAULTS)
_ANSWER_DEFAULTS = {f.name: f.default for f in fields(Answer)}


def _answer(data: Mapping[str, Any]) -> Answer:
    if not data.keys() <= _ANSWER_DEFAULTS.keys() or "node" not in data or "label" not in data:
        return Answer(**data)  # raises, naming what is wrong
    answer = object.__new__(Answer)
    answer.__dict__.update(_ANSWER_DEFAULTS, **data)
    return answer


# ---- effects -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Option:
    key: str  # stable payload (buttons keep working after a restart)
    label: str


@dataclass(frozen=True)
class CauseScore:
    id: str
    score: float


@dataclass(frozen=True)
class Reply:
    text: str
    options: tuple[Option, ...] = ()
    node: str = ""
    symptom: str | None = None
    causes: tuple[CauseScore, ...] = ()
    lang: str = "zh"  # the language it is written in

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "lang": self.lang,
            "options": [{"key": o.key, "label": o.label} for o in self.options],
            "state": self.node,
            "symptom": self.symptom,
            "causes": [{"id": c.id, "score": c.score} for c in self.causes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reply:
        return cls(
            text=data["text"],
            options=tuple(Option(o["key"], o["label"]) for o in data.get("options", ())),
            node=data.get("state", ""),
            symptom=data.get("symptom"),
            causes=tuple(CauseScore(c["id"], c["score"]) for c in data.get("causes", ())),
            lang=data.get("lang", "zh"),
        )


@dataclass(frozen=True)
class SetTimer:
    """Deliver an Inbound(kind="timer", payload=...) to this conversation at `due`."""

    name: str
    due: datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class SaveRecord:
    """Store an invoice recorded by hand during an outage."""

    number: str
    amount: str
    issued_on: str
    counterparty: str


@dataclass(frozen=True)
class RememberRegion:
    region: str


@dataclass(frozen=True)
class RequestHandover:
    """Queue this conversation for a person; `summary` is what the support side reads."""

    summary: str


@dataclass(frozen=True)
class Feedback:
    """The user's answer to "did this solve it?" (solved | partly | not_solved)."""

    symptom: str | None
    cause: str | None
    outcome: str
    done: int
    skipped: int


@dataclass(frozen=True)
class Forget:
    """Delete everything stored about this user (after they confirmed)."""


@dataclass(frozen=True)
class Reported:
    """Someone described a symptom: one report, for noticing outages from the crowd."""

    symptom: str
    said: str  # their words, masked (no numbers or IDs), for the admins' alert


@dataclass(frozen=True)
class Subscribe:
    """This person wants outage notices in this chat, for these components (none: all) and province."""

    components: tuple[str, ...]
    region: str | None


Effect = (
    Reply
    | SetTimer
    | CancelTimer
    | SaveRecord
    | RememberRegion
    | RequestHandover
    | Feedback
    | Forget
    | Reported
    | Subscribe
)
