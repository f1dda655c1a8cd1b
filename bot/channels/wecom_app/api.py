"""WeCom's server API over an async HTTP client: access token, app messages, app chats, group robots.

wechatpy's WeChatClient is synchronous and hard-codes the gettoken host; this calls the same
endpoints with aiohttp on the event loop, from a configurable base URL (proxies, tests). aiohttp
rather than httpx: every reply is one request here, and aiohttp spends a fraction of httpx's CPU on
each (see the Performance section of the README).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp

from bot.delivery import MaybeDelivered
from bot.runtime.attachments import FileTooLarge, read_at_most
from bot.runtime.clock import Clock

TOKEN_EXPIRED = {40014, 42001}  # invalid / expired access_token: fetch a new one and retry once
TOKEN_MARGIN = timedelta(minutes=5)
DUPLICATE_CHECK_S = 60  # WeCom drops an identical text to the same member within this window


class WeComError(Exception):
    def __init__(self, errcode: int, errmsg: str, method: str):
        super().__init__(f"{method}: errcode {errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


class WeComApi:
    def __init__(
        self, base_url: str, corp_id: str, secret: str, agent_id: int, client: aiohttp.ClientSession, clock: Clock
    ):
        self.base = base_url if base_url.endswith("/") else base_url + "/"
        self.corp_id, self.secret, self.agent_id = corp_id, secret, agent_id
        self.client, self.clock = client, clock
        self._token: str | None = None
        self._expires = clock.now()
        self._lock = asyncio.Lock()

    @staticmethod
    async def _json(response: aiohttp.ClientResponse, method: str) -> dict[str, Any]:
        response.raise_for_status()
        data = await response.json(content_type=None)  # WeCom answers JSON as text/plain at times
        if data.get("errcode", 0) != 0:
            raise WeComError(int(data["errcode"]), str(data.get("errmsg", "")), method)
        return data

    async def token(self, refresh: bool = False) -> str:
        async with self._lock:  # one gettoken at a time, however many sends need it
            if refresh or self._token is None or self.clock.now() >= self._expires:
                params = {"corpid": self.corp_id, "corpsecret": self.secret}
                async with self.client.get(self.base + "gettoken", params=params) as response:
                    data = await self._json(response, "gettoken")
                self._token = data["access_token"]
                self._expires = self.clock.now() + timedelta(seconds=int(data.get("expires_in", 7200))) - TOKEN_MARGIN
            return self._token

    async def _post(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            token = await self.token(refresh=attempt == 2)
            try:
                return await self._send(method, {"access_token": token}, body)
            except WeComError as exc:
                if exc.errcode not in TOKEN_EXPIRED or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _send(self, method: str, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        """POST a message. Once connected, a missing answer leaves it unknown whether WeCom took it."""
        try:
            async with self.client.post(self.base + method, params=params, json=body) as response:
                return await self._json(response, method)
        except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError):
            raise  # never connected: certainly not delivered
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, TimeoutError) as exc:
            raise MaybeDelivered(f"{method}: {type(exc).__name__}") from None

    async def media(self, media_id: str, limit: int) -> bytes:
        """A received photo or file (media/get), at most `limit` bytes (FileTooLarge beyond)."""
        for attempt in (1, 2):
            params = {"access_token": await self.token(refresh=attempt == 2), "media_id": media_id}
            async with self.client.get(self.base + "media/get", params=params) as response:
                response.raise_for_status()
                if response.content_type in ("application/json", "text/plain"):  # an error, not the file
                    try:
                        await self._json(response, "media/get")
                    except WeComError as exc:
                        if exc.errcode not in TOKEN_EXPIRED or attempt == 2:
                            raise
                        continue
                    raise WeComError(-1, "an answer without the file", "media/get")
                if (response.content_length or 0) > limit:
                    raise FileTooLarge(f"{response.content_length} bytes")
                return await read_at_most(response.content.iter_any(), limit)
        raise AssertionError("unreachable")

    async def send_text(self, user: str, content: str) -> dict[str, Any]:
        return await self._post(
            "message/send",
            {
                "touser": user,
                "msgtype": "text",
                "agentid": self.agent_id,
                "text": {"content": content},
                # a resend after a crash, within the window, is dropped by WeCom rather than shown twice
                "enable_duplicate_check": 1,
                "duplicate_check_interval": DUPLICATE_CHECK_S,
            },
        )

    async def send_appchat(self, chat_id: str, content: str) -> dict[str, Any]:
        return await self._post("appchat/send", {"chatid": chat_id, "msgtype": "text", "text": {"content": content}})

    async def send_robot(self, key: str, content: str, markdown: bool = False) -> dict[str, Any]:
        kind = "markdown" if markdown else "text"
        body = {"msgtype": kind, kind: {"content": content}}
        return await self._send("webhook/send", {"key": key}, body)
