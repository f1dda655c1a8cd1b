"""The real python-telegram-bot inside `outage-bot run`, against a local fake Bot API server."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.channels.telegram.channel import NOT_YOUR_BUTTON
from bot.channels.telegram.format import callback_data, parse_callback_data, split_payload, split_text, to_message
from tests.bot_process import BotProcess
from tests.fakes.telegram_api import BOT, FakeTelegram

SECRET = "s3cret-token_for-tests"


def env_for(fake: FakeTelegram, **extra: str) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url, "TELEGRAM_ADMIN_IDS": "", **extra}


@pytest.fixture
def polling_bot(telegram, tmp_path):
    bot = BotProcess(tmp_path, env_for(telegram)).start()
    yield bot
    assert bot.stop() == 0, bot.log.read_text()


def keyboard(sent: dict) -> list[dict]:
    return [row[0] for row in sent["params"]["reply_markup"]["inline_keyboard"]]


def test_polling_conversation_with_buttons(telegram, polling_bot):
    assert polling_bot.wait_healthy()["channels"] == {"telegram": "running"}
    telegram.push(telegram.message("发票查不到 <b>急</b>"))
    (first,) = telegram.wait_sent(1)
    assert first["params"]["parse_mode"] == "HTML"
    assert "是在哪里查不到这张发票" in first["params"]["text"]
    buttons = keyboard(first)
    assert buttons[0]["text"] == "查验平台提示“查无此票”"
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)

    telegram.push(telegram.press(buttons[0], first))
    second = telegram.wait_sent(2)[1]
    assert "什么时候开具" in second["params"]["text"]
    assert telegram.calls_to("answerCallbackQuery")
    commands = telegram.calls_to("setMyCommands")
    assert {c.get("language_code") for c in commands} >= {"zh", "en"}
    assert telegram.calls_to("deleteWebhook") and not telegram.calls_to("setWebhook")


def test_user_text_is_escaped_and_language_follows_the_user(telegram, polling_bot):
    telegram.push(telegram.message("/lang", lang="en"))
    (reply,) = telegram.wait_sent(1)
    assert "Usage: /lang zh" in reply["params"]["text"]
    telegram.push(telegram.message("hello", user=43, lang="en"))
    reply = telegram.wait_sent(2)[1]
    assert "Choose what you are seeing" in reply["params"]["text"]
    telegram.push(telegram.message("<i>what</i>", user=43, lang="en"))  # echoed back as not understood
    reply = telegram.wait_sent(3)[2]
    assert "&lt;i&gt;what&lt;/i&gt;" in reply["params"]["text"] and "<i>" not in reply["params"]["text"]


def test_a_redelivered_update_is_answered_once(telegram, polling_bot):
    update = telegram.message("发票查不到")
    telegram.push(update)
    telegram.wait_sent(1)
    telegram.push(dict(update))  # Telegram delivers the same update_id again
    telegram.push(telegram.message("/help"))
    sent = telegram.wait_sent(2)
    polling_bot.wait_idle(pending_elsewhere=telegram.unconfirmed)
    assert len(telegram.sent) == 2 and "/contacts" in sent[1]["params"]["text"]


def test_group_members_have_their_own_conversations(telegram, polling_bot):
    group = -100123
    telegram.push(telegram.message("大家好，今天谁去吃饭", user=1, chat=group))  # chatter: ignored
    telegram.push(
        telegram.message(
            "@outage_test_bot 发票查不到", user=1, chat=group, entities=[{"type": "mention", "offset": 0, "length": 16}]
        )
    )
    (for_alice,) = telegram.wait_sent(1)
    assert "是在哪里查不到" in for_alice["params"]["text"]
    assert for_alice["params"]["reply_parameters"]["message_id"]  # threads to Alice's message

    telegram.push(telegram.press(keyboard(for_alice)[0], for_alice, user=2))  # Bob presses Alice's button
    deadline = time.monotonic() + 5
    while not telegram.calls_to("answerCallbackQuery") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert telegram.calls_to("answerCallbackQuery")[-1]["text"] == NOT_YOUR_BUTTON["zh"]

    telegram.push(telegram.message("/start@outage_test_bot", user=2, chat=group))
    telegram.push(telegram.message("/start@some_other_bot", user=3, chat=group))  # not for us
    for_bob = telegram.wait_sent(2)[1]
    assert "请选择您遇到的情况" in for_bob["params"]["text"]

    telegram.push(telegram.press(keyboard(for_alice)[0], for_alice, user=1))  # Alice's own press
    next_for_alice = telegram.wait_sent(3)[2]
    assert "什么时候开具" in next_for_alice["params"]["text"]
    reply_to_bot = telegram.message("昨天开的", user=1, chat=group, reply_to_message=next_for_alice["message"])
    telegram.push(reply_to_bot)
    assert "上传状态" in telegram.wait_sent(4)[3]["params"]["text"]
    polling_bot.wait_idle(pending_elsewhere=telegram.unconfirmed)
    assert len(telegram.sent) == 4


def test_429_is_honoured_and_the_message_still_arrives(telegram, polling_bot):
    telegram.fail_sends = [1]
    telegram.push(telegram.message("发票查不到"))
    telegram.wait_sent(1)
    assert len(telegram.calls_to("sendMessage")) == 2
    assert telegram.violations == []  # the second try waited out retry_after, as Telegram sees it


def test_webhook_mode_checks_the_secret_and_answers_after_commit(telegram, tmp_path):
    bot = BotProcess(
        tmp_path,
        env_for(telegram, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_URL="https://bot.example/telegram/webhook"),
    ).start()
    try:
        (hook,) = telegram.calls_to("setWebhook")
        assert hook["url"] == "https://bot.example/telegram/webhook" and hook["secret_token"] == SECRET
        update = telegram.message("开不了发票")
        url = f"{bot.url}/telegram/webhook"
        assert httpx.post(url, json=update).status_code == 403
        assert httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403
        good = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        assert httpx.post(url, content=b"{not json", headers=good).status_code == 400
        assert httpx.post(url, json=["no"], headers=good).status_code == 400
        assert httpx.post(url, content=b"x" * (1024 * 1024 + 1), headers=good).status_code == 413
        assert httpx.post(url, json=update, headers=good).status_code == 200
        assert httpx.post(url, json=update, headers=good).status_code == 200  # Telegram's retry
        (reply,) = telegram.wait_sent(1)
        assert "开票时是什么情况" in reply["params"]["text"]
        bot.wait_idle()
        assert len(telegram.sent) == 1
        assert bot.wait_healthy()["status"] == "ok"
    finally:
        assert bot.stop() == 0


def test_kill_9_mid_send_and_restart_loses_nothing_and_old_buttons_work(telegram, tmp_path):
    env = env_for(telegram, TELEGRAM_WEBHOOK_SECRET=SECRET, TELEGRAM_WEBHOOK_URL="https://bot.example/hook")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    bot = BotProcess(tmp_path, env).start()
    httpx.post(f"{bot.url}/telegram/webhook", json=telegram.message("发票查不到"), headers=headers)
    (first,) = telegram.wait_sent(1)

    telegram.holding = True  # the next send gets stuck on its way to Telegram
    press = telegram.press(keyboard(first)[1], first)
    assert httpx.post(f"{bot.url}/telegram/webhook", json=press, headers=headers).status_code == 200
    deadline = time.monotonic() + 5
    while len(telegram.calls_to("sendMessage")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    bot.kill()  # acknowledged to Telegram, decided, not yet delivered
    telegram.drop_held, telegram.holding = True, False
    assert len(telegram.sent) == 1

    bot = BotProcess(tmp_path, env).start()
    try:
        second = telegram.wait_sent(2)[1]
        assert "什么时候开具" in second["params"]["text"]  # the reply decided before the kill
        restarted = BotProcess(tmp_path, env)  # and once more, so the buttons outlive the process
        bot.stop()
        bot = restarted.start()
        today = telegram.press(keyboard(second)[0], second)
        assert httpx.post(f"{bot.url}/telegram/webhook", json=today, headers=headers).status_code == 200
        assert "上传状态" in telegram.wait_sent(3)[2]["params"]["text"]
        stale = telegram.press(keyboard(first)[0], first)  # a button from an earlier question
        assert httpx.post(f"{bot.url}/telegram/webhook", json=stale, headers=headers).status_code == 200
        assert "请从下面的选项中选择" in telegram.wait_sent(4)[3]["params"]["text"]
        bot.wait_idle()
        texts = [m["params"]["text"] for m in telegram.sent]
        assert len(texts) == len(set(texts)) == 4  # nothing twice
    finally:
        assert bot.stop() == 0


def test_callback_data_round_trip_and_limits():
    data = callback_data("123456789012", "cause:wrong_buyer_tax_id")
    assert parse_callback_data(data) == (123456789012, "cause:wrong_buyer_tax_id")
    longest = callback_data(str(2**52), "symptom:" + "x" * 40)
    assert len(longest.encode()) <= 64
    assert parse_callback_data("garbage") is None


def test_long_texts_are_split_with_options_on_the_last_part():
    text = "\n\n".join(f"第{i}段：" + "发票" * 300 for i in range(12))
    parts = split_payload({"text": text, "options": [{"key": "a", "label": "A"}], "user": "1"})
    assert len(parts) > 1 and all(len(p["text"]) <= 4096 for p in parts)
    assert [bool(p["options"]) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert "".join(split_text("x" * 9000)) == "x" * 9000
    assert to_message({"text": "a<b>&", "options": []}, "1")["text"] == "a&lt;b&gt;&amp;"


def test_the_fake_knows_our_bot():
    assert BOT["username"] == "outage_test_bot"
