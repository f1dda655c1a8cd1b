"""What the runtime, the features and the web app know of a platform, and what a channel is given.

A platform is one folder under bot/channels/ exporting PLATFORM (a Platform below); the registry
lists them. Nothing outside a platform's folder names it: the rest of the bot asks these ports.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.routing import BaseRoute

from bot.engine.types import ConversationKey, Inbound
from bot.runtime.clock import Clock
from bot.store.base import OutboundMessage

ANYONE = "0"  # a button any member of a shared support chat may press


class Channel(Protocol):
    """A running platform connection: takes messages in, delivers the outbox's messages out."""

    name: str
    exclusive: bool  # its start() takes what only one process may hold (a long poll, a long connection)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def healthy(self) -> bool: ...

    def routes(self) -> list[BaseRoute]: ...

    async def deliver(self, message: OutboundMessage) -> str | None:
        """Send one outbox message; the platform's id of it, if it has one. Raises a DeliveryError."""

    # A channel that receives photos and files also has
    #     async def fetch(self, attachment: Mapping[str, Any]) -> bytes
    # for the attachment its Inbound named (payload["attachment"]); it raises FetchFailed or
    # FileTooLarge (bot.runtime.attachments). Every worker may call it, leading or not.


Submit = Callable[[str, str, Inbound], Awaitable[Any]]


@dataclass
class ChannelHost:
    """What a running channel is given, instead of the whole application."""

    settings: Any
    clock: Clock
    store: Any  # groups by name or address, and the platform's own rows (stream replies)
    submit: Submit  # (channel, dedupe id, inbound) → accepted or None (a duplicate); committed on return
    on_accept: Callable[[], None] = lambda: None  # wake the worker

    async def accept(self, channel: str, dedupe: str, inbound: Inbound) -> bool:
        accepted = await self.submit(channel, dedupe, inbound) is not None
        if accepted:
            self.on_accept()
        return accepted


@dataclass(frozen=True)
class SupportDesk:
    """Where support cases are announced: a shared chat of agents (any member may claim; a reply
    to a case message answers that case) or one agent's own chat."""

    channel: str
    chat: str
    user: str  # who may press its buttons: ANYONE in a shared chat
    shared: bool


@dataclass(frozen=True)
class GroupKind:
    """A group the CLI registers by address (`outage-bot groups add --FLAG ADDRESS`)."""

    kind: str  # as stored in Group.kind
    flag: str
    metavar: str
    help: str
    pattern: re.Pattern[str]
    refusal: str  # what to say when the address doesn't match
    secret: bool = False  # the address is a credential: listings show only its start


class Report(Protocol):
    def ok(self, text: str) -> None: ...

    def bad(self, text: str, fix: str) -> None: ...

    def note(self, text: str) -> None: ...


def _nobody(settings: Any, key: ConversationKey) -> bool:
    return False


def _no_desks(settings: Any) -> list[SupportDesk]:
    return []


@dataclass(frozen=True)
class Platform:
    name: str  # the channel's name in conversation keys and outbox rows
    title: str  # for people
    configured: Callable[[Any], bool]
    needs: str = ""  # which settings turn it on, for "no channel is configured"
    settings: type | None = None  # a pydantic model whose fields join Settings
    connect: Callable[[Any, ChannelHost], Channel] | None = None  # the running channel (imports lazily)
    split: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None  # one payload → the platform's messages
    admins: Callable[[Any, ConversationKey], bool] = _nobody
    admin_chats: Callable[[Any], list[str]] = lambda settings: []  # the admins' one-to-one chats
    desks: Callable[[Any], list[SupportDesk]] = _no_desks
    buttons: bool = True  # options are pressed, not typed as numbers
    # options of a message that is no question (an alert's "declare") can be pressed: not where they
    # show as numbered lines, whose typed number answers the conversation's own question instead
    presses_anywhere: bool = True
    chat_group_kind: str | None = None  # what /subscribe in one of its group chats registers
    reminds_in_chat: bool = True  # a reminder may be set for the chat it is asked in
    group_kinds: tuple[GroupKind, ...] = field(default=())
    doctor: Callable[[Any, Any, Report], Awaitable[None]] | None = None  # (settings, http client or None, report)
