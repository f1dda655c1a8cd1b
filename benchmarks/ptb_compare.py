"""Ours against what a python-telegram-bot user would write for the same conversation.

The baseline is a ConversationHandler with PicklePersistence: one state per question, the same
question texts and option buttons as the invoice playbook gives for this conversation (taken from
our engine's replies, so its answers cost it nothing to compute). Both are fed the same webhook
bodies and stop where the reply is handed to the HTTP client: a stub of python-telegram-bot's
request class answers every Bot API call at once, for both.

    ours:  body → TelegramChannel.receive_body (parse, commit to the SQLite inbox) → engine → SQLite
           commit → outbox → sender → Bot.send_message → stub
    PTB:   body → Update.de_json → Application.process_update → ConversationHandler → send_message → stub

Neither side limits its sending rate here (PTB's baseline has no limiter; ours is switched off).
PicklePersistence keeps its defaults: a running Application writes it every 60 s and at shutdown,
and with one file, each changed user's data rewrites the whole file; the baseline's time includes one
such write at the end. Its time without that write is reported too (`ptb_in_memory_msgs_per_s`): it
is what PTB does when nothing is written, so nothing survives a crash.
Updates arrive in rounds, each user's next message one round later, all of a round at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from loadgen import SCRIPT
from platform_limits import BOT, TOKEN
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, ContextTypes, ConversationHandler, MessageHandler, PicklePersistence, filters
from telegram.request import BaseRequest, RequestData

from bot.app import open_app
from bot.channels.console.chat import ConsoleChat
from bot.channels.telegram.channel import TelegramChannel
from bot.config import Settings
from bot.runtime.heap import started_objects_frozen
from bot.runtime.sender import Sender


class InstantTelegram(BaseRequest):
    """Answers every Bot API call at once, as Telegram would: the HTTP client's end of the line."""

    def __init__(self):
        self.sent = 0
        self._ids = iter(range(1, 10**9))

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float:
        return 5.0

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None, **_: Any):
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data is not None else {}
        if name == "getMe":
            result: Any = BOT
        elif name == "sendMessage":
            self.sent += 1
            chat = int(params["chat_id"])
            result = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "text": params.get("text", ""),
                "from": BOT,
                "chat": {"id": chat, "type": "private"},
            }
        else:
            result = True
        return 200, json.dumps({"ok": True, "result": result}).encode()


def updates(users: int) -> list[list[bytes]]:
    """Webhook bodies, round by round: in round k every user sends SCRIPT[k]."""
    rounds, update_id = [], 1
    for text in SCRIPT:
        bodies = []
        for user in range(users):
            uid = 10_000 + user
            message = {
                "message_id": update_id,
                "date": int(time.time()),
                "text": text,
                "from": {"id": uid, "is_bot": False, "first_name": "U", "language_code": "zh-hans"},
                "chat": {"id": uid, "type": "private"},
            }
            bodies.append(json.dumps({"update_id": update_id, "message": message}).encode())
            update_id += 1
        rounds.append(bodies)
    return rounds


async def conversation_texts(workdir: Path) -> list[dict]:
    """What our engine says at each turn of SCRIPT: the baseline asks exactly the same."""
    app = await open_app(Settings(OUTAGE_BOT_DB=workdir / "texts.db"))
    said: list[dict] = []

    class Collect:
        def write(self, text: str) -> None:
            if text.strip():
                said.append(json.loads(text))

        def flush(self) -> None:
            pass

    chat = ConsoleChat(app, "texts", "zh", True, Collect())
    for text in SCRIPT:
        await chat.say(text)
    await app.close()
    return said


def baseline_application(texts: list[dict], workdir: Path, request: InstantTelegram) -> Application:
    """The conversation as a python-telegram-bot user writes it."""

    def keyboard(turn: int) -> InlineKeyboardMarkup | None:
        options = texts[turn].get("options") or []
        rows = [[InlineKeyboardButton(o["label"], callback_data=o["key"])] for o in options]
        return InlineKeyboardMarkup(rows) if rows else None

    def answer_for(turn: int):
        async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            answer = update.message.text.strip()
            options = texts[turn - 1].get("options") or [] if turn else []
            if (
                options
                and not (answer.isdigit() and 1 <= int(answer) <= len(options))
                and answer not in {o["label"] for o in options} | {"跳过"}
            ):
                await update.message.reply_text("请从下面的选项中选择", reply_markup=keyboard(turn - 1))
                return turn
            context.user_data.setdefault("answers", []).append(answer)
            await update.message.reply_text(texts[turn]["text"], reply_markup=keyboard(turn))
            return turn + 1 if turn + 1 < len(texts) else ConversationHandler.END

        return handler

    persistence = PicklePersistence(filepath=workdir / "ptb.pickle")
    application = (
        Application.builder()
        .token(TOKEN)
        .request(request)
        .get_updates_request(InstantTelegram())
        .persistence(persistence)
        .updater(None)
        .build()
    )
    text = filters.TEXT & ~filters.COMMAND
    application.add_handler(
        ConversationHandler(
            entry_points=[MessageHandler(text, answer_for(0))],
            states={turn: [MessageHandler(text, answer_for(turn))] for turn in range(1, len(texts))},
            fallbacks=[],
            name="invoice",
            persistent=True,
        )
    )
    return application


async def run_baseline(rounds: list[list[bytes]], texts: list[dict], workdir: Path) -> tuple[float, float, int]:
    """Seconds without and with writing the persistence, and how many replies it sent."""
    request = InstantTelegram()
    application = baseline_application(texts, workdir, request)
    await application.initialize()
    began = time.perf_counter()
    for bodies in rounds:
        await asyncio.gather(
            *(application.process_update(Update.de_json(json.loads(body), application.bot)) for body in bodies)
        )
    in_memory = time.perf_counter() - began
    # what it holds in memory, on disk: a running Application does this every 60 s and at shutdown
    await application.update_persistence()
    persisted = time.perf_counter() - began
    await application.shutdown()
    return in_memory, persisted, request.sent


class NoLimits:
    @contextlib.asynccontextmanager
    async def slot(self, chat: str):
        yield


async def run_ours(rounds: list[list[bytes]], workdir: Path) -> tuple[float, int]:
    settings = Settings(
        OUTAGE_BOT_DB=workdir / "ours.db",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_WEBHOOK_URL="https://bench.example/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET="bench-secret",
    )
    app = await open_app(settings)
    channel = TelegramChannel(settings, app.host())
    request = InstantTelegram()
    channel.application = Application.builder().token(TOKEN).request(request).updater(None).build()
    channel.bot = channel.application.bot
    await channel.start()
    channel.limits = NoLimits()
    sender = Sender(app.store, app.clock, channel)
    with started_objects_frozen():  # as `outage-bot run` does once started
        began = time.perf_counter()
        for bodies in rounds:
            responses = await asyncio.gather(*(channel.receive_body(body) for body in bodies))
            assert all(r.status_code == 200 for r in responses)
            await app.dispatcher.drain()
            while await sender.flush():
                pass
        elapsed = time.perf_counter() - began
    await channel.stop()
    await app.close()
    return elapsed, request.sent


def compare(users: int) -> dict:
    rounds = updates(users)
    messages = users * len(SCRIPT)
    with tempfile.TemporaryDirectory(prefix="outage-bot-ptb-") as tmp:
        workdir = Path(tmp)
        texts = asyncio.run(conversation_texts(workdir))
        in_memory, theirs, their_replies = asyncio.run(run_baseline(rounds, texts, workdir))
        ours, our_replies = asyncio.run(run_ours(rounds, workdir))
    if their_replies != messages or our_replies != messages:
        raise RuntimeError(f"expected {messages} replies each; PTB sent {their_replies}, ours {our_replies}")
    return {
        "ptb_baseline_msgs_per_s": messages / theirs,
        "ours_telegram_msgs_per_s": messages / ours,
        "vs_ptb_ratio": theirs / ours,
        # the baseline before its pickle is written: nothing of it would survive a crash
        "ptb_in_memory_msgs_per_s": messages / in_memory,
        "vs_ptb_in_memory_ratio": in_memory / ours,
        "ptb_messages": messages,
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="ours against python-telegram-bot on the same updates")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--ours", action="store_true", help="only our side (for a profiler)")
    args = parser.parse_args()
    if args.ours:
        with tempfile.TemporaryDirectory(prefix="outage-bot-ptb-") as tmp:
            seconds, replies = asyncio.run(run_ours(updates(args.users), Path(tmp)))
        print(json.dumps({"ours_telegram_msgs_per_s": replies / seconds, "replies": replies}))
    else:
        print(json.dumps(compare(args.users)))
