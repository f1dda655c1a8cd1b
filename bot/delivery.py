"""How a channel tells the sender that a message could not be delivered (yet)."""

from __future__ import annotations


class DeliveryError(Exception):
    """Base class: the message was not delivered."""


class RetryLater(DeliveryError):
    """The platform asked us to wait (rate limit, temporary failure); the outbox row is retried."""

    def __init__(self, seconds: float, reason: str):
        super().__init__(f"retry in {seconds:g}s: {reason}")
        self.seconds = seconds
        self.reason = reason


class Undeliverable(DeliveryError):
    """The message can never be delivered (chat gone, bot blocked, malformed); it is set aside."""


class MaybeDelivered(DeliveryError):
    """The request went out but its answer never came (a read timeout, a dropped connection): the
    platform may have delivered it. A group (robot, app chat, Telegram group) has no duplicate check,
    so such a send to a group is not repeated; a send to a person is."""


GROUP_PREFIX = "group:"  # outbox chats that are groups the bot speaks to on its own


def to_group(chat: str) -> bool:
    return chat.startswith(GROUP_PREFIX)
