"""Hostile and random input: the engine never crashes, webhooks answer only 4xx to garbage, and a
mutated playbook gives `check` errors, never a traceback."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import uuid
from datetime import timedelta

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.app import open_app
from bot.channels.console.chat import ConsoleChat
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.wecom_app.channel import WeComChannel
from bot.config import load_settings
from bot.engine.machine import step
from bot.engine.types import Context, ConversationKey, Inbound, Reply
from bot.runtime.clock import ManualClock
from bot.web import build_web
from tests.conftest import NOW, ROOT
from tests.fakes.wecom_api import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN, WeComCallbacks

KEY = ConversationKey("fuzz", "chat", "user")
TEXT = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["/", "/lang", "/summary full", "/remind", "/record", "\x00\x1b[31m", "😀" * 50, "發票" * 2000, " ", "1" * 30]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages=st.lists(TEXT, min_size=1, max_size=8), choices=st.lists(st.text(max_size=70), max_size=3))
def test_the_engine_answers_anything(catalog, messages, choices):
    state, now = None, NOW
    for text in messages:
        state, effects = step(catalog, state, Inbound(KEY, now, text=text), Context(), now)
        assert any(isinstance(e, Reply) and e.text for e in effects)
        now += timedelta(seconds=5)
    for choice in choices:
        state, effects = step(catalog, state, Inbound(KEY, now, choice=choice), Context(), now)
        assert any(isinstance(e, Reply) for e in effects)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(TEXT.filter(lambda t: t.strip() and "\n" not in t), min_size=1, max_size=5))
@example(messages=["0", "0\x850"])  # an echoed NEL once split a JSON line in two
async def test_the_console_answers_anything(console_app, messages):
    out = io.StringIO()
    chat = ConsoleChat(console_app, f"fuzz-{uuid.uuid4().hex}", None, True, out)
    for text in messages:
        before = out.tell()
        await chat.say(text)
        printed = out.getvalue()[before:].splitlines()
        assert printed and all(json.loads(line)["text"] for line in printed)


def test_a_100_kb_line_through_the_console(tmp_path):
    line = ("发票查不到 invoice 😀 " * 6000)[:100_000]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--jsonl"],
        input=line + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"OUTAGE_BOT_DB": str(tmp_path / "f.db"), "PATH": ""},
    )
    assert result.returncode == 0 and '"state": "q_where"' in result.stdout


@pytest.fixture
async def web(tmp_path, monkeypatch):
    env = {
        "OUTAGE_BOT_DB": str(tmp_path / "web.db"),
        "TELEGRAM_BOT_TOKEN": "123:abc",
        "TELEGRAM_WEBHOOK_URL": "https://x.example/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": "s3cret",
        "WECOM_CORP_ID": CORP_ID,
        "WECOM_AGENT_ID": str(AGENT_ID),
        "WECOM_SECRET": SECRET,
        "WECOM_TOKEN": TOKEN,
        "WECOM_AES_KEY": AES_KEY,
        "WECOM_MAX_CLOCK_SKEW_S": "0",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = await open_app(load_settings(), clock=ManualClock(NOW))
    channels = [TelegramChannel(load_settings(), app.host()), WeComChannel(load_settings(), app.host())]
    for channel in channels:
        channel._running = True  # routes only: nothing is started against a platform
    transport = httpx.ASGITransport(app=build_web(app.store, channels))
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        yield client, app
    await app.close()


BODIES = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(str.encode),
    st.sampled_from(
        [
            b"",
            b"{}",
            b"[]",
            b"null",
            b'{"update_id": "x"}',
            b'{"update_id": 1, "message": 5}',
            b"<xml></xml>",
            b"<xml><Encrypt></Encrypt></xml>",
            b"<xml><Encrypt>!!!</Encrypt></xml>",
            b'<!DOCTYPE x [<!ENTITY a "b">]><xml>&a;</xml>',
            b"\xff\xfe\x00",
        ]
    ),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=BODIES,
    secret=st.sampled_from(["s3cret", "wrong", None]),
    params=st.dictionaries(
        st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr"]), st.text(max_size=40), max_size=4
    ),
)
async def test_webhooks_answer_garbage_with_4xx_only(web, body, secret, params):
    client, app = web
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    for response in (
        await client.post("/telegram/webhook", content=body, headers=headers),
        await client.post("/wecom/callback", params=params, content=body),
        await client.get("/wecom/callback", params=params),
    ):
        assert 400 <= response.status_code < 500, response.status_code
    assert (await client.get("/healthz")).status_code == 200
    assert await app.store.count("inbox") == 0  # none of it was taken for a message


async def test_a_validly_signed_but_garbled_wecom_body_is_a_400_and_taken_for_no_message(web):
    client, app = web
    callbacks = WeComCallbacks(client)
    for inner in ["not xml", "<xml><MsgType>text</MsgType></xml>", "<xml>" + "<a>" * 5000 + "</xml>"]:
        params, body = callbacks.envelope(inner)
        response = await client.post("/wecom/callback", params=params, content=body)
        assert response.status_code == 400, (inner[:30], response.status_code)
    assert await app.store.count("inbox") == 0


MUTATIONS = ["delete_line", "duplicate_line", "swap_lines", "break_indent", "garble_char", "truncate"]


def mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    kind = rng.choice(MUTATIONS)
    i = rng.randrange(len(lines))
    if kind == "delete_line":
        del lines[i]
    elif kind == "duplicate_line":
        lines.insert(i, lines[i])
    elif kind == "swap_lines":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "break_indent":
        lines[i] = " " + lines[i]
    elif kind == "garble_char" and lines[i]:
        k = rng.randrange(len(lines[i]))
        lines[i] = lines[i][:k] + rng.choice(":{}[]-#'\"*&!|>") + lines[i][k + 1 :]
    else:
        lines = lines[: i + 1]
    return "\n".join(lines)


def test_mutated_playbooks_are_reported_never_a_traceback(tmp_path):
    original = (ROOT / "playbooks" / "invoice.yaml").read_text(encoding="utf-8")
    rng = random.Random(20261128)
    from bot.playbook.lint import lint
    from bot.playbook.loader import load_playbooks

    outcomes = {"clean": 0, "reported": 0}
    for n in range(60):
        text = original
        for _ in range(rng.randint(1, 3)):
            text = mutate(text, rng)
        path = tmp_path / f"m{n}.yaml"
        path.write_text(text, encoding="utf-8")
        loaded = load_playbooks([path])  # must not raise, whatever the mutation did
        for book in loaded.playbooks:
            list(lint(book, *loaded.roots[book.id]))
        for problem in loaded.problems:
            assert problem.path == str(path) and problem.line >= 1 and problem.message
        outcomes["reported" if loaded.problems else "clean"] += 1
        path.unlink()
    assert outcomes["reported"] >= 20  # the mutations do break things, and each break is reported
