"""The console channel: a terminal chat, or one message per input line when piped.

Plain text shows options as numbered lines; `--jsonl` prints each bot message as one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from bot.app import App  # the chat runs in-process, on the whole application
from bot.engine.types import ConversationKey, Inbound
from bot.i18n import Lang
from bot.invoices.reader import MAX_FILE_BYTES
from bot.runtime.attachments import FetchFailed, FileTooLarge
from bot.runtime.scheduler import fire_due

CHANNEL = "console"  # PLATFORM.name
FILE_COMMAND = "/file"
FIRST_HINT = (
    "提示：直接描述问题；选择时输入选项前的编号；/file 路径 发送发票的照片、PDF 或 OFD 文件；/help 查看命令。\n"
    "Tip: describe the problem; to choose, type an option's number; /file PATH sends a photo, PDF or OFD file "
    "of an invoice; /help lists the commands.\n"
)


def format_plain(payload: dict[str, Any]) -> str:
    lines = [payload["text"]]
    options = payload.get("options") or []
    if options:
        lines.append("")
        lines.extend(f"  {i}. {o['label']}" for i, o in enumerate(options, 1))
    return "\n".join(lines)


# Line ends that json.dumps leaves raw but str.splitlines() and other readers split on: escaped, so one record
# stays one line whatever the user typed (the text may echo their words).
_LINE_ENDS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


def format_jsonl(payload: dict[str, Any]) -> str:
    keep = ("text", "options", "state", "symptom", "causes")
    return json.dumps({k: payload.get(k) for k in keep}, ensure_ascii=False).translate(_LINE_ENDS)


async def read_local_file(attachment: Mapping[str, Any]) -> bytes:
    """The file `/file PATH` names: the console's user is on this machine, and may read it anyway."""
    path = Path(str(attachment.get("path") or "")).expanduser()
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FileTooLarge(f"{path}: {path.stat().st_size} bytes")
        with path.open("rb") as stream:
            return await asyncio.to_thread(stream.read, MAX_FILE_BYTES + 1)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise FetchFailed(f"{path}: {why}", (f"无法读取文件 {path}：{why}", f"Can't read {path}: {why}")) from None


class ConsoleChat:
    def __init__(self, app: App, user: str, lang: Lang | None, jsonl: bool, out: TextIO):
        self.app, self.lang, self.jsonl, self.out = app, lang, jsonl, out
        self.key = ConversationKey(CHANNEL, user, user)
        app.dispatcher.attachments.fetchers[CHANNEL] = read_local_file

    async def say(self, text: str) -> None:
        """Handle one user message: persist, process, print what the bot says. `/file PATH` sends
        the file at PATH, as a photo or file is sent in a chat app."""
        if text.strip().lower().startswith(FILE_COMMAND):
            path = text.strip()[len(FILE_COMMAND) :].strip().strip("'\"")
            attachment = {"path": path, "name": Path(path).name}
            inbound = Inbound(self.key, self.app.clock.now(), payload={"attachment": attachment}, lang_hint=self.lang)
        else:
            inbound = Inbound(self.key, self.app.clock.now(), text=text, lang_hint=self.lang)
        await self.app.dispatcher.submit(CHANNEL, uuid.uuid4().hex, inbound)
        await self.deliver()

    async def deliver(self) -> int:
        """Process what is waiting (inbox, due timers) and print this chat's unsent messages."""
        await fire_due(self.app.store, self.app.clock)
        await self.app.dispatcher.drain()
        printed = 0
        while rows := await self.app.store.pending(CHANNEL, self.app.clock.now(), chat=self.key.chat):
            for row in rows:
                text = format_jsonl(row.message.payload) if self.jsonl else format_plain(row.message.payload)
                self.out.write(text + "\n" + ("" if self.jsonl else "\n"))
                self.out.flush()
                await self.app.store.mark_sent(row.id, self.app.clock.now())
                printed += 1
        return printed

    async def run(self, stream: TextIO, interactive: bool) -> None:
        if interactive:
            self.out.write("outage-bot — 输入消息开始（Ctrl-D 退出）/ type a message to start (Ctrl-D quits)\n")
            if await self.app.store.load(self.key) is None:  # the first time: how this works
                self.out.write(FIRST_HINT)
            self.out.write("\n")
        while True:
            if interactive:
                self.out.write("> ")
                self.out.flush()
            line = await asyncio.to_thread(stream.readline)
            if not line:
                break
            text = line.rstrip("\r\n")
            if text.strip():
                await self.say(text)
