"""Every platform the bot knows, by name: the one place that lists them.

Adding a platform is one folder exporting PLATFORM and one line here.
"""

from __future__ import annotations

from typing import Any

from bot.channels import console, telegram, wecom_app, wecom_bot
from bot.engine.types import ConversationKey
from bot.ports import Channel, ChannelHost, GroupKind, Platform, SupportDesk
from bot.store.base import OutboundMessage

PLATFORMS: dict[str, Platform] = {
    p.name: p for p in (console.PLATFORM, telegram.PLATFORM, wecom_app.PLATFORM, wecom_bot.PLATFORM)
}
SETTINGS_MODELS = tuple(p.settings for p in PLATFORMS.values() if p.settings is not None)
GROUP_KINDS: dict[str, tuple[str, GroupKind]] = {
    kind.kind: (p.name, kind) for p in PLATFORMS.values() for kind in p.group_kinds
}


# what a reply carries for the console's JSON lines and tests, and no platform's message shows: not
# written into the outbox, where every row is encoded once and read back once
NOT_SHOWN = frozenset(("causes", "state", "symptom"))


def split(messages: list[OutboundMessage] | tuple[OutboundMessage, ...]) -> list[OutboundMessage]:
    """Each message as its platform's messages (length limits, options as text), applied as it enters
    the outbox, whatever put it there, so that a retry never resends a part already delivered."""
    parts = []
    for message in messages:
        platform = PLATFORMS.get(message.channel)
        if platform is None or platform.split is None:
            parts.append(message)
            continue
        shown = {k: v for k, v in message.payload.items() if k not in NOT_SHOWN}
        parts.extend(
            OutboundMessage(message.channel, message.chat, payload, message.conversation, message.priority)
            for payload in platform.split(shown)
        )
    return parts


def configured(settings: Any) -> list[Platform]:
    return [p for p in PLATFORMS.values() if p.connect is not None and p.configured(settings)]


def connect(settings: Any, host: ChannelHost) -> list[Channel]:
    return [p.connect(settings, host) for p in configured(settings)]


class Rules:
    """The platforms' rules as the features ask them, by channel name."""

    def __init__(self, settings: Any):
        self.settings = settings
        self.desks: list[SupportDesk] = [d for p in PLATFORMS.values() for d in p.desks(settings)]

    def _platform(self, channel: str) -> Platform | None:
        return PLATFORMS.get(channel)

    def admin_chats(self) -> list[tuple[str, str]]:
        """(channel, chat) of each admin's one-to-one chat, on the platforms configured."""
        return [
            (p.name, chat)
            for p in PLATFORMS.values()
            if p.configured(self.settings)
            for chat in p.admin_chats(self.settings)
        ]

    def is_admin(self, key: ConversationKey) -> bool:
        platform = self._platform(key.channel)
        return platform is not None and platform.admins(self.settings, key)

    def buttons(self, channel: str) -> bool:
        platform = self._platform(channel)
        return platform is not None and platform.buttons

    def presses_anywhere(self, channel: str) -> bool:
        platform = self._platform(channel)
        return platform is not None and platform.presses_anywhere

    def chat_group_kind(self, channel: str) -> str | None:
        platform = self._platform(channel)
        return platform.chat_group_kind if platform is not None else None

    def reminds_in_chat(self, channel: str) -> bool:
        platform = self._platform(channel)
        return platform is None or platform.reminds_in_chat
