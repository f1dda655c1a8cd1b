"""The intelligent bot's callback mode, in process: encrypted JSON callbacks through the real ASGI
app, stream answers served from the outbox, response_url for what missed its stream."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from wechatpy.enterprise.crypto import PrpCrypto

from bot.app import open_app
from bot.channels.wecom_bot import callback as callback_module
from bot.channels.wecom_bot.channel import WeComBotChannel
from bot.config import load_settings
from bot.runtime.sender import Sender
from bot.store.base import Group, OutboundMessage
from bot.web import build_web
from tests.fakes.http_server import BackgroundServer
from tests.fakes.wecom_api import AES_KEY, sign

TOKEN = "aibotCallbackToken"
ROUTE = "/wecom-bot/callback"


class ResponseUrls:
    """WeCom's response_url endpoint: one POST per URL."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.app = Starlette(routes=[Route("/respond/{key}", self._post, methods=["POST"])])

    async def _post(self, request: Request) -> JSONResponse:
        key = request.path_params["key"]
        if any(p["key"] == key for p in self.posts):
            return JSONResponse({"errcode": 600039, "errmsg": "response_url used already"})
        self.posts.append({"key": key, "body": await request.json()})
        return JSONResponse({"errcode": 0, "errmsg": "ok"})


class WeCom:
    """Posts callbacks as WeCom does and opens its answers."""

    def __init__(self, client: httpx.AsyncClient, urls: str):
        self.client, self.urls = client, urls
        self.crypto = PrpCrypto(base64.b64decode(AES_KEY + "="))

    def _seal(self, body: dict) -> tuple[dict, bytes]:
        encrypted = self.crypto.encrypt(json.dumps(body, ensure_ascii=False), "").decode()
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        params = {"msg_signature": sign(timestamp, nonce, encrypted, TOKEN), "timestamp": timestamp, "nonce": nonce}
        return params, json.dumps({"encrypt": encrypted}).encode()

    def open(self, response: httpx.Response) -> dict | None:
        assert response.status_code == 200, response.text
        if not response.content:
            return None
        sealed = response.json()
        assert sealed["msgsignature"] == sign(str(sealed["timestamp"]), sealed["nonce"], sealed["encrypt"], TOKEN)
        return json.loads(self.crypto.decrypt(sealed["encrypt"], ""))

    async def post(self, body: dict) -> dict | None:
        params, content = self._seal(body)
        return self.open(await self.client.post(ROUTE, params=params, content=content))

    def message(self, user: str, text: str, msgid: str | None = None, chat: str | None = None) -> dict:
        body = {"msgid": msgid or uuid.uuid4().hex, "aibotid": "aib1", "from": {"userid": user}}
        body |= {"chatid": chat, "chattype": "group"} if chat else {"chattype": "single"}
        response_url = f"{self.urls}/respond/{uuid.uuid4().hex}"
        return body | {"msgtype": "text", "text": {"content": text}, "response_url": response_url}

    @staticmethod
    def refresh(user: str, stream_id: str) -> dict:
        body = {"msgid": uuid.uuid4().hex, "aibotid": "aib1", "chattype": "single", "from": {"userid": user}}
        return body | {"msgtype": "stream", "stream": {"id": stream_id}}


@pytest.fixture
async def setup(tmp_path, monkeypatch):
    recorder = ResponseUrls()
    urls = BackgroundServer(recorder.app).__enter__()
    env = {
        "WECOM_BOT_MODE": "callback",
        "WECOM_BOT_TOKEN": TOKEN,
        "WECOM_BOT_AES_KEY": AES_KEY,
        "TELEGRAM_BOT_TOKEN": "",
        "OUTAGE_BOT_DB": str(tmp_path / "callback.db"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = await open_app(load_settings())
    channel = WeComBotChannel(load_settings(), app.host())
    await channel.start()
    transport = httpx.ASGITransport(app=build_web(app.store, [channel]))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        yield app, channel, WeCom(client, urls.url), client, recorder
    await channel.stop()
    await app.close()
    urls.__exit__(None, None, None)


async def test_url_verification_and_signature_first(setup, monkeypatch):
    app, channel, wecom, client, _ = setup
    echo = wecom.crypto.encrypt("echo-1234", "").decode()
    params, _ = wecom._seal({})
    params["msg_signature"] = sign(params["timestamp"], params["nonce"], echo, TOKEN)
    answer = await client.get(ROUTE, params={**params, "echostr": echo})
    assert answer.status_code == 200 and answer.text == "echo-1234"

    def must_not_decrypt(*args):
        raise AssertionError("decrypted before the signature was checked")

    monkeypatch.setattr(channel.callbacks.envelope.crypto, "decrypt", must_not_decrypt)
    params, content = wecom._seal(wecom.message("u1", "发票查不到"))
    params["msg_signature"] = "0" * 40
    assert (await client.post(ROUTE, params=params, content=content)).status_code == 403
    assert (await client.post(ROUTE, params={}, content=b"{}")).status_code == 400
    assert (await client.post(ROUTE, params=params, content=b"x" * 300_000)).status_code == 413
    assert await app.store.unfinished() == []


async def test_a_message_is_answered_by_its_stream_refreshed_from_the_outbox(setup):
    app, _, wecom, _, _ = setup
    message = wecom.message("u1", "开出去的发票对方查不到")
    first = await wecom.post(message)
    assert first["msgtype"] == "stream" and first["stream"]["finish"] is False  # nothing processed yet
    again = await wecom.post(message)  # a redelivery opens the same stream and is taken once
    assert again["stream"]["id"] == first["stream"]["id"]
    assert len(await app.store.unfinished()) == 1
    await app.dispatcher.drain()
    refreshed = await wecom.post(wecom.refresh("u1", first["stream"]["id"]))
    assert refreshed["stream"]["finish"] is True
    assert "哪里查不到这张发票" in refreshed["stream"]["content"]
    assert "1. " in refreshed["stream"]["content"]  # the options, to answer with a number (no card in a stream)
    assert await app.store.unsent("wecom_bot", "u1") == []


async def test_a_reply_ready_in_time_goes_in_the_first_answer(setup):
    app, _, wecom, _, _ = setup

    async def worker():
        while True:
            await app.dispatcher.drain()
            await asyncio.sleep(0.02)

    task = asyncio.create_task(worker())
    try:
        answer = await wecom.post(wecom.message("u2", "电子税务局打不开"))
    finally:
        task.cancel()
    assert answer["stream"]["finish"] is True and "其他网站能正常打开吗" in answer["stream"]["content"]


async def test_a_reply_that_missed_its_stream_goes_once_through_response_url(setup, monkeypatch):
    app, channel, wecom, _, recorder = setup
    monkeypatch.setattr(callback_module, "STREAM_LIFE_S", 0)
    await wecom.post(wecom.message("u3", "发票查不到"))
    await app.dispatcher.drain()
    sender = Sender(app.store, app.clock, channel)
    while await sender.flush():
        pass
    assert len(recorder.posts) == 1 and "哪里查不到这张发票" in recorder.posts[0]["body"]["markdown"]["content"]
    assert await app.store.unsent("wecom_bot", "u3") == []


async def test_callback_mode_cannot_push_a_notice_and_says_why(setup):
    app, channel, _, _, _ = setup
    await app.store.add_group(Group("财务群", "wecom_bot", "wecom_bot_chat", "chat-1"), app.clock.now())
    await app.store.enqueue([OutboundMessage("wecom_bot", "group:财务群", {"text": "通知"})], app.clock.now())
    await Sender(app.store, app.clock, channel).flush()
    rows = await app.store.db.execute_fetchall("SELECT failed_at, last_error FROM outbox")
    assert rows[0][0] is not None and "WECOM_BOT_MODE=ws" in rows[0][1]
