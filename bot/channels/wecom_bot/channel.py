"""The WeCom intelligent bot (智能机器人): group @-mentions and one-to-one chats, answered in place.

Long connection (the default): callbacks arrive over our own WebSocket (connection.py) and each is
committed to the inbox before anything answers it; a reply leaves through the outbox as an
aibot_respond_msg echoing the callback's req_id (while that connection lives), else as a proactive
aibot_send_msg to the chat. A button press updates its card at once (the 5 s deadline) and reaches
the conversation as a choice. Callback mode (callback.py) serves the same conversations over HTTP.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import websockets
from starlette.routing import BaseRoute

from bot.channels.wecom_bot.connection import AckTimeout, LongConnection, NotConnected, Refused
from bot.channels.wecom_bot.files import download
from bot.channels.wecom_bot.format import as_text, chosen_card
from bot.channels.wecom_bot.inbound import CHANNEL, Callback, NotACallback, read_callback, to_inbound
from bot.delivery import GROUP_PREFIX, MaybeDelivered, RetryLater, Undeliverable, to_group
from bot.invoices.reader import MAX_FILE_BYTES
from bot.ports import ANYONE, ChannelHost
from bot.runtime.window import SlidingWindows
from bot.store.base import OutboundMessage

log = logging.getLogger(__name__)

CONVERSATION_LIMITS = [(30, 60), (1000, 3600)]  # replies + pushes per conversation: per minute, per hour
REPLY_WINDOW_S = 24 * 3600  # a callback's req_id may be answered for a day
WELCOME_WINDOW_S = 5  # aibot_respond_welcome_msg: within 5 s of enter_chat
STALE_REQ_ID = {846605, 846608}  # invalid req_id, stream expired: say it as a new message instead
RATE_LIMITED = {45009, 45033}
FEEDBACK = {1: "liked", 2: "disliked"}
SEEN_KEEP = 10_000


def reply_ref(connection_id: str, req_id: str, kind: str, at: float) -> str:
    return f"ws/{connection_id}/{req_id}/{kind}/{at:.0f}"


def parse_ref(ref: str | None) -> tuple[str, str, str, float] | None:
    parts = (ref or "").split("/")
    if len(parts) != 5 or parts[0] != "ws":
        return None
    try:
        return parts[1], parts[2], parts[3], float(parts[4])
    except ValueError:
        return None


class WeComBotChannel:
    name = CHANNEL

    def __init__(self, settings: Any, host: ChannelHost):
        self.settings, self.host = settings, host
        self.mode = settings.WECOM_BOT_MODE
        self.limits = SlidingWindows(CONVERSATION_LIMITS, host.clock)
        self._feedback_seen: OrderedDict[str, None] = OrderedDict()
        self.connection: LongConnection | None = None
        self.callbacks = None
        if self.mode == "ws":
            self.connection = LongConnection(
                settings.WECOM_BOT_WS_URL,
                settings.WECOM_BOT_ID,
                settings.WECOM_BOT_SECRET.get_secret_value(),
                self._on_frame,
            )
        else:
            from bot.channels.wecom_bot.callback import CallbackEndpoint

            self.callbacks = CallbackEndpoint(settings, host, self)
        self._running = False

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self.connection is not None:
            try:
                await self.connection.start()
            except Refused as exc:
                raise RuntimeError(f"WECOM_BOT_ID / WECOM_BOT_SECRET: subscribe refused ({exc})") from None
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:  # refused, no answer, not a WS
                raise RuntimeError(
                    f"WECOM_BOT_WS_URL: cannot connect to {self.settings.WECOM_BOT_WS_URL} ({exc})"
                ) from None
        else:
            await self.callbacks.start()
        self._running = True
        log.info("wecom_bot: %s mode", "long-connection" if self.connection is not None else "callback")

    async def stop(self) -> None:
        self._running = False
        if self.connection is not None:
            await self.connection.stop()
        else:
            await self.callbacks.stop()

    @property
    def exclusive(self) -> bool:
        return self.connection is not None  # one long connection per bot

    def healthy(self) -> bool:
        if not self._running:
            return False
        # down while reconnecting (it shows), and for good once replaced or refused
        return self.connection is None or (self.connection.stopped_because is None and self.connection.up)

    def routes(self) -> list[BaseRoute]:
        return self.callbacks.routes() if self.callbacks is not None else []

    # ---- inbound (long connection) -------------------------------------------------------------

    async def _on_frame(self, frame: dict[str, Any]) -> None:
        if frame.get("cmd") not in ("aibot_msg_callback", "aibot_event_callback"):
            return
        req_id = str((frame.get("headers") or {}).get("req_id") or "")
        try:
            callback = read_callback(frame.get("body"))
        except NotACallback as exc:
            log.warning("wecom_bot: ignored a callback: %s", exc)
            return
        kind = {"enter_chat": "welcome", "template_card_event": "card"}.get(callback.eventtype, "msg")
        ref = reply_ref(self.connection.connection_id or "-", req_id, kind, time.time())
        await self.receive(callback, ref)
        if kind == "card":
            await self._update_card(callback, req_id)

    async def receive(self, callback: Callback, ref: str) -> None:
        """Commit one callback (or record its feedback); a duplicate msgid is committed once."""
        if callback.eventtype == "feedback_event":
            await self._feedback(callback)
            return
        inbound = to_inbound(callback, ref, self.host.clock.now())
        if inbound is not None:
            await self.host.accept(CHANNEL, f"msg:{callback.msgid}", inbound)

    async def fetch(self, attachment: Mapping[str, Any]) -> bytes:
        """A photo's or file's bytes, downloaded and decrypted (any worker may: no connection needed)."""
        own_key = self.settings.WECOM_BOT_AES_KEY
        return await download(attachment, own_key.get_secret_value() if own_key else None, MAX_FILE_BYTES)

    async def _feedback(self, callback: Callback) -> None:
        event = callback.event.get("feedback_event") or {}
        outcome = FEEDBACK.get(event.get("type")) if isinstance(event, dict) else None
        if outcome is None or callback.msgid in self._feedback_seen:
            return
        self._feedback_seen[callback.msgid] = None
        while len(self._feedback_seen) > SEEN_KEEP:
            self._feedback_seen.popitem(last=False)
        await self.host.store.add_feedback(str(callback.key), CHANNEL, None, None, outcome, 0, 0, self.host.clock.now())

    def chosen(self, callback: Callback) -> dict[str, Any] | None:
        """The card to show after a press (its choice, the other buttons gone), if it was the presser's."""
        press = callback.own_press()
        return chosen_card(callback.pressed, press[1], self.settings.OUTAGE_BOT_LANG) if press else None

    async def _update_card(self, callback: Callback, req_id: str) -> None:
        card = self.chosen(callback)
        if card is None:
            return
        body = {"response_type": "update_template_card", "template_card": card}
        try:
            await self.connection.request("aibot_respond_update_msg", body, req_id=req_id)
        except (NotConnected, AckTimeout, Refused) as exc:  # cosmetic: the choice itself is committed
            log.info("wecom_bot: card not updated: %s", exc)

    # ---- outbound ------------------------------------------------------------------------------

    async def deliver(self, message: OutboundMessage) -> str | None:
        payload, chat = message.payload, message.chat
        group = False
        if to_group(chat):
            found = await self.host.store.group(chat.removeprefix(GROUP_PREFIX))
            if found is None or found.channel != CHANNEL:
                raise Undeliverable(f"no WeCom intelligent-bot group named {chat!r}")
            chat, group = found.address, True
        user = str(payload.get("user") or "")
        group = group or (chat != user)
        if self.callbacks is not None:
            return await self.callbacks.deliver(message, chat)
        wait = self.limits.reserve(chat)
        if wait:
            raise RetryLater(wait, f"per-conversation limit for {chat}")
        content = payload.get("content")
        if group and user and user != ANYONE and content is not None:
            content = f"<@{user}>\n{content}"  # in a group, name whom it answers
        try:
            ref = parse_ref(payload.get("in_reply_to"))
            if ref is not None and await self._answer(ref, payload, content):
                return None
            await self.connection.request("aibot_send_msg", _proactive(chat, group, payload, content))
        except NotConnected as exc:
            raise RetryLater(5, f"not connected: {exc}") from None
        except AckTimeout as exc:
            raise MaybeDelivered(str(exc)) from None
        except Refused as exc:
            if exc.errcode in RATE_LIMITED:
                raise RetryLater(60, str(exc)) from None
            raise Undeliverable(str(exc)) from None
        return None

    async def _answer(self, ref: tuple[str, str, str, float], payload: dict[str, Any], content: str | None) -> bool:
        """Answer in place on the callback's req_id, if that can still work; False: send it anew."""
        connection_id, req_id, kind, at = ref
        age = time.time() - at
        if connection_id != self.connection.connection_id or kind == "card" or age > REPLY_WINDOW_S:
            return False  # a req_id from an earlier connection, or a press (its req_id takes only the card update)
        if kind == "welcome":
            if age > WELCOME_WINDOW_S:
                return False
            cmd, body = "aibot_respond_welcome_msg", {"msgtype": "text", "text": {"content": as_text(payload)}}
        elif payload.get("msgtype") == "template_card":
            cmd, body = "aibot_respond_msg", {"msgtype": "template_card", "template_card": payload["template_card"]}
        else:
            stream = {"id": uuid.uuid4().hex, "finish": True, "content": content or ""}
            stream["feedback"] = {"id": stream["id"]}
            cmd, body = "aibot_respond_msg", {"msgtype": "stream", "stream": stream}
        try:
            await self.connection.request(cmd, body, req_id=req_id)
        except Refused as exc:
            if exc.errcode in STALE_REQ_ID:
                return False
            raise
        return True


def _proactive(chat: str, group: bool, payload: dict[str, Any], content: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"chatid": chat, "chat_type": 2 if group else 1}
    if payload.get("msgtype") == "template_card":
        return body | {"msgtype": "template_card", "template_card": payload["template_card"]}
    return body | {"msgtype": "markdown", "markdown": {"content": content if content is not None else as_text(payload)}}
