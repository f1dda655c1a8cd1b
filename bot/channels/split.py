"""One outbound message as the platform's messages: Telegram's 4096 characters, WeCom's 2048 bytes.

Applied as a message enters the outbox (SqliteStore.enqueue), whatever put it there (a reply, a
broadcast, a reminder, a relay), so that a retry never resends a part already delivered.
"""

from __future__ import annotations

from bot.channels import telegram_format, wecom_format
from bot.store.base import OutboundMessage

SPLITTERS = {"telegram": telegram_format.split_payload, "wecom": wecom_format.split_payload}


def split(messages: list[OutboundMessage] | tuple[OutboundMessage, ...]) -> list[OutboundMessage]:
    parts = []
    for message in messages:
        splitter = SPLITTERS.get(message.channel)
        if splitter is None:
            parts.append(message)
            continue
        parts.extend(
            OutboundMessage(message.channel, message.chat, payload, message.conversation, message.priority)
            for payload in splitter(message.payload)
        )
    return parts
