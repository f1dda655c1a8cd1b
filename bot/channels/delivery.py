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
