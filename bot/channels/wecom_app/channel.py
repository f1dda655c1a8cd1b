"""WeCom (企业微信): encrypted callbacks in, app messages, app chats and group robots out.

A callback is verified, decrypted (wechatpy's crypto), parsed and committed to the inbox before we
answer 200: WeCom gives up after 5 s and retries up to three times, and each retry of a MsgId (or
of an event's FromUserName + CreateTime) is recognised and answered once. Replies go out through
the outbox with the message-send API, under WeCom's per-member limits (30/min, 1000/h), which it
enforces by silently dropping messages: so we count first and wait, rather than lose them.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

import aiohttp
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.body import BodyTooLarge, read_limited
from bot.channels.wecom_app.api import WeComApi, WeComError
from bot.channels.wecom_app.envelope import CallbackRejected, Envelope
from bot.delivery import RetryLater, Undeliverable
from bot.engine.types import ConversationKey, Inbound
from bot.invoices.reader import MAX_FILE_BYTES
from bot.ports import ChannelHost
from bot.runtime.attachments import FetchFailed, FileTooLarge
from bot.runtime.window import SlidingWindows
from bot.store.base import OutboundMessage

log = logging.getLogger(__name__)

CHANNEL = "wecom"
MAX_BODY = 1024 * 1024
SEND_TIMEOUT_S = 10.0
REQUIRED_FIELDS = ("FromUserName", "MsgType", "CreateTime")  # every message and event carries them
CONNECT_TIMEOUT_S = 5.0
# WeCom documents 2048 bytes as a text message's limit (for the messages an app sends); a longer one
# received is cut the same way before anything reads it
MAX_TEXT_BYTES = 2048
MEMBER_LIMITS = [(30, 60), (1000, 3600)]  # app messages per member: per minute, per hour
ROBOT_LIMITS = [(20, 60)]  # group robot messages per minute
RETRY_BUSY_S = 60  # 45009: API frequency limit
# Errors that no retry will fix: the member is gone or outside the app, the IP isn't trusted (60020) …
PERMANENT = {60020, 60011, 60111, 81013, 82001, 86004, 93000, 40003, 40056}
_ENTITIES = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_FOREIGN_ENCODING = re.compile(rb"""\s*<\?xml[^>]*encoding\s*=\s*["'](?!utf-?8["'])""", re.IGNORECASE)


class WeComChannel:
    name = CHANNEL

    def __init__(self, settings, host: ChannelHost):
        self.settings, self.host = settings, host
        self.corp_id = settings.WECOM_CORP_ID
        self.envelope = Envelope(
            settings.WECOM_TOKEN.get_secret_value(),
            settings.WECOM_AES_KEY.get_secret_value(),
            self.corp_id,
            host.clock,
            settings.WECOM_MAX_CLOCK_SKEW_S,
        )
        self.http: aiohttp.ClientSession | None = None  # made in start(): it belongs to the running loop
        self.api: WeComApi | None = None
        self.members = SlidingWindows(MEMBER_LIMITS, host.clock)
        self.robots = SlidingWindows(ROBOT_LIMITS, host.clock)
        self._running = False

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(
            # connecting has its own, shorter limit: a timeout after it means the request went out
            timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_S, sock_connect=CONNECT_TIMEOUT_S)
        )
        self.api = WeComApi(
            self.settings.WECOM_API_BASE_URL,
            self.corp_id,
            self.settings.WECOM_SECRET.get_secret_value(),
            self.settings.WECOM_AGENT_ID,
            self.http,
            self.host.clock,
        )
        self._running = True  # the access token is fetched on the first send, not here (see README)

    async def stop(self) -> None:
        self._running = False
        if self.http is not None:
            await self.http.close()

    exclusive = False  # callbacks at any worker; sends from the leader

    def healthy(self) -> bool:
        return self._running

    def routes(self) -> list[Route]:
        return [
            Route("/wecom/callback", self.envelope.verify_url, methods=["GET"]),
            Route("/wecom/callback", self._callback, methods=["POST"]),
        ]

    # ---- callbacks -----------------------------------------------------------------------------

    async def _callback(self, request: Request) -> Response:
        try:
            body = await read_limited(request, MAX_BODY)
            envelope = _parse_xml(body)
            encrypted = envelope.findtext("Encrypt") or ""
            if not encrypted:
                raise CallbackRejected(400, "no Encrypt element")
            plain = self.envelope.opened(request, encrypted)
            # its fields as WeCom documents them (wechatpy's parse_message would read the XML a third time)
            fields = {child.tag: (child.text or "").strip() for child in _parse_xml(plain.encode())}
            missing = [name for name in REQUIRED_FIELDS if not fields.get(name)]
            if missing:
                raise CallbackRejected(400, f"message without {', '.join(missing)}")
            dedupe, inbound = self.to_inbound(fields)
        except CallbackRejected as exc:
            return PlainTextResponse(exc.reason, status_code=exc.status)
        except BodyTooLarge:
            return PlainTextResponse("body too large", status_code=413)
        except Exception as exc:  # whatever else a hostile body does to the parsers is a bad request
            return PlainTextResponse(f"bad request: {type(exc).__name__}", status_code=400)
        if inbound is not None:
            await self.host.accept(CHANNEL, dedupe, inbound)
        return PlainTextResponse("")  # committed: now WeCom may stop retrying; the reply follows via the API

    def to_inbound(self, fields: Mapping[str, str]) -> tuple[str, Inbound | None]:
        """A callback's fields → (its dedupe key, the inbound message or None). Raises ValueError for a
        MsgId that isn't a number."""
        user = fields["FromUserName"]
        key = ConversationKey(CHANNEL, user, user)
        now = self.host.clock.now()
        kind = fields["MsgType"].lower()
        if kind == "event":
            dedupe = f"event:{user}:{fields['CreateTime']}:{fields.get('Event')}"
            if fields.get("Event", "").lower() == "enter_agent":
                return dedupe, Inbound(key, now, text="")
            return dedupe, None  # other events (menu clicks, contact changes) start nothing
        message_id = str(int(fields.get("MsgId") or 0))
        dedupe = f"msg:{message_id}"
        if kind == "text":
            text = fields.get("Content", "").encode("utf-8")[:MAX_TEXT_BYTES].decode("utf-8", "ignore")
            return dedupe, Inbound(key, now, text=text, ref=message_id, user_name=user)
        media_id = fields.get("MediaId", "")[:512]
        if kind in ("image", "file") and media_id:  # a photo (or a file, where WeCom sends them)
            attachment = {"media_id": media_id, "type": kind}
            return dedupe, Inbound(key, now, payload={"attachment": attachment}, ref=message_id, user_name=user)
        return dedupe, Inbound(key, now, payload={"unsupported": kind}, ref=message_id)

    async def fetch(self, attachment: Mapping[str, Any]) -> bytes:
        """A received photo's bytes, by its MediaId (valid three days)."""
        if self.api is None:
            raise FetchFailed("the WeCom channel is not started")
        try:
            return await self.api.media(str(attachment.get("media_id") or ""), MAX_FILE_BYTES)
        except FileTooLarge:
            raise
        except (WeComError, aiohttp.ClientError) as exc:
            raise FetchFailed(f"media/get: {exc}") from None

    # ---- outbound ------------------------------------------------------------------------------

    async def deliver(self, message: OutboundMessage) -> str | None:
        content = message.payload["content"]  # rendered and split as it entered the outbox
        try:
            if message.chat.startswith("group:"):
                await self._to_group(message.chat.removeprefix("group:"), content, message.payload)
            else:
                wait = self.members.reserve(message.chat)
                if wait:
                    raise RetryLater(wait, f"per-member limit for {message.chat}")
                await self.api.send_text(message.chat, content)
        except WeComError as exc:
            if exc.errcode == 45009:
                raise RetryLater(RETRY_BUSY_S, str(exc)) from None
            if exc.errcode in PERMANENT:
                raise Undeliverable(str(exc)) from None
            raise RetryLater(10, str(exc)) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(5, f"{type(exc).__name__}: {exc}") from None
        return None  # WeCom has no replies to a message: agents answer with /reply N

    async def _to_group(self, name: str, content: str, payload: dict) -> None:
        group = await self.host.store.group(name)
        if group is None:
            raise Undeliverable(f"no group named {name!r} (removed?)")
        if group.kind == "wecom_robot":
            wait = self.robots.reserve(group.address)
            if wait:
                raise RetryLater(wait, f"robot limit for group {name}")
            await self.api.send_robot(group.address, content, markdown=bool(payload.get("markdown")))
        elif group.kind == "wecom_appchat":
            await self.api.send_appchat(group.address, content)
        else:
            raise Undeliverable(f"group {name!r} is not a WeCom group")


def _parse_xml(body: bytes) -> ET.Element:
    """Parse a small XML document as WeCom sends it: UTF-8 only (a UTF-16 body would hide a DOCTYPE
    from any byte scan), and no DTD at all, refused by the parser itself (defusedxml) whatever the
    encoding, so XXE and billion laughs cost no more than garbage."""
    if b"\x00" in body or _FOREIGN_ENCODING.match(body):
        raise CallbackRejected(400, "only UTF-8 XML is accepted")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise CallbackRejected(400, "only UTF-8 XML is accepted") from None
    if _ENTITIES.search(body):  # the cheap early refusal; the parser below refuses any DTD anyway
        raise CallbackRejected(400, "XML with DOCTYPE or ENTITY declarations is not accepted")
    try:
        return defused_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise CallbackRejected(400, "XML with DOCTYPE or ENTITY declarations is not accepted") from None
    except ET.ParseError as exc:
        raise CallbackRejected(400, f"malformed XML: {exc}") from None
