"""Callback mode: WeCom posts encrypted JSON to our URL and takes replies in the HTTP answer.

The signature is checked before anything else, then the body is decrypted (wechatpy's crypto; an
intelligent bot's receive id is the empty string) and committed to the inbox; only then do we answer.
A message is answered with a stream: what the outbox holds for it by then, or an unfinished stream
that WeCom refreshes (for up to 6 minutes) and each refresh is served from the outbox, so the reply
is committed before it is shown. A press is answered by the updated card; its reply, and a stream's
reply that missed every refresh, goes once through the callback's response_url. Callback mode cannot
speak on its own (no proactive send): notices to groups need the long connection.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
from typing import Any

import aiohttp
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.body import BodyTooLarge, read_limited
from bot.channels.wecom_app.envelope import CallbackRejected, Envelope, signature
from bot.channels.wecom_bot.format import as_text
from bot.channels.wecom_bot.inbound import CHANNEL, NotACallback, read_callback
from bot.delivery import MaybeDelivered, RetryLater, Undeliverable
from bot.ports import ChannelHost
from bot.store.base import OutboundMessage, Sent

log = logging.getLogger(__name__)

ROUTE = "/wecom-bot/callback"
MAX_BODY = 256 * 1024
STREAM_LIFE_S = 6 * 60
FIRST_ANSWER_WAIT_S = 1.0  # a reply ready this soon goes in the first answer, sparing a refresh
WELCOME_WAIT_S = 3.0  # enter_chat must be answered within 5 s
POLL_S = 0.05
POST_TIMEOUT_S = 10.0


def stream_prefix(stream_id: str) -> str:
    """What the refs of one stream's replies begin with."""
    return f"cb/{stream_id}/"


def stream_ref(stream_id: str, at: float, response_url: str) -> str:
    return f"{stream_prefix(stream_id)}{at:.0f}/{response_url}"


def url_ref(at: float, response_url: str) -> str:
    return f"url/{at:.0f}/{response_url}"


class CallbackEndpoint:
    def __init__(self, settings: Any, host: ChannelHost, channel: Any):
        self.settings, self.host, self.channel = settings, host, channel
        self.token = settings.WECOM_BOT_TOKEN.get_secret_value()
        self.envelope = Envelope(
            self.token, settings.WECOM_BOT_AES_KEY.get_secret_value(), "", host.clock, settings.WECOM_MAX_CLOCK_SKEW_S
        )
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT_S))

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()

    def routes(self) -> list[BaseRoute]:
        return [Route(ROUTE, self.envelope.verify_url, methods=["GET"]), Route(ROUTE, self._callback, methods=["POST"])]

    # ---- the envelope --------------------------------------------------------------------------

    def _sealed(self, answer: dict[str, Any]) -> Response:
        """An answer as WeCom wants it: encrypted JSON with its own signature."""
        encrypted = self.envelope.crypto.encrypt(json.dumps(answer, ensure_ascii=False), "")
        encrypted = encrypted.decode() if isinstance(encrypted, bytes) else encrypted
        timestamp, nonce = str(int(self.host.clock.now().timestamp())), secrets.token_hex(8)
        sealed = {
            "encrypt": encrypted,
            "msgsignature": signature(self.token, timestamp, nonce, encrypted),
            "timestamp": int(timestamp),
            "nonce": nonce,
        }
        return JSONResponse(sealed)

    async def _callback(self, request: Request) -> Response:
        try:
            raw = await read_limited(request, MAX_BODY)
            try:
                envelope = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise CallbackRejected(400, "not JSON") from None
            encrypted = envelope.get("encrypt") if isinstance(envelope, dict) else None
            if not isinstance(encrypted, str) or not encrypted:
                raise CallbackRejected(400, "no encrypt field")
            plain = self.envelope.opened(request, encrypted)
            try:
                callback = read_callback(json.loads(plain))
            except (ValueError, NotACallback) as exc:
                raise CallbackRejected(400, f"not a callback: {exc}") from None
        except CallbackRejected as exc:
            return PlainTextResponse(exc.reason, status_code=exc.status)
        except BodyTooLarge:
            return PlainTextResponse("body too large", status_code=413)
        return await self._answer(callback)

    # ---- answers -------------------------------------------------------------------------------

    async def _answer(self, callback) -> Response:
        now = time.time()
        response_url = str(callback.body.get("response_url") or "")
        if callback.msgtype == "stream":  # a refresh of a stream we opened
            stream_id = str((callback.body.get("stream") or {}).get("id") or "")
            return self._stream(stream_id, await self._collect(callback.chat, stream_prefix(stream_id), 0))
        if callback.eventtype == "template_card_event":
            await self.channel.receive(callback, url_ref(now, response_url))
            card = self.channel.chosen(callback)
            if card is None:
                return Response(status_code=200)
            return self._sealed({"response_type": "update_template_card", "template_card": card})
        if callback.eventtype == "enter_chat":
            ref = url_ref(now, response_url)
            await self.channel.receive(callback, ref)
            parts = await self._collect(callback.chat, ref, WELCOME_WAIT_S)
            if not parts:
                return Response(status_code=200)
            return self._sealed({"msgtype": "text", "text": {"content": "\n\n".join(parts)}})
        if callback.msgtype == "event":
            await self.channel.receive(callback, "")
            return Response(status_code=200)
        stream_id = hashlib.sha1(callback.msgid.encode()).hexdigest()  # a redelivery opens the same stream
        ref = stream_ref(stream_id, now, response_url)
        await self.channel.receive(callback, ref)
        return self._stream(
            stream_id, await self._collect(callback.chat, stream_prefix(stream_id), FIRST_ANSWER_WAIT_S)
        )

    def _stream(self, stream_id: str, parts: list[str]) -> Response:
        stream = {"id": stream_id, "finish": bool(parts), "content": "\n\n".join(parts)}
        return self._sealed({"msgtype": "stream", "stream": stream})

    async def _collect(self, chat: str, ref_prefix: str, wait_s: float) -> list[str]:
        """The unsent replies to one callback, as text, marked sent; waits up to `wait_s` for them."""
        store, clock = self.host.store, self.host.clock
        deadline = time.monotonic() + wait_s
        while True:
            rows = [
                row
                for row in await store.unsent(CHANNEL, chat)
                if str(row.message.payload.get("in_reply_to") or "").startswith(ref_prefix)
            ]
            if rows or time.monotonic() >= deadline:
                break
            await asyncio.sleep(POLL_S)
        await store.settle([Sent(row.id, None) for row in rows], clock.now())  # one transaction for them all
        return [as_text(row.message.payload) for row in rows]

    # ---- what the sender hands over ------------------------------------------------------------

    async def deliver(self, message: OutboundMessage, chat: str) -> str | None:
        ref = str(message.payload.get("in_reply_to") or "")
        kind, _, rest = ref.partition("/")
        stream_id = ""
        if kind == "cb":
            stream_id, _, rest = rest.partition("/")
        at, _, response_url = rest.partition("/")
        if kind not in ("cb", "url") or not at.isdigit():
            raise Undeliverable("callback mode cannot send on its own (notices need WECOM_BOT_MODE=ws)")
        age = time.time() - int(at)
        if kind == "cb" and age < STREAM_LIFE_S:
            raise RetryLater(STREAM_LIFE_S - age + 1, "the stream's refresh collects it")
        if not response_url or age > 3600:
            raise Undeliverable("the callback's response_url is missing or past its hour")
        prefix = ref if kind == "url" else stream_prefix(stream_id)
        parts = await self._collect(chat, prefix, 0)  # this reply and its siblings: one post
        if not parts:
            return None
        body = {"msgtype": "markdown", "markdown": {"content": "\n\n".join(parts)}}
        try:
            async with self.http.post(response_url, json=body) as response:
                answer = await response.json(content_type=None)
        except (aiohttp.ServerDisconnectedError, TimeoutError) as exc:
            raise MaybeDelivered(f"response_url: {type(exc).__name__}") from None
        except aiohttp.ClientError as exc:
            raise RetryLater(10, f"response_url: {exc}") from None
        if isinstance(answer, dict) and answer.get("errcode", 0):
            raise Undeliverable(f"response_url: errcode {answer.get('errcode')}: {answer.get('errmsg')}")
        return None
