"""A local fake of WeCom's server API (gettoken, message/send, appchat/send, webhook/send), and a
client that builds callbacks the way WeCom does, encrypted with wechatpy's crypto."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import threading
import time

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from wechatpy.enterprise.crypto import PrpCrypto

from tests.fakes.http_server import wait_until

CORP_ID, SECRET, AGENT_ID = "ww0123456789abcdef", "app-secret", 1000002
TOKEN = "callbackToken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as in the WeCom console


class FakeWeCom:
    def __init__(self):
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self._numbers = itertools.count(1)
        self.gettoken_calls = 0
        self.sent: list[dict] = []  # {"api", "to", "content", "body", "at"}
        self.fail_next: list[int] = []  # errcodes for the next send calls
        self.answer_after = 0.0  # seconds a robot send waits, once recorded, before it is answered
        self.media: dict[str, bytes] = {}  # media_id → a photo users sent, for media/get
        self.app = Starlette(
            routes=[
                Route("/cgi-bin/gettoken", self._gettoken, methods=["GET"]),
                Route("/cgi-bin/message/send", self._send, methods=["POST"]),
                Route("/cgi-bin/appchat/send", self._send, methods=["POST"]),
                Route("/cgi-bin/webhook/send", self._robot, methods=["POST"]),
                Route("/cgi-bin/media/get", self._media, methods=["GET"]),
            ]
        )

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def wait_sent(self, count: int, timeout: float = 15) -> list[dict]:
        def enough():
            with self.lock:
                return list(self.sent) if len(self.sent) >= count else None

        return wait_until(enough, timeout, f"{count} sends (have {self.sent})")

    async def _gettoken(self, request: Request) -> JSONResponse:
        q = request.query_params
        if q.get("corpid") != CORP_ID or q.get("corpsecret") != SECRET:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
        with self.lock:
            self.gettoken_calls += 1
            token = f"token-{next(self._numbers)}"
            self.tokens.add(token)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200})

    async def _media(self, request: Request) -> Response:
        """The file itself, or (as WeCom does) a JSON error in its place."""
        with self.lock:
            if request.query_params.get("access_token") not in self.tokens:
                return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
            data = self.media.get(request.query_params.get("media_id", ""))
        if data is None:
            return JSONResponse({"errcode": 40007, "errmsg": "invalid media_id"})
        return Response(data, media_type="image/jpeg")

    async def _send(self, request: Request) -> JSONResponse:
        body = await request.json()
        with self.lock:
            if request.query_params.get("access_token") not in self.tokens:
                return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
            if self.fail_next:
                code = self.fail_next.pop(0)
                return JSONResponse({"errcode": code, "errmsg": f"injected {code}"})
            api = request.url.path.removeprefix("/cgi-bin/")
            to = body.get("touser") or body.get("chatid")
            self.sent.append(
                {"api": api, "to": to, "content": body["text"]["content"], "body": body, "at": time.monotonic()}
            )
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": f"m{next(self._numbers)}"})

    async def _robot(self, request: Request) -> JSONResponse:
        body = await request.json()
        kind = body["msgtype"]
        with self.lock:
            self.sent.append(
                {
                    "api": "webhook/send",
                    "to": request.query_params.get("key"),
                    "content": body[kind]["content"],
                    "body": body,
                    "at": time.monotonic(),
                }
            )
        if self.answer_after:  # taken, but answered after the client has given up
            await asyncio.sleep(self.answer_after)
        return JSONResponse({"errcode": 0, "errmsg": "ok"})


def sign(timestamp: str, nonce: str, encrypted: str, token: str = TOKEN) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


class WeComCallbacks:
    """Posts callbacks to the bot the way WeCom does."""

    def __init__(self, client: httpx.Client | httpx.AsyncClient):
        self.client = client
        self.crypto = PrpCrypto(base64.b64decode(AES_KEY + "="))
        self._ids = itertools.count(7_000_000_000)

    def encrypt(self, plain: str) -> str:
        return self.crypto.encrypt(plain, CORP_ID).decode()

    @staticmethod
    def text_xml(user: str, content: str, msg_id: int, created: int | None = None) -> str:
        return (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
            f"</FromUserName><CreateTime>{created or int(time.time())}</CreateTime><MsgType><![CDATA[text]]>"
            f"</MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
            f"<AgentID>{AGENT_ID}</AgentID></xml>"
        )

    @staticmethod
    def event_xml(user: str, event: str, created: int) -> str:
        return (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
            f"</FromUserName><CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[]]></EventKey>"
            f"<AgentID>{AGENT_ID}</AgentID></xml>"
        )

    @staticmethod
    def image_xml(user: str, msg_id: int, media_id: str = "m1") -> str:
        return (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[image]]></MsgType>"
            f"<PicUrl><![CDATA[http://x/y.jpg]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId>"
            f"<MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>"
        )

    def envelope(
        self, plain: str, timestamp: int | None = None, nonce: str = "n0nce", signature: str | None = None
    ) -> tuple[dict, bytes]:
        encrypted = self.encrypt(plain)
        timestamp = str(timestamp or int(time.time()))
        params = {
            "msg_signature": signature or sign(timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        body = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
        ).encode()
        return params, body

    def next_id(self) -> int:
        return next(self._ids)
