"""The typed playbook model. Loading (bot.playbook.loader) turns YAML into these values.

Every user-facing string is a map from language to a Jinja2 template, e.g. `{zh: ..., en: ...}`.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
LangKey = Literal["zh", "en"]
LocalText = dict[LangKey, Annotated[str, StringConstraints(min_length=1)]]
LocalList = dict[LangKey, list[Annotated[str, StringConstraints(min_length=1)]]]
HourMinute = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]

# Where a question or option may lead besides another question.
DIAGNOSE = "diagnose"
# Conversation nodes the engine owns; playbook questions can't use these names.
RESERVED_NODES = frozenset(
    {
        "new",
        "menu",
        "diagnosis",
        "steps",
        "finished",
        "end",
        "region",
        "forget",
        "followup",
        DIAGNOSE,
        "record_number",
        "record_amount",
        "record_date",
        "record_counterparty",
    }
)
# Option keys the engine adds to every question.
RESERVED_OPTION_KEYS = frozenset({"back", "restart", "contacts", "summary", "human"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# What an option may stand for besides its words: "day=today", "day<today", "count>=5", "count<5",
# "outage" (a declared outage of this system that applies to the person).
Fact = Annotated[str, StringConstraints(pattern=r"^(day(=|<)today|count(<|>=)\d{1,3}|outage)$")]


class Option(_Model):
    key: Id
    label: LocalText
    aliases: LocalList = Field(default_factory=dict)
    # phrases (symptom-keyword syntax: `*`, `{concept}`) that mean this option wherever they are
    # said, even before the question is asked: "查无此票" answers "where is it missing?"
    says: LocalList = Field(default_factory=dict)
    fact: Fact | None = None
    evidence: dict[Id, float] = Field(default_factory=dict)
    next: Id | None = None
    note: LocalText | None = None


class FreeInput(_Model):
    """A question that also takes free text, checked by a named offline check."""

    check: Id = "text"
    save: Id
    next: Id | dict[Id, Id]
    evidence: dict[Id, dict[Id, float]] = Field(default_factory=dict)
    hint: LocalText | None = None


class Question(_Model):
    ask: LocalText
    options: list[Option] = Field(default_factory=list)
    input: FreeInput | None = None
    next: Id | None = None


class Remind(_Model):
    """A step may offer to remind the user later, e.g. to re-verify the next morning."""

    label: LocalText
    text: LocalText
    after_hours: float | None = Field(default=None, gt=0, le=24 * 30)
    next_day_at: HourMinute | None = None

    @model_validator(mode="after")
    def _one_time(self) -> Remind:
        if (self.after_hours is None) == (self.next_day_at is None):
            raise ValueError("give exactly one of after_hours or next_day_at")
        return self


class Step(_Model):
    title: LocalText
    detail: LocalText
    remind: Remind | None = None


class Cause(_Model):
    id: Id
    title: LocalText
    explain: LocalText
    prior: float = 0.0
    steps: list[Step] = Field(default_factory=list)
    contacts: list[Id] = Field(default_factory=list)


class Contact(_Model):
    id: Id
    name: LocalText
    phone: str | None = None
    link: str | None = None
    hours: LocalText | None = None
    timezone: str | None = None
    prepare: LocalList = Field(default_factory=dict)
    note: LocalText | None = None


class Symptom(_Model):
    id: Id
    title: LocalText
    examples: LocalList
    keywords: LocalList = Field(default_factory=dict)
    start: Id
    causes: list[Id]


class Component(_Model):
    """A part of the system that can fail on its own (查验平台, 乐企 …): an outage may name it, and
    then counts for the symptoms it can cause; people subscribe to it."""

    id: Id
    title: LocalText
    aliases: LocalList = Field(default_factory=dict)  # other words for it, for commands
    symptoms: list[Id]  # what people see when it fails


class OutageRule(_Model):
    """While an outage of this system is declared, it counts as evidence for `cause`; the texts are
    what subscribed groups hear (defaults in bot/ui.yaml), and the reminder plan how often."""

    cause: Id
    weight: float = 6.0
    announce: LocalText | None = None  # outage start
    update: LocalText | None = None
    resolve: LocalText | None = None  # may use {{ checklist }}
    reminder: LocalText | None = None  # while open, every reminder_every_hours within working hours
    overdue: LocalText | None = None  # a promised update's time passed without one
    scheduled: LocalText | None = None  # a maintenance window announced (may use outage.starts)
    soon: LocalText | None = None  # the reminder shortly before a window starts
    reminder_every_hours: float = Field(default=2.0, gt=0, le=24)
    checklist: LocalText | None = None  # after recovery; again on the next working morning
    checklist_at: HourMinute = "09:00"


class Playbook(_Model):
    id: Id
    system: Id
    title: LocalText
    description: LocalText | None = None
    outage: OutageRule | None = None
    components: list[Component] = Field(default_factory=list)
    texts: dict[Id, LocalText] = Field(default_factory=dict)
    vocabulary: dict[Id, LocalList] = Field(default_factory=dict)
    symptoms: list[Symptom]
    causes: list[Cause]
    contacts: list[Contact]
    questions: dict[Id, Question]

    def symptom(self, symptom_id: str) -> Symptom | None:
        return self._symptoms_by_id.get(symptom_id)

    def cause(self, cause_id: str) -> Cause | None:
        return self._causes_by_id.get(cause_id)

    def component(self, word: str) -> Component | None:
        """The component an id, a title or an alias names (case and spaces aside)."""
        wanted = "".join(word.split()).lower()
        for component in self.components:
            names = [
                component.id,
                *component.title.values(),
                *(a for words in component.aliases.values() for a in words),
            ]
            if wanted in ("".join(n.split()).lower() for n in names):
                return component
        return None

    def components_of(self, symptom_id: str | None) -> frozenset[str]:
        """The components whose failure shows as this symptom."""
        return frozenset(c.id for c in self.components if symptom_id in c.symptoms)

    @cached_property
    def _symptoms_by_id(self) -> dict[str, Symptom]:  # looked up on every turn
        return {s.id: s for s in reversed(self.symptoms)}  # the first of a duplicated id wins, as before

    @cached_property
    def _causes_by_id(self) -> dict[str, Cause]:
        return {c.id: c for c in reversed(self.causes)}

    def contact(self, contact_id: str) -> Contact | None:
        return next((c for c in self.contacts if c.id == contact_id), None)
