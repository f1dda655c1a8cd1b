"""The storage interface the runtime depends on, and the rows it exchanges.

A turn is committed atomically: the conversation's new state, the replies to send (outbox), the
timers set or cancelled, the transcript line, and the inbox row done (deleted; its id kept). That is what makes
a crash at any moment lose nothing that was acknowledged, and answer nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.engine.types import ConversationKey, ConversationState, Inbound


@dataclass(frozen=True)
class InboxRow:
    id: int
    channel: str
    dedupe_key: str
    inbound: Inbound


@dataclass(frozen=True)
class OutboundMessage:
    """A reply (or any message) to deliver to one chat of one channel."""

    channel: str
    chat: str
    payload: dict[str, Any]  # Reply.to_dict() plus channel hints
    conversation: str | None = None
    priority: int = 0  # within a chat, a higher one goes first (a new case ahead of relays)


# one outbound message as the platform's messages, applied as messages enter the outbox
Split = Callable[[Sequence[OutboundMessage]], list[OutboundMessage]]


@dataclass(frozen=True)
class OutboxRow:
    id: int
    message: OutboundMessage
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class TimerRow:
    id: int
    conversation: ConversationKey
    name: str
    due: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class Group:
    """A group chat the bot speaks to on its own: a WeCom robot or app chat, a Telegram group."""

    name: str
    channel: str  # wecom | telegram
    kind: str  # wecom_robot | wecom_appchat | telegram_group
    address: str  # robot webhook key, app chat id, Telegram chat id
    subscribed: bool = True
    created_at: datetime | None = None

    @property
    def chat(self) -> str:
        """The outbox chat for this group: names the group, never its secret (a robot key)."""
        return f"group:{self.name}"


class GroupExists(Exception):
    pass


@dataclass(frozen=True)
class Outage:
    id: int
    system: str
    summary: str
    region: str | None
    until: str | None
    link: str | None
    started_at: datetime
    updated_at: datetime
    resolved_at: datetime | None = None
    next_update_at: datetime | None = None  # promised in the last notice
    overdue_told_at: datetime | None = None  # when the promise passing unkept was told
    components: tuple[str, ...] = ()  # the playbook's component ids; none: the whole system


@dataclass(frozen=True)
class Subscription:
    """A person who wants outage notices in their own chat: for these components (none: all) and
    this province (none: everywhere)."""

    user: str  # "channel:user"
    channel: str
    chat: str
    components: tuple[str, ...] = ()
    region: str | None = None


@dataclass(frozen=True)
class Maintenance:
    """An announced maintenance window: it opens as an outage at starts_at and closes at ends_at."""

    id: int
    system: str
    summary: str
    components: tuple[str, ...]
    region: str | None
    starts_at: datetime
    ends_at: datetime
    quiet: bool  # the automatic start and end are not announced (the schedule and the reminder are)
    reminded_at: datetime | None = None
    outage_id: int | None = None
    ended_at: datetime | None = None


@dataclass(frozen=True)
class Alert:
    """Many more people than usual describe one symptom: an outage the admins have not declared?"""

    id: int
    symptom: str
    opened_at: datetime
    reports: int  # distinct people in the window
    usual: float  # people in a window of that length, on average over the days before
    samples: tuple[str, ...]
    closed_at: datetime | None = None
    outage_id: int | None = None


class OutageConflict(Exception):
    """A system has at most one open outage."""


@dataclass(frozen=True)
class Reminder:
    id: int
    kind: str  # plan (while an outage is open) | checklist (after recovery) | adhoc
    channel: str
    chat: str  # the outbox chat: a Telegram chat id or group:NAME
    text: str
    next_at: datetime
    every_s: float | None = None
    working_hours: bool = False
    outage_id: int | None = None
    created_by: str | None = None
    fired_count: int = 0


@dataclass(frozen=True)
class Case:
    """A conversation handed over to a person."""

    id: int
    conversation: str  # the user's ConversationKey, as text
    status: str  # queued | claimed | closed
    summary: str
    agent: str | None  # channel:user of the agent who claimed it
    agent_name: str | None
    created_at: datetime
    claimed_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class InvoiceRecord:
    """An invoice issued or received while the system was down (the article's manual record)."""

    id: int
    user: str  # channel:user
    number: str
    amount: str
    issued_on: str
    counterparty: str
    created_at: datetime


@dataclass(frozen=True)
class Turn:
    """Everything one processed inbox row changes, committed together."""

    inbox_id: int
    key: ConversationKey
    state: ConversationState
    outbound: Sequence[OutboundMessage] = ()
    timers: Sequence[tuple[str, datetime, dict[str, Any]]] = ()  # (name, due, payload)
    cancel_timers: Sequence[str] = ()
    said: str | None = None  # for the transcript: the user's words or choice
    answer: str | None = None  # … and the bot's answer: the node reached, or the text sent
    records: Sequence[tuple[str, str, str, str]] = ()  # (number, amount, issued_on, counterparty)
    region: str | None = None  # remember where the user is
    feedback: Sequence[tuple[str | None, str | None, str, int, int]] = ()  # symptom, cause, outcome, done, skipped
    reports: Sequence[tuple[str, str]] = ()  # (symptom, masked words): a symptom described
    subscription: tuple[tuple[str, ...], str | None] | None = None  # (components, region) wanted here
    forget: bool = False  # delete everything stored about this user first


@dataclass(frozen=True)
class Sent:
    id: int
    ref: str | None = None  # the platform's id of the sent message
    keep: bool = False  # keep the row (with ref) after sending: replies to a case message find it


@dataclass(frozen=True)
class Retry:
    id: int
    at: datetime
    error: str


@dataclass(frozen=True)
class Failed:
    id: int
    error: str


class Store(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...

    async def accept(self, channel: str, dedupe_key: str, inbound: Inbound) -> int | None:
        """Record an inbound message; None when this (channel, dedupe_key) was seen before."""

    async def accept_many(self, messages: Sequence[tuple[str, str, Inbound]]) -> list[int | None]:
        """accept() for several messages in one transaction."""

    async def unfinished(self, limit: int = 100) -> list[InboxRow]:
        """Inbox rows not yet processed, oldest first."""

    async def load(self, key: ConversationKey) -> ConversationState | None: ...

    async def load_many(self, keys: Sequence[ConversationKey]) -> dict[str, ConversationState]: ...

    async def commit(self, turn: Turn, now: datetime) -> None: ...

    async def commit_many(self, turns: Sequence[Turn], now: datetime) -> None:
        """Several turns in one transaction, in order."""

    async def unsent(self, channel: str, chat: str, limit: int = 100) -> list[OutboxRow]: ...

    async def pending(self, channel: str, now: datetime, limit: int = 100, chat: str | None = None) -> list[OutboxRow]:
        """The oldest unsent row of each chat, when it is due, oldest first (so order holds per chat)."""

    async def mark_sent(self, outbox_id: int, now: datetime, sent_ref: str | None = None, keep: bool = False) -> None:
        """Delivered: the row goes, unless `keep` (then it stays with the platform's id, `sent_ref`)."""

    async def settle(self, outcomes: Sequence[Sent | Retry | Failed], now: datetime) -> None:
        """Record what became of several sends in one transaction."""

    async def unsent_tagged(self, channel: str, chat: str, tag: str, after: int, limit: int) -> list[OutboxRow]:
        """Unsent rows of one chat carrying `payload["merge"] == tag`, after row `after`, oldest first."""

    async def mark_in_flight(self, ids: Sequence[int], now: datetime) -> None:
        """These group sends are about to be made (a retry clears the mark)."""

    async def set_aside_interrupted(self, channel: str, now: datetime) -> int:
        """Fail, unrepeated, the group sends a dead process had in flight; returns how many."""

    async def mark_retry(self, outbox_id: int, retry_at: datetime, error: str) -> None: ...

    async def mark_failed(self, outbox_id: int, now: datetime, error: str) -> None:
        """Give up on a row that can never be delivered (it stays, with its error, for inspection)."""

    async def enqueue(self, messages: Sequence[OutboundMessage], now: datetime) -> None:
        """Outbox rows that no inbound message caused (the CLI's group messages)."""

    async def add_group(self, group: Group, now: datetime) -> None:
        """Raises GroupExists for a name or address already registered."""

    async def remove_group(self, name: str) -> bool: ...

    async def groups(self) -> list[Group]: ...

    async def group(self, name: str) -> Group | None: ...

    async def due_timers(self, now: datetime, limit: int = 100) -> list[TimerRow]: ...

    async def fire(self, timer: TimerRow, inbound: Inbound) -> int | None:
        """Turn a due timer into an inbox row, once: None if it already fired."""


class SchemaTooNew(Exception):
    """The database was written by a newer outage-bot."""


class StoreUnavailable(Exception):
    """The database can't be used: a file missing where it must exist, not a file, not SQLite; a
    server that can't be reached or refuses us."""


class ClaimLost(Exception):
    """The conversation was taken over by another worker (this one's lease ran out): the turn is
    rolled back, and the other worker's stands."""
