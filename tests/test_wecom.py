"""WeCom: encrypted callbacks over HTTP to the running app, sends to a local fake WeCom API."""

from __future__ import annotations

import time
from datetime import datetime

import httpx
import pytest

from bot.app import open_app
from bot.channels.wecom_app.channel import WeComChannel
from bot.channels.wecom_app.format import MAX_TEXT_BYTES, render, split_bytes, split_payload
from bot.config import load_settings
from bot.delivery import RetryLater, Undeliverable
from bot.runtime.clock import ManualClock
from bot.runtime.sender import Sender
from bot.runtime.window import SlidingWindows
from bot.store.base import OutboundMessage
from bot.web import build_web
from tests.bot_process import BotProcess
from tests.fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, FakeWeCom, WeComCallbacks, sign

XXE = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<xml><Encrypt>&xxe;</Encrypt></xml>"
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b"<xml><Encrypt>&lol2;</Encrypt></xml>"
)


def wecom_env(fake: FakeWeCom, **extra: str) -> dict[str, str]:
    return {
        "WECOM_CORP_ID": CORP_ID,
        "WECOM_AGENT_ID": str(AGENT_ID),
        "WECOM_SECRET": SECRET,
        "WECOM_TOKEN": TOKEN,
        "WECOM_AES_KEY": AES_KEY,
        "WECOM_API_BASE_URL": fake.base_url,
        "TELEGRAM_BOT_TOKEN": "",
        **extra,
    }


@pytest.fixture
def running_bot(wecom, tmp_path):
    bot = BotProcess(tmp_path, wecom_env(wecom)).start()
    yield bot
    assert bot.stop() == 0, bot.log.read_text()


def test_url_verification_answers_the_decrypted_echostr(wecom, running_bot):
    callbacks = WeComCallbacks(httpx.Client())
    echo = callbacks.encrypt("1234567890987654321")
    timestamp, nonce = str(int(time.time())), "abc"
    params = {"msg_signature": sign(timestamp, nonce, echo), "timestamp": timestamp, "nonce": nonce, "echostr": echo}
    response = httpx.get(f"{running_bot.url}/wecom/callback", params=params)
    assert (response.status_code, response.text) == (200, "1234567890987654321")
    wrong = httpx.get(f"{running_bot.url}/wecom/callback", params={**params, "msg_signature": "0" * 40})
    assert wrong.status_code == 403


def test_a_conversation_of_several_turns(wecom, running_bot):
    callbacks = WeComCallbacks(httpx.Client())
    url = f"{running_bot.url}/wecom/callback"
    for turn, text in enumerate(["发票查不到", "1", "今天"], 1):
        params, body = callbacks.envelope(callbacks.text_xml("zhangsan", text, callbacks.next_id()))
        response = httpx.post(url, params=params, content=body)
        assert (response.status_code, response.text) == (200, "")
        sent = wecom.wait_sent(turn)
    first, second, third = (s["content"] for s in sent)
    assert all(s["to"] == "zhangsan" and s["api"] == "message/send" for s in sent)
    assert "是在哪里查不到" in first and "回复数字选择：\n1. 查验平台提示“查无此票”" in first
    assert "什么时候开具" in second
    assert "次日才能在查验平台查验" in third
    assert sent[0]["body"]["agentid"] == AGENT_ID and sent[0]["body"]["enable_duplicate_check"] == 1
    assert wecom.gettoken_calls == 1  # the access token is cached


def test_retries_of_one_msgid_and_one_event_are_answered_once(wecom, running_bot):
    callbacks = WeComCallbacks(httpx.Client())
    url = f"{running_bot.url}/wecom/callback"
    message = callbacks.text_xml("lisi", "报销提示发票无效", callbacks.next_id())
    for _ in range(4):  # the first delivery and WeCom's three retries
        params, body = callbacks.envelope(message)
        assert httpx.post(url, params=params, content=body).status_code == 200
    enter = callbacks.event_xml("wangwu", "enter_agent", created=int(time.time()))
    for _ in range(2):
        params, body = callbacks.envelope(enter)
        assert httpx.post(url, params=params, content=body).status_code == 200
    params, body = callbacks.envelope(callbacks.image_xml("zhaoliu", callbacks.next_id()))
    assert httpx.post(url, params=params, content=body).status_code == 200
    sent = wecom.wait_sent(3)
    running_bot.wait_idle()
    assert sorted(s["to"] for s in wecom.sent) == ["lisi", "wangwu", "zhaoliu"]
    by_user = {s["to"]: s["content"] for s in sent}
    assert "开票方是否作废或红冲过" in by_user["lisi"]  # "报销…无效" already answered what the system said
    assert "请选择您遇到的情况" in by_user["wangwu"]
    assert "没能取到这个文件" in by_user["zhaoliu"]  # a photo the fake WeCom does not have


def test_bad_requests_get_4xx_and_nothing_is_processed(wecom, running_bot):
    callbacks = WeComCallbacks(httpx.Client())
    url = f"{running_bot.url}/wecom/callback"
    good_params, good_body = callbacks.envelope(callbacks.text_xml("u1", "发票查不到", callbacks.next_id()))
    stale_params, stale_body = callbacks.envelope(
        callbacks.text_xml("u1", "hi", callbacks.next_id()), timestamp=int(time.time()) - 3600
    )
    cases = [
        (403, {**good_params, "msg_signature": "f" * 40}, good_body),  # wrong signature
        (403, stale_params, stale_body),  # replayed an hour later
        (400, {k: v for k, v in good_params.items() if k != "nonce"}, good_body),
        (400, good_params, b"<xml><Encrypt>"),  # truncated
        (400, good_params, b"not xml at all"),
        (400, good_params, XXE),
        (400, good_params, LAUGHS),
        (400, good_params, b"<xml><Nothing/></xml>"),
        (413, good_params, b"<xml>" + b"a" * (1024 * 1024) + b"</xml>"),
    ]
    for status, params, body in cases:
        response = httpx.post(url, params=params, content=body)
        assert response.status_code == status, (status, response.text)
    tampered = good_body.replace(b"<Encrypt><![CDATA[", b"<Encrypt><![CDATA[x")
    assert httpx.post(url, params=good_params, content=tampered).status_code == 403
    running_bot.wait_idle()
    assert wecom.sent == []
    assert running_bot.wait_healthy()["channels"] == {"wecom": "running"}
    assert httpx.post(url, params=good_params, content=good_body).status_code == 200  # still serving
    assert wecom.wait_sent(1)[0]["to"] == "u1"


def test_a_group_added_from_the_cli_is_greeted_by_the_running_bot(wecom, running_bot):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bot", "groups", "add", "--wecom-robot", "0123abcd-robot-key", "--name", "财务部"],
        env=running_bot.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (greeting,) = wecom.wait_sent(1, timeout=10)
    assert greeting["api"] == "webhook/send" and greeting["to"] == "0123abcd-robot-key"
    assert "outage-bot 已接入本群" in greeting["content"]


# ---- in process: the channel object with a manual clock, against the same fake API ----------------


@pytest.fixture
async def channel(wecom, tmp_path, monkeypatch):
    for name, value in wecom_env(wecom).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OUTAGE_BOT_DB", str(tmp_path / "inproc.db"))
    clock = ManualClock(datetime.fromisoformat("2026-03-02T10:00:00+08:00"))
    app = await open_app(load_settings(), clock=clock)
    wecom_channel = WeComChannel(load_settings(), app.host())
    await wecom_channel.start()
    yield wecom_channel
    await wecom_channel.stop()
    await app.close()


@pytest.fixture
def dispatcher_of(channel):
    """The dispatcher a channel submits to: draining it processes what the channel accepted."""
    return channel.host.submit.__self__


async def test_expired_token_is_refreshed_and_45009_backs_off(channel, wecom):
    await channel.api.send_text("u1", "hello")
    wecom.expire_tokens()
    await channel.deliver(OutboundMessage("wecom", "u1", {"content": "after expiry"}))
    assert wecom.gettoken_calls == 2 and wecom.sent[-1]["content"] == "after expiry"
    wecom.fail_next = [45009]
    with pytest.raises(RetryLater) as caught:
        await channel.deliver(OutboundMessage("wecom", "u2", {"content": "busy"}))
    assert caught.value.seconds == 60
    wecom.fail_next = [60020]  # IP not in the trusted list: no retry will fix it
    with pytest.raises(Undeliverable):
        await channel.deliver(OutboundMessage("wecom", "u2", {"content": "blocked"}))


async def test_per_member_throttling_queues_instead_of_dropping(channel, wecom):
    store, clock = channel.host.store, channel.host.clock
    await store.enqueue(
        [OutboundMessage("wecom", "busy-member", {"text": f"m{i}"}) for i in range(32)]
        + [OutboundMessage("wecom", "other-member", {"text": "other"})],
        clock.now(),
    )
    sender = Sender(store, clock, channel)
    while await sender.flush():
        pass
    assert [s["content"] for s in wecom.sent if s["to"] == "busy-member"] == [f"m{i}" for i in range(30)]
    assert [s["content"] for s in wecom.sent if s["to"] == "other-member"] == ["other"]
    clock.advance(seconds=61)
    while await sender.flush():
        pass
    assert [s["content"] for s in wecom.sent if s["to"] == "busy-member"][-2:] == ["m30", "m31"]


async def test_callback_to_reply_in_process(channel, wecom, dispatcher_of):
    transport = httpx.ASGITransport(app=build_web(channel.host.store, [channel]))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        callbacks = WeComCallbacks(client)
        params, body = callbacks.envelope(
            callbacks.text_xml("u9", "电子税务局打不开", callbacks.next_id()),
            timestamp=int(channel.host.clock.now().timestamp()),
        )
        assert (await client.post("/wecom/callback", params=params, content=body)).status_code == 200
    await dispatcher_of.drain()
    await Sender(channel.host.store, channel.host.clock, channel).flush()
    assert "其他网站能正常打开吗" in wecom.sent[-1]["content"]  # "打不开" already said what happens


def test_sliding_windows_count_per_minute_and_hour():
    clock = ManualClock(datetime.fromisoformat("2026-03-02T10:00:00+08:00"))
    windows = SlidingWindows([(2, 60), (3, 3600)], clock)
    assert windows.reserve("a") == 0 and windows.reserve("a") == 0
    assert windows.reserve("a") == pytest.approx(60)
    assert windows.reserve("b") == 0
    clock.advance(seconds=60)
    assert windows.reserve("a") == 0
    assert windows.reserve("a") == pytest.approx(3600 - 60)  # the hour's three are used
    clock.advance(hours=1)
    assert windows.reserve("a") == 0


def test_options_are_numbered_and_long_texts_split_at_2048_bytes():
    payload = {"text": "问题？", "options": [{"key": "a", "label": "甲"}, {"key": "b", "label": "乙"}], "lang": "zh"}
    assert render(payload) == "问题？\n\n回复数字选择：\n1. 甲\n2. 乙"
    assert render({**payload, "lang": "en"}).endswith("Reply with a number:\n1. 甲\n2. 乙")
    long_text = "\n".join("发票系统维护期间请勿重复开票。" * 5 for _ in range(40))
    parts = split_payload({"text": long_text, "options": []})
    assert len(parts) > 1 and all(len(p["content"].encode()) <= MAX_TEXT_BYTES for p in parts)
    assert "".join(p["content"] for p in parts).replace("\n", "") == long_text.replace("\n", "")
    assert all(len(p.encode()) <= 100 for p in split_bytes("字" * 500, 100))
