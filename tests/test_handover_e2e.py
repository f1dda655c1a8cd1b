"""Handover across real processes: a Telegram user's case claimed and answered from WeCom, a restart
with the case open, /metrics after the traffic, and `doctor` against the fakes."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.bot_process import BotProcess
from tests.fakes.http_server import wait_until
from tests.fakes.wecom_api import WeComCallbacks
from tests.test_wecom import wecom_env

SUPPORT_CHAT = -100999


def texts_to(fake_sent: list[dict], chat) -> list[str]:
    return [m["params"]["text"] for m in fake_sent if m["params"]["chat_id"] == chat]


def test_handover_relayed_both_ways_across_platforms_and_restarts(fakes, tmp_path):
    telegram, wecom = fakes
    env = wecom_env(wecom) | {
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_BASE_URL": telegram.base_url,
        "SUPPORT_TELEGRAM_CHAT_ID": str(SUPPORT_CHAT),
        "SUPPORT_WECOM_USERS": "agentw",
    }
    bot = BotProcess(tmp_path, env).start()
    callbacks = WeComCallbacks(httpx.Client())

    def wecom_says(user: str, text: str) -> None:
        params, body = callbacks.envelope(callbacks.text_xml(user, text, callbacks.next_id()))
        assert httpx.post(f"{bot.url}/wecom/callback", params=params, content=body).status_code == 200

    try:
        telegram.push(telegram.message("发票查不到"))
        wait_until(lambda: texts_to(telegram.sent, 42))
        telegram.push(telegram.message("/human"))
        wait_until(lambda: texts_to(telegram.sent, SUPPORT_CHAT) and wecom.sent)
        (announce,) = texts_to(telegram.sent, SUPPORT_CHAT)
        assert announce.startswith("【待接手 #1】") and "用户原话: “发票查不到”" in announce
        assert wecom.sent[0]["to"] == "agentw" and wecom.sent[0]["content"].startswith("【待接手 #1】")

        wecom_says("agentw", "/claim 1")  # the WeCom agent takes it
        wait_until(lambda: any("已接手您的问题" in t for t in texts_to(telegram.sent, 42)))
        claimed = [m for m in telegram.sent if m["params"]["chat_id"] == SUPPORT_CHAT]
        telegram.push(
            telegram.press(claimed[0]["params"]["reply_markup"]["inline_keyboard"][0][0], claimed[0], user=7001)
        )  # a Telegram agent presses "take" too late
        wait_until(lambda: "#1 已经由 agentw 接手了。" in texts_to(telegram.sent, SUPPORT_CHAT))

        bot.kill()  # a restart with the case open
        bot = BotProcess(tmp_path, env).start()
        telegram.push(telegram.message("发票号码是 24112000000016430745"))
        wait_until(lambda: any(s["content"] == "#1 用户：发票号码是 24112000000016430745" for s in wecom.sent))
        wecom_says("agentw", "收到，已查到，是今天开的，明天就能查验了")
        wait_until(lambda: "【人工客服 agentw】收到，已查到，是今天开的，明天就能查验了" in texts_to(telegram.sent, 42))
        wecom_says("agentw", "/close 1")
        wait_until(lambda: any(t.startswith("人工客服已结束本次会话") for t in texts_to(telegram.sent, 42)))

        metrics = httpx.get(f"{bot.url}/metrics").text
        assert 'outage_bot_messages_in_total{channel="telegram"}' in metrics
        assert 'outage_bot_messages_out_total{channel="wecom"}' in metrics
        assert "outage_bot_processing_seconds_bucket" in metrics and "outage_bot_open_handovers" in metrics
        log = bot.log.read_text()
        assert telegram.token not in log and "app-secret" not in log  # secrets never reach the log
    finally:
        assert bot.stop() == 0, bot.log.read_text()


def test_doctor_checks_the_credentials(fakes, tmp_path):
    telegram, wecom = fakes
    base = wecom_env(wecom) | {"OUTAGE_BOT_DB": str(tmp_path / "doctor.db"), "TELEGRAM_BASE_URL": telegram.base_url}
    good = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, "TELEGRAM_BOT_TOKEN": telegram.token, "PATH": ""},
    )
    assert good.returncode == 0, good.stdout
    assert "✓ Telegram token works: @outage_test_bot" in good.stdout and "✓ WeCom corp id" in good.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, "TELEGRAM_BOT_TOKEN": "1:wrong", "WECOM_SECRET": "nope", "PATH": ""},
    )
    assert bad.returncode == 1
    assert "✗ Telegram rejects the token" in bad.stdout and "✗ WeCom gettoken fails: errcode 40001" in bad.stdout
