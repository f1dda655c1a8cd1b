"""The WeCom intelligent bot end to end: `outage-bot run` against a fake of WeCom's long-connection
server (tests/fakes/wecom_bot_server.py) over a real WebSocket on 127.0.0.1."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from tests.bot_process import ROOT, BotProcess
from tests.conftest import random_seed
from tests.fakes.http_server import wait_until
from tests.fakes.wecom_bot_server import BOT_ID, SECRET, FakeWeComBot

GROUP = "wrkSFfCgAAxxxxfinance"


@pytest.fixture
def fake():
    server = FakeWeComBot().start()
    yield server
    server.stop()


def bot_env(fake: FakeWeComBot, **extra: str) -> dict[str, str]:
    return {
        "WECOM_BOT_ID": BOT_ID,
        "WECOM_BOT_SECRET": SECRET,
        "WECOM_BOT_WS_URL": fake.url,
        "WECOM_BOT_ADMIN_USERS": "caiwu-admin",
        "TELEGRAM_BOT_TOKEN": "",
        **extra,
    }


def turns(bot: BotProcess) -> dict[str, list[str]]:
    """What each conversation said, turn by turn, as the database recorded it."""
    with contextlib.closing(sqlite3.connect(f"file:{bot.env['OUTAGE_BOT_DB']}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT conversation, said FROM transcript WHERE said IS NOT NULL ORDER BY id").fetchall()
    out: dict[str, list[str]] = {}
    for conversation, said in rows:
        out.setdefault(conversation, []).append(said)
    return out


def settle(bot: BotProcess, quiet_s: float = 0.5) -> None:
    """Idle, and no new message taken for `quiet_s`: frames already pushed are committed by then."""
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < quiet_s:
        bot.wait_idle(timeout=60)
        with contextlib.closing(sqlite3.connect(f"file:{bot.env['OUTAGE_BOT_DB']}?mode=ro", uri=True)) as db:
            count = db.execute("SELECT count(*) FROM seen").fetchone()[0]
        if count != last:
            last, quiet_since = count, time.monotonic()
        time.sleep(0.05)


def test_group_and_one_to_one_conversations_buttons_notices_and_a_restart(fake, tmp_path):
    bot = BotProcess(tmp_path, bot_env(fake)).start()
    try:
        assert bot.wait_healthy()["channels"] == {"wecom_bot": "running"}
        # one-to-one: the day's first visit is greeted in place (aibot_respond_welcome_msg)
        fake.enter_chat("lisi")
        wait_until(lambda: any(r["cmd"] == "aibot_respond_welcome_msg" for r in fake.replies), 10, "a welcome")
        fake.say("lisi", "电子税务局打不开")
        fake.wait_for("lisi", lambda t: any("其他网站能正常打开吗" in x for x in t), what="the portal question")

        # a group: only @-mentions arrive; each member has their own conversation; replies name them
        first = fake.say("zhangsan", "开出去的发票对方查不到", chat=GROUP)
        texts = fake.wait_for(GROUP, lambda t: any(x.startswith("[card]") for x in t), what="a card in the group")
        assert any(x.startswith("<@zhangsan>") for x in texts), texts
        fake.say("wangwu", "电子税务局打不开", chat=GROUP)
        fake.wait_for(GROUP, lambda t: any(x.startswith("<@wangwu>") for x in t), what="wangwu's answer")

        # a button press: the card shows the choice at once, and the conversation goes on
        card = fake.cards(GROUP)[0]
        before = len(fake.texts(GROUP))
        fake.press("zhangsan", card, card["button_list"][0]["text"], chat=GROUP)
        wait_until(lambda: any(r["cmd"] == "aibot_respond_update_msg" for r in fake.replies), 10, "the card update")
        update = next(r for r in fake.replies if r["cmd"] == "aibot_respond_update_msg")
        assert update["body"]["template_card"]["main_title"]["desc"] == card["button_list"][0]["text"]
        fake.wait_for(GROUP, lambda t: len(t) > before, what="the answer to the press")
        # someone else's card: wangwu pressing zhangsan's button changes nobody's conversation
        fake.press("wangwu", card, card["button_list"][1]["text"], chat=GROUP)

        # a redelivered message is answered once
        fake.redeliver(first)

        # an admin subscribes the group; an outage declared from the CLI reaches it by proactive send
        fake.say("caiwu-admin", "/subscribe 财务群", chat=GROUP)
        fake.wait_for(GROUP, lambda t: any("<@caiwu-admin>" in x for x in t), what="the subscription")
        cli = [sys.executable, "-m", "bot", "outage", "start", "--summary", "全国增值税发票查验平台维护中"]
        subprocess.run(cli, cwd=ROOT, env=bot.env, check=True, capture_output=True, timeout=60)

        def notice():
            pushed = [r["body"] for r in fake.replies if r["cmd"] == "aibot_send_msg" and r["chat"] == GROUP]
            return next((b for b in pushed if "维护中" in b.get("markdown", {}).get("content", "")), None)

        assert wait_until(notice, 15, "the notice")["chat_type"] == 2
        bot.wait_idle()

        said = turns(bot)
        assert said[f"wecom_bot:{GROUP}:zhangsan"][0] == "开出去的发票对方查不到"  # once, though delivered twice
        assert said[f"wecom_bot:{GROUP}:zhangsan"].count("开出去的发票对方查不到") == 1
        assert f"wecom_bot:{GROUP}:wangwu" in said and "wecom_bot:lisi:lisi" in said

        # a restart: a new connection, the conversations where they were
        assert bot.stop() == 0
        bot.start()
        wait_until(lambda: fake.subscribes == 2, 10, "the second subscription")
        sent = len(fake.texts("lisi"))
        fake.say("lisi", "能打开")
        fake.wait_for("lisi", lambda t: len(t) > sent, what="an answer after the restart")
        bot.wait_idle()
        assert fake.violations == []
    finally:
        bot.stop()


def test_wrong_credentials_stop_run_with_a_clear_message(fake, tmp_path):
    bot = BotProcess(tmp_path, bot_env(fake, WECOM_BOT_SECRET="not-the-secret"))
    bot.start(wait_healthy=False)
    assert bot.proc.wait(timeout=30) != 0
    log = bot.log.read_text()
    assert "WECOM_BOT_ID / WECOM_BOT_SECRET: subscribe refused" in log and "853000" in log
    assert "Traceback" not in log
    assert fake.refused_subscribes == 1  # asked once, not in a loop


def test_kicked_by_a_second_connection_it_stops_and_says_so(fake, tmp_path):
    bot = BotProcess(tmp_path, bot_env(fake)).start()
    try:
        fake.kick()
        wait_until(lambda: httpx.get(f"{bot.url}/healthz").status_code == 503, 10, "healthz to say down")
        time.sleep(2.5)  # longer than the first backoffs: it must not come back and kick the other
        assert fake.subscribes == 1
        assert "replaced this one; not reconnecting" in bot.log.read_text()
    finally:
        bot.stop()


def test_a_cut_connection_comes_back_and_answers_what_arrives_after(fake, tmp_path):
    bot = BotProcess(tmp_path, bot_env(fake)).start()
    try:
        fake.say("lisi", "发票查不到")
        fake.wait_for("lisi", lambda t: len(t) >= 1)
        fake.drop()  # no close frame: a network cut
        wait_until(lambda: fake.subscribes == 2 and fake.connected, 15, "a new subscription")
        before = len(fake.texts("lisi"))
        fake.say("lisi", "/restart")
        fake.wait_for("lisi", lambda t: len(t) > before, what="an answer on the new connection")
        assert httpx.get(f"{bot.url}/healthz").status_code == 200
        assert fake.violations == []
    finally:
        bot.stop()


def test_kill_9_during_a_stream_of_group_messages_loses_nothing(fake, tmp_path):
    """Members of a group keep writing while the bot is killed (kill -9) at random moments. What the
    bot took is processed in order; whatever it had not taken when it died is delivered again once it
    is back (whether WeCom redelivers is undocumented: this is the safe assumption), and every message
    is processed exactly once."""
    rng = random.Random(random_seed())
    # within WeCom's 30 messages a minute to one chat (each answer may be a text and a card)
    members = [f"member{i}" for i in range(3)]
    words = ["发票查不到", "开票日期是昨天", "电子税务局打不开"]
    sent: dict[str, list[dict]] = {m: [] for m in members}
    bot = BotProcess(tmp_path, bot_env(fake)).start()
    kills = rng.randint(1, 3)
    try:
        for round_ in range(len(words)):
            for member in members:
                wait_until(lambda: fake.connected, 20, "a subscribed connection")
                sent[member].append(fake.say(member, words[(round_ + members.index(member)) % len(words)], chat=GROUP))
            if kills and rng.random() < 0.5:
                kills -= 1
                time.sleep(rng.uniform(0, 0.3))
                bot.kill()
                bot.start()
        wait_until(lambda: fake.connected, 20, "a subscribed connection")
        settle(bot)
        taken = turns(bot)
        for messages in sent.values():  # the platform's redelivery of anything that may not have been taken
            for body in messages:
                fake.redeliver(body)
        settle(bot)
        said = turns(bot)
        for member, messages in sent.items():
            key = f"wecom_bot:{GROUP}:{member}"
            expected = [m["text"]["content"].removeprefix("@发票助手 ") for m in messages]
            before = taken.get(key, [])
            assert before == [m for m in expected if m in before], f"{member}: taken out of order"
            assert said[key] == before + [m for m in expected if m not in before], f"{member}: not exactly once"
        assert fake.violations == []
    finally:
        bot.stop()


def test_doctor_reaches_the_server_without_replacing_a_running_bot(fake, tmp_path):
    env = BotProcess(tmp_path, bot_env(fake)).env
    result = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert f"WeCom intelligent bot: {fake.url} reachable" in result.stdout, result.stdout + result.stderr
    assert fake.subscribes == 0  # a subscribe would have thrown out the running bot's connection
    env["WECOM_BOT_WS_URL"] = "ws://127.0.0.1:9"  # nothing listens there
    result = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "not reachable" in result.stdout and "Traceback" not in result.stderr
