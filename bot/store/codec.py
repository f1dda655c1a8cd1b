"""JSON encoding of the values the store keeps, and time as epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from bot.engine.types import ConversationKey, Inbound


def to_epoch(moment: datetime) -> float:
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def from_epoch_or_none(seconds: float | None) -> datetime | None:
    return from_epoch(seconds) if seconds is not None else None


def dumps(value: Any) -> str:
    """Compact JSON in UTF-8 (orjson: every message's state, inbox and outbox rows pass here; a few
    times the standard library's speed). Keys that aren't strings are written as strings, as json does."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def encode_inbound(inbound: Inbound) -> str:
    return dumps(
        {
            "key": str(inbound.key),
            "at": inbound.at.isoformat(),
            "text": inbound.text,
            "choice": inbound.choice,
            "kind": inbound.kind,
            "payload": dict(inbound.payload) if inbound.payload is not None else None,
            "lang_hint": inbound.lang_hint,
            "ref": inbound.ref,
            "chat_title": inbound.chat_title,
            "reply_to": inbound.reply_to,
            "user_name": inbound.user_name,
        }
    )


def decode_inbound(text: str) -> Inbound:
    data = loads(text)
    return Inbound(
        key=ConversationKey.parse(data["key"]),
        at=datetime.fromisoformat(data["at"]),
        text=data.get("text"),
        choice=data.get("choice"),
        kind=data.get("kind", "message"),
        payload=data.get("payload"),
        lang_hint=data.get("lang_hint"),
        ref=data.get("ref"),
        chat_title=data.get("chat_title"),
        reply_to=data.get("reply_to"),
        user_name=data.get("user_name"),
    )
