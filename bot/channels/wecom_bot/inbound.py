"""Callbacks of the intelligent bot (long connection or HTTP, the same JSON body) → Inbound.

In a group only @-mentions reach the bot, and the text keeps the mention ("@发票助手 查不到"): it is
taken off. Each member has a conversation of their own (chat id + user id); a one-to-one chat's id
is the user's. The message id is the dedupe key, across restarts (the inbox keeps it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.channels.wecom_bot.files import attachment_of
from bot.channels.wecom_bot.format import parse_button_key
from bot.engine.types import ConversationKey, Inbound
from bot.ports import ANYONE

CHANNEL = "wecom_bot"
MAX_TEXT_BYTES = 4096
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\S+)+\s*")


@dataclass(frozen=True)
class Callback:
    """What a callback body says, checked: who, where, and what kind."""

    msgid: str
    chat: str
    user: str
    group: bool
    msgtype: str
    body: dict[str, Any]

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(CHANNEL, self.chat, self.user)

    @property
    def event(self) -> dict[str, Any]:
        event = self.body.get("event")
        return event if isinstance(event, dict) else {}

    @property
    def eventtype(self) -> str:
        return str(self.event.get("eventtype") or "")

    @property
    def pressed(self) -> dict[str, Any]:
        """A template_card_event's details (event_key, task_id), or {}."""
        pressed = self.event.get("template_card_event")
        return pressed if isinstance(pressed, dict) else {}

    def own_press(self) -> tuple[str, str] | None:
        """(option key, label) of the button pressed, when the card is the presser's or anyone's;
        None for someone else's card in a group, or a key that isn't one of ours."""
        parsed = parse_button_key(str(self.pressed.get("event_key") or ""))
        if parsed is None or parsed[0] not in (ANYONE, self.user):
            return None
        return parsed[1], parsed[2]


class NotACallback(ValueError):
    pass


def read_callback(body: Any) -> Callback:
    if not isinstance(body, dict):
        raise NotACallback("body is not an object")
    sender = body.get("from")
    user = sender.get("userid") if isinstance(sender, dict) else None
    msgid, msgtype = body.get("msgid"), body.get("msgtype")
    if not (isinstance(user, str) and user and isinstance(msgid, str) and msgid and isinstance(msgtype, str)):
        raise NotACallback("a callback needs msgid, msgtype and from.userid")
    group = body.get("chattype") == "group"
    chat = body.get("chatid") if group else user
    if not isinstance(chat, str) or not chat:
        raise NotACallback("a group callback needs its chatid")
    return Callback(msgid, chat[:128], user[:128], group, msgtype, body)


def _cut(text: str) -> str:
    return text.encode("utf-8")[:MAX_TEXT_BYTES].decode("utf-8", "ignore")


def text_of(callback: Callback) -> str | None:
    """The words of a message (text, voice as its transcript, the text items of a mixed one)."""
    body = callback.body
    kind = callback.msgtype
    if kind == "text":
        content = (body.get("text") or {}).get("content")
    elif kind == "voice":
        content = (body.get("voice") or {}).get("content")
    elif kind == "mixed":
        items = (body.get("mixed") or {}).get("msg_item") or []
        texts = [i.get("text") for i in items if isinstance(i, dict) and i.get("msgtype") == "text"]
        content = " ".join(str(t.get("content") or "") for t in texts if isinstance(t, dict))
    else:
        return None
    if not isinstance(content, str):
        return None
    if callback.group:
        content = _LEADING_MENTIONS.sub("", content, count=1)
    return _cut(content.strip())


def to_inbound(callback: Callback, ref: str, now: datetime) -> Inbound | None:
    """The Inbound for a message or event callback, or None when it starts nothing."""
    key = callback.key
    if callback.msgtype == "event":
        if callback.eventtype == "enter_chat":
            return Inbound(key, now, text="", ref=ref)
        if callback.eventtype == "template_card_event":
            press = callback.own_press()
            return Inbound(key, now, choice=press[0], ref=ref, user_name=callback.user) if press else None
        return None
    text = text_of(callback)
    attachment = attachment_of(callback.body, callback.msgtype) if not text else None
    if attachment is not None:
        return Inbound(key, now, payload={"attachment": attachment}, ref=ref, user_name=callback.user)
    if text is None:
        return Inbound(key, now, payload={"unsupported": callback.msgtype}, ref=ref, user_name=callback.user)
    return Inbound(key, now, text=text, ref=ref, user_name=callback.user)
