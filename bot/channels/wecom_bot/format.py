"""The intelligent bot's idiom: markdown up to 20480 bytes a message, options as a template card's
buttons (button_interaction, at most six), more options than fit as numbered lines to type.

Applied as a message enters the outbox (one payload → its parts), so a retry never resends a part
already delivered and a card keeps its task_id.
"""

from __future__ import annotations

import uuid
from typing import Any

from bot.channels.wecom_app.format import split_bytes
from bot.ports import ANYONE

MAX_MARKDOWN_BYTES = 20480
MENTION_ROOM = 160  # bytes kept free for naming the member in a group
MAX_BUTTONS = 6
MAX_KEY_BYTES = 1024
CHOOSE = {"zh": "请选择", "en": "Choose one"}
CHOSEN = {"zh": "已选择", "en": "Chosen"}
REPLY_WITH = {"zh": "回复数字选择：", "en": "Reply with a number:"}
SEP = "|"  # button key: owner|option key|label (labels may hold "|": it is split twice only)


def button_key(owner: str, key: str, label: str) -> str:
    return f"{owner}{SEP}{key}{SEP}{label}"


def parse_button_key(value: str) -> tuple[str, str, str] | None:
    parts = value.split(SEP, 2)
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 and parts[0] and parts[1] else None


def numbered(options: list[dict[str, Any]], lang: str) -> str:
    lines = [f"{i}. {option['label']}" for i, option in enumerate(options, 1)]
    return f"{REPLY_WITH.get(lang, REPLY_WITH['zh'])}\n" + "\n".join(lines)


def card(options: list[dict[str, Any]], owner: str, lang: str, task_id: str) -> dict[str, Any] | None:
    """A button_interaction card for the options, or None when they don't fit one."""
    keys = [button_key(owner, o["key"], o["label"]) for o in options]
    if not 0 < len(options) <= MAX_BUTTONS or any(len(k.encode()) > MAX_KEY_BYTES for k in keys):
        return None
    return {
        "card_type": "button_interaction",
        "main_title": {"title": CHOOSE.get(lang, CHOOSE["zh"])},
        "button_list": [{"text": o["label"], "style": 1, "key": k} for o, k in zip(options, keys, strict=True)],
        "task_id": task_id,
    }


def chosen_card(pressed: dict[str, Any], label: str, lang: str) -> dict[str, Any]:
    """The card after a press: the choice shown, the other buttons gone."""
    return {
        "card_type": "button_interaction",
        "main_title": {"title": CHOSEN.get(lang, CHOSEN["zh"]), "desc": label},
        "button_list": [{"text": label, "style": 2, "key": pressed.get("event_key") or label}],
        "task_id": pressed.get("task_id") or uuid.uuid4().hex,
    }


def split_payload(payload: dict[str, Any]) -> list[dict[str, Any]]:
    text = payload.get("text") or "…"
    options = payload.get("options") or []
    lang = payload.get("lang") or "zh"
    owner = str(payload.get("user") or ANYONE)  # no user: a notice anyone in the chat may answer
    buttons = card(options, owner, lang, uuid.uuid4().hex) if options else None
    if options and buttons is None:
        text = f"{text}\n\n{numbered(options, lang)}"
    parts = [
        {**payload, "msgtype": "markdown", "content": part}
        for part in split_bytes(text, MAX_MARKDOWN_BYTES - MENTION_ROOM)
    ]
    if buttons is not None:
        parts.append({**payload, "msgtype": "template_card", "template_card": buttons})
    return parts


def as_text(part: dict[str, Any]) -> str:
    """A part as plain markdown, where a card can't go (a stream, a welcome, a response_url)."""
    if part.get("msgtype") == "template_card":
        buttons = part["template_card"]["button_list"]
        labels = [{"label": b["text"]} for b in buttons]
        return numbered(labels, part.get("lang") or "zh")
    return part.get("content") or part.get("text") or ""
