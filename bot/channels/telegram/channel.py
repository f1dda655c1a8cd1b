"""Telegram, through python-telegram-bot: polling or webhook in, the outbox out.

Nothing lost, nothing doubled: an update is in the inbox (deduplicated on update_id) before the
webhook answers 200 or the next getUpdates offset confirms it; PTB's own Updater is not used
because it confirms updates before handlers run. Replies leave through the outbox, under
Telegram's limits (1 msg/s per chat, 20/min per group, 30/s overall) and its 429 retry_after.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import warnings
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import (
    BotCommand,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

from bot import metrics
from bot.channels.body import BodyTooLarge, read_limited
from bot.channels.telegram.format import parse_callback_data, to_message
from bot.delivery import MaybeDelivered, RetryLater, Undeliverable
from bot.engine.types import ConversationKey, Inbound
from bot.i18n import parse_lang
from bot.invoices.reader import MAX_FILE_BYTES
from bot.ports import ChannelHost
from bot.runtime.attachments import FetchFailed, FileTooLarge
from bot.runtime.clock import Clock, SystemClock
from bot.runtime.window import InFlightWindows
from bot.store.base import OutboundMessage

log = logging.getLogger(__name__)
# sendMessage goes through do_api_request on purpose (see deliver); PTB suggests send_message for it
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendMessage'", category=PTBUserWarning)

CHANNEL = "telegram"
# a text message's fields that to_inbound reads or may ignore; any other (a photo, a forward, a
# sticker…) goes through PTB's objects
_PLAIN_MESSAGE_KEYS = frozenset(("message_id", "date", "chat", "from", "text", "entities", "reply_to_message"))
ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT = 25  # seconds a getUpdates long poll may wait
MAX_WEBHOOK_BODY = 1024 * 1024
MAX_TEXT_CHARS = 4096  # Telegram's limit for a message's text: nothing longer is read
GROUP_TYPES = ("group", "supergroup")
COMMANDS = {
    "zh": [
        ("start", "开始排查"),
        ("help", "使用帮助"),
        ("back", "返回上一步"),
        ("restart", "重新开始"),
        ("steps", "查看处理步骤"),
        ("contacts", "联系方式"),
        ("subscribe", "订阅故障通知"),
        ("lang", "切换语言 zh/en"),
    ],
    "en": [
        ("start", "Start troubleshooting"),
        ("help", "How to use the bot"),
        ("back", "Go back one step"),
        ("restart", "Start over"),
        ("steps", "List the steps"),
        ("contacts", "Who to contact"),
        ("subscribe", "Get outage notices"),
        ("lang", "Language: zh or en"),
    ],
}
ANYONE = 0  # a button any member of the chat may press
NOT_YOUR_BUTTON = {
    "zh": "这个按钮属于另一位同事的排查。发送 /start 开始您自己的。",
    "en": "That button belongs to someone else's conversation. Send /start to begin your own.",
}


class ChatLimits:
    """Telegram's limits (30 messages a second overall, one a second per chat, 20 a minute per
    group) as Telegram counts them, on arrival: a send counts from when it is let go until a window
    after its answer (InFlightWindows), so no jitter on the way can squeeze two windows' sends into
    one. A leaky bucket would let a full burst through and keep dripping, twice the rate."""

    def __init__(self, clock: Clock):
        self.overall = InFlightWindows(30, 1.0, clock)
        self.per_chat = InFlightWindows(1, 1.0, clock)
        self.per_group = InFlightWindows(20, 60.0, clock)

    @contextlib.asynccontextmanager
    async def slot(self, chat: str) -> AsyncIterator[None]:
        """Wait until every window of this chat has room, hold it while the send is made."""
        windows = [(self.per_chat, chat), *([(self.per_group, chat)] if chat.startswith("-") else [])]
        windows.append((self.overall, "all"))
        tickets = []
        try:
            for window, key in windows:
                while True:
                    wait, ticket = window.reserve(key)
                    if ticket is not None:
                        tickets.append((window, ticket))
                        break
                    metrics.RATE_LIMIT_WAITS.labels(CHANNEL).inc()
                    await asyncio.sleep(wait)
            yield
        finally:
            for window, ticket in tickets:
                window.done(ticket)


class TelegramChannel:
    name = CHANNEL

    def __init__(self, settings: Any, host: ChannelHost):
        self.settings, self.host = settings, host
        token = settings.TELEGRAM_BOT_TOKEN.get_secret_value()
        base = settings.TELEGRAM_BASE_URL
        files = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base  # where getFile's paths are
        self.application = Application.builder().token(token).base_url(base).base_file_url(files).updater(None).build()
        self.bot = self.application.bot
        self.limits = ChatLimits(SystemClock())
        self._poller: asyncio.Task | None = None
        self._running = False

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            await self.application.initialize()  # getMe: checks the token, learns our id and username
        except InvalidToken as exc:
            raise RuntimeError(f"TELEGRAM_BOT_TOKEN: rejected by Telegram ({exc})") from None
        for lang, commands in COMMANDS.items():
            await self.bot.set_my_commands([BotCommand(c, d) for c, d in commands], language_code=lang)
        await self.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS["zh"]])
        if self.settings.TELEGRAM_WEBHOOK_URL:
            await self.bot.set_webhook(
                self.settings.TELEGRAM_WEBHOOK_URL,
                secret_token=self.settings.TELEGRAM_WEBHOOK_SECRET.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
            )
        else:
            await self.bot.delete_webhook()
            self._poller = asyncio.create_task(self._poll(), name="telegram-poll")
        self._running = True
        log.info("telegram: @%s in %s mode", self.bot.username, "webhook" if self._poller is None else "polling")

    async def stop(self) -> None:
        self._running = False
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
        await self.application.shutdown()

    @property
    def exclusive(self) -> bool:
        return not self.settings.TELEGRAM_WEBHOOK_URL  # one getUpdates long poll per bot

    def healthy(self) -> bool:
        return self._running and (self._poller is None or not self._poller.done())

    # ---- inbound -------------------------------------------------------------------------------

    async def _poll(self) -> None:
        offset: int | None = None
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset,
                    timeout=POLL_TIMEOUT,
                    allowed_updates=ALLOWED_UPDATES,
                    read_timeout=POLL_TIMEOUT + 10,
                )
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except (NetworkError, TelegramError) as exc:
                log.warning("telegram: getUpdates failed: %s", exc)
                await asyncio.sleep(2)
                continue
            for update in updates:
                await self.receive(update)
            if updates:
                # only now, with every update committed, may the next call confirm them
                offset = updates[-1].update_id + 1

    async def receive(self, update: Update) -> None:
        """Commit an update to the inbox (or decide to ignore it); answer its callback query."""
        inbound, refusal = self.to_inbound(update)
        if inbound is not None:
            await self.host.accept(CHANNEL, str(update.update_id), inbound)
        if update.callback_query is not None:
            try:
                await update.callback_query.answer(text=refusal)
            except TelegramError as exc:  # a stale query (after a restart) can't be answered; harmless
                log.info("telegram: answerCallbackQuery failed: %s", exc)

    def to_inbound(self, update: Update) -> tuple[Inbound | None, str | None]:
        """The inbound message for an update, or (None, why-not for a button press)."""
        query = update.callback_query
        if query is not None:
            parsed = parse_callback_data(query.data or "")
            message = query.message
            if parsed is None or message is None:
                return None, None
            owner, key = parsed
            lang = parse_lang(query.from_user.language_code) or "zh"
            if owner not in (ANYONE, query.from_user.id):  # ANYONE: e.g. "claim" in the support chat
                return None, NOT_YOUR_BUTTON[lang]
            conversation = ConversationKey(CHANNEL, str(message.chat.id), str(query.from_user.id))
            return Inbound(
                conversation,
                self.host.clock.now(),
                choice=key,
                lang_hint=parse_lang(query.from_user.language_code),
                ref=str(message.message_id),
                user_name=query.from_user.full_name,
            ), None
        message = update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return None, None
        text = message.text if message.text is not None else ""
        if message.chat.type in GROUP_TYPES:
            text = self._addressed_text(message)
            if text is None:
                return None, None  # group chatter not meant for us
        conversation = ConversationKey(CHANNEL, str(message.chat.id), str(message.from_user.id))
        attachment = _attachment(message)
        return Inbound(
            conversation,
            self.host.clock.now(),
            text=None if attachment else text[:MAX_TEXT_CHARS],
            payload={"attachment": attachment} if attachment else None,
            lang_hint=parse_lang(message.from_user.language_code),
            ref=str(message.message_id),
            chat_title=message.chat.title,
            reply_to=str(message.reply_to_message.message_id) if message.reply_to_message else None,
            user_name=message.from_user.full_name,
        ), None

    def _private_text(self, data: Any) -> Inbound | None:
        """The inbound message of a plain text message in a one-to-one chat, read from the update's
        JSON as to_inbound reads it from PTB's objects (which cost more than the rest of accepting
        it); None for anything else, left to to_inbound."""
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int) or len(data) != 2:
            return None
        message = data.get("message")
        if not isinstance(message, dict) or not message.keys() <= _PLAIN_MESSAGE_KEYS:
            return None
        chat, user, text = message.get("chat"), message.get("from"), message.get("text")
        reply_to = message.get("reply_to_message")
        if not (
            isinstance(text, str)
            and isinstance(message.get("message_id"), int)
            and isinstance(chat, dict)
            and chat.get("type") == "private"
            and isinstance(chat.get("id"), int)
            and isinstance(user, dict)
            and isinstance(user.get("id"), int)
            and user.get("is_bot") is False
            and isinstance(user.get("first_name"), str)
            and isinstance(user.get("last_name", ""), str)
            and isinstance(user.get("language_code", ""), str)
            and (reply_to is None or (isinstance(reply_to, dict) and isinstance(reply_to.get("message_id"), int)))
        ):
            return None
        first, last = user["first_name"], user.get("last_name")
        name = (f"{first} {last}" if last else first) if first else None  # as PTB's full_name
        return Inbound(
            ConversationKey(CHANNEL, str(chat["id"]), str(user["id"])),
            self.host.clock.now(),
            text=text[:MAX_TEXT_CHARS],
            lang_hint=parse_lang(user.get("language_code")),
            ref=str(message["message_id"]),
            chat_title=chat.get("title") if isinstance(chat.get("title"), str) else None,
            reply_to=str(reply_to["message_id"]) if reply_to else None,
            user_name=name,
        )

    def _addressed_text(self, message: Message) -> str | None:
        """In a group: the text (or a photo's caption) if it is a command, mentions us, or replies
        to us; else None."""
        text = message.text or message.caption or ""
        username = (self.bot.username or "").lower()
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            target = command.partition("@")[2].lower()
            return text if not target or target == username else None
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None and replied.from_user.id == self.bot.id:
            return text
        captioned = message.text is None and message.caption is not None
        for entity in (message.caption_entities if captioned else message.entities) or ():
            mentioned = message.parse_caption_entity(entity) if captioned else message.parse_entity(entity)
            if (entity.type == "mention" and mentioned.lower() == f"@{username}") or (
                entity.type == "text_mention" and entity.user is not None and entity.user.id == self.bot.id
            ):
                return (text.replace(mentioned, " ", 1)).strip()
        return None

    async def fetch(self, attachment: Mapping[str, Any]) -> bytes:
        """A photo's or document's bytes (getFile, then its file path; the Bot API serves up to 20 MB)."""
        size = attachment.get("size")
        if isinstance(size, int) and size > MAX_FILE_BYTES:
            raise FileTooLarge(f"{size} bytes")
        try:
            await self.bot.initialize()  # at once if done: a worker that doesn't poll has not
            file = await self.bot.get_file(str(attachment["file_id"]))
            if file.file_size and file.file_size > MAX_FILE_BYTES:
                raise FileTooLarge(f"{file.file_size} bytes")
            data = await file.download_as_bytearray()
        except (TelegramError, KeyError) as exc:
            raise FetchFailed(f"getFile: {exc}") from None
        return bytes(data)

    # ---- webhook -------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        if not self.settings.TELEGRAM_WEBHOOK_URL:
            return []
        return [Route("/telegram/webhook", self._webhook, methods=["POST"])]

    async def _webhook(self, request: Request) -> Response:
        expected = self.settings.TELEGRAM_WEBHOOK_SECRET.get_secret_value()
        given = request.headers.get("x-telegram-bot-api-secret-token", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return JSONResponse({"error": "wrong or missing secret token"}, status_code=403)
        try:
            body = await read_limited(request, MAX_WEBHOOK_BODY)
        except BodyTooLarge:
            return JSONResponse({"error": "body too large"}, status_code=413)
        return await self.receive_body(body)

    async def receive_body(self, body: bytes) -> Response:
        """A webhook body from Telegram: 200 once committed, 400 if it is not an update."""
        try:
            data = orjson.loads(body)
            plain = self._private_text(data)
            if plain is not None:  # most updates: committed without building PTB's objects
                await self.host.accept(CHANNEL, str(data["update_id"]), plain)
                return Response(status_code=200)
            update = Update.de_json(data, self.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return JSONResponse({"error": f"not a Telegram update: {exc}"}, status_code=400)
        if update is None or not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return JSONResponse({"error": "not a Telegram update"}, status_code=400)
        await self.receive(update)  # committed before we answer, so Telegram's retry is a duplicate
        return Response(status_code=200)

    # ---- outbound ------------------------------------------------------------------------------

    async def deliver(self, message: OutboundMessage) -> str | None:
        payload = message.payload
        chat = message.chat
        if chat.startswith("group:"):  # a subscribed group, by name: broadcasts and reminders
            group = await self.host.store.group(chat.removeprefix("group:"))
            if group is None or group.channel != CHANNEL:
                raise Undeliverable(f"no Telegram group named {chat!r}")
            chat = group.address
        part = to_message(payload, payload.get("user") or chat)
        keyboard = part.pop("inline_keyboard", None)
        if keyboard:
            part["reply_markup"] = {"inline_keyboard": keyboard}
        reply_to = payload.get("in_reply_to")
        if reply_to and chat.startswith("-"):  # in a group, say whose question this answers
            part["reply_parameters"] = {"message_id": int(reply_to), "allow_sending_without_reply": True}
        try:
            async with self.limits.slot(chat):
                # the raw result: of the sent message only its id is needed, so skip building a Message
                sent = await self.bot.do_api_request("sendMessage", api_kwargs={"chat_id": int(chat), **part})
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc.retry_after), str(exc)) from None
        except (Forbidden, BadRequest) as exc:  # blocked, kicked, chat gone, malformed: retrying won't help
            raise Undeliverable(str(exc)) from None
        except NetworkError as exc:
            if isinstance(exc.__cause__, (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError)):
                raise MaybeDelivered(f"{type(exc.__cause__).__name__}: {exc}") from None
            raise RetryLater(5, str(exc)) from None  # never reached Telegram: a connect error or timeout
        return str(sent["message_id"])


def _attachment(message: Message) -> dict[str, Any] | None:
    """What to fetch for a photo (its largest size) or a document, or None for a text message."""
    if message.photo:
        photo = message.photo[-1]
        return {"file_id": photo.file_id, "size": photo.file_size, "name": None, "type": "photo"}
    document = message.document
    if document is not None:
        name = (document.file_name or "")[:200] or None
        return {"file_id": document.file_id, "size": document.file_size, "name": name, "type": "document"}
    return None


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
