"""WeCom's idiom: plain text, options as numbered lines to reply with, at most 2048 bytes a message."""

from __future__ import annotations

from typing import Any

MAX_TEXT_BYTES = 2048  # app messages, app chats and robot text
MAX_MARKDOWN_BYTES = 4096  # robot markdown
REPLY_WITH = {"zh": "回复数字选择：", "en": "Reply with a number:"}


def render(payload: dict[str, Any]) -> str:
    text = payload.get("text") or "…"
    options = payload.get("options") or []
    if not options:
        return text
    lang = payload.get("lang") or "zh"
    lines = [f"{i}. {option['label']}" for i, option in enumerate(options, 1)]
    return f"{text}\n\n{REPLY_WITH.get(lang, REPLY_WITH['zh'])}\n" + "\n".join(lines)


def split_bytes(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """Split at line boundaries (or inside an over-long line) so no part exceeds `limit` UTF-8 bytes."""
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:
            cut = limit
            while len(line[:cut].encode()) > limit:
                cut -= 1
            if current:
                parts.append(current.rstrip("\n"))
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > limit:
            parts.append(current.rstrip("\n"))
            current = line
        else:
            current += line
    if current.strip() or not parts:
        parts.append(current.rstrip("\n"))
    return parts


def split_payload(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One outbox payload per WeCom message, already rendered (`content`), split when committed so a
    retry never resends a part that was delivered."""
    return [{**payload, "content": part} for part in split_bytes(render(payload))]
