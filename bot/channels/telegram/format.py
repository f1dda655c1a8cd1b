"""Telegram's idiom: HTML-escaped text, inline keyboards, callback data, message length."""

from __future__ import annotations

import html
from typing import Any

MAX_TEXT = 4096  # UTF-16 code units, as Telegram counts them
MAX_CALLBACK_DATA = 64  # bytes
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int) -> str:
    sign, number = ("-", -number) if number < 0 else ("", number)
    digits = ""
    while True:
        number, rest = divmod(number, 36)
        digits = _DIGITS[rest] + digits
        if number == 0:
            return sign + digits


def callback_data(owner: str, key: str) -> str:
    """`owner|key`: whose conversation a button belongs to, and the option it picks. The owner is
    the Telegram user id in base 36 so that the longest option key still fits in 64 bytes."""
    return _with_owner(_base36(int(owner)), key)


def _with_owner(owner36: str, key: str) -> str:
    data = f"{owner36}|{key}"
    if len(data) * 4 > MAX_CALLBACK_DATA and len(data.encode()) > MAX_CALLBACK_DATA:
        raise ValueError(f"callback data over {MAX_CALLBACK_DATA} bytes: {data!r}")
    return data


def parse_callback_data(data: str) -> tuple[int, str] | None:
    """(owner user id, option key), or None for data we didn't make."""
    owner, sep, key = data.partition("|")
    if not sep or not key:
        return None
    try:
        return int(owner, 36), key
    except ValueError:
        return None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split at paragraph, then line, then character boundaries so no part exceeds `limit`."""
    if len(text) * 2 <= limit or utf16_len(text) <= limit:  # a character is at most two UTF-16 units
        return [text]
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        candidate = f"{current}{piece}"
        if utf16_len(candidate) > limit and current:
            parts.append(current.rstrip("\n"))
            current = piece
        else:
            current = candidate
    if current.strip():
        parts.append(current.rstrip("\n"))
    return parts


def _pieces(text: str, limit: int) -> list[str]:
    pieces = []
    for line in text.splitlines(keepends=True):
        while utf16_len(line) > limit:  # a single over-long line: cut it
            cut = limit
            while utf16_len(line[:cut]) > limit:
                cut -= 1
            pieces.append(line[:cut])
            line = line[cut:]
        pieces.append(line)
    return pieces


def split_payload(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One outbox payload per Telegram message: long text in parts, the options on the last part.
    Split when the turn is committed, so a retry never resends a part that was already delivered."""
    parts = split_text(payload.get("text") or "…")
    if len(parts) == 1:
        return [payload]
    return [
        {**payload, "text": part, "options": payload.get("options") if last else []}
        for last, part in ((i == len(parts) - 1, part) for i, part in enumerate(parts))
    ]


def to_message(payload: dict[str, Any], owner: str) -> dict[str, Any]:
    """sendMessage arguments: escaped HTML text and an inline keyboard of the options."""
    message: dict[str, Any] = {"text": html.escape(payload.get("text") or "…", quote=False), "parse_mode": "HTML"}
    options = payload.get("options") or []
    if options:
        owner36 = _base36(int(owner))
        message["inline_keyboard"] = [
            [{"text": option["label"], "callback_data": _with_owner(owner36, option["key"])}] for option in options
        ]
    return message
