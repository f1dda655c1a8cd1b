"""Outage communication end to end: the status page (GET /status and /status.json, for anyone,
nothing personal, as a real browser shows it at phone and desktop widths), and a running bot's
promised updates, maintenance windows, subscriptions and crowd alerts through the platform fakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from PIL import Image, ImageStat

from bot.features.outages import Outages
from bot.status_page import CACHE_S, StatusPage
from bot.web import build_web
from tests import browser
from tests.bot_process import BotProcess
from tests.conftest import NOW
from tests.fakes.http_server import wait_until
from tests.fakes.wecom_api import WeComCallbacks
from tests.test_cli import run
from tests.test_telegram import env_for
from tests.test_wecom import wecom_env


@pytest.fixture
def app(console_app):
    return console_app


async def _page(app, path: str, **headers) -> httpx.Response:
    web = build_web(app.store, [], None, StatusPage(app.store, app.catalog, app.settings.tz, app.clock).routes())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://bot") as client:
        return await client.get(path, headers=headers)


async def test_current_outages_the_last_30_days_and_nothing_personal(app):
    outages, book = Outages(app.store, app.catalog, app.calendar), app.catalog.playbooks[0]
    await outages.start(book, "很久以前的故障", None, None, None, NOW - timedelta(days=40))
    await outages.resolve(book, NOW - timedelta(days=39))
    await outages.start(book, "查验平台维护", "北京", None, "https://example.com/notice", NOW - timedelta(days=3))
    await outages.resolve(book, NOW - timedelta(days=3) + timedelta(hours=5))
    await outages.start(
        book, "电子税务局登录缓慢 <b>x</b>", None, "2026-03-02 18:00", None, NOW - timedelta(minutes=40)
    )
    await app.store.add_record("telegram:42", "24112000000016430745", "113.00", "2026-03-01", "某某公司", NOW)
    data = (await _page(app, "/status.json")).json()
    (current,) = data["current"]
    assert (current["summary"], current["region"], current["expected_back"]) == (
        "电子税务局登录缓慢 <b>x</b>", None, "2026-03-02 18:00")  # fmt: skip
    assert current["started_at"] == "2026-03-02 09:20" and current["title"] == "税务发票系统"
    (past,) = data["history"]  # the one 40 days ago is history no more
    assert (past["summary"], past["region"], past["lasted_minutes"]) == ("查验平台维护", "北京", 300)
    page = await _page(app, "/status")
    assert page.headers["content-type"].startswith("text/html") and "<script" not in page.text
    assert "电子税务局登录缓慢 &lt;b&gt;x&lt;/b&gt;" in page.text and "全部地区" in page.text
    assert "24112000000016430745" not in page.text + str(data) and "某某公司" not in page.text
    english = await _page(app, "/status", **{"accept-language": "en-US,en;q=0.9"})
    assert "Current outages" in english.text and "Tax invoice system" in english.text
    assert "当前故障" in (await _page(app, "/status?lang=zh", **{"accept-language": "en"})).text


async def test_no_outage_says_so_and_the_page_is_read_from_the_database_at_most_every_few_seconds(app):
    assert "目前没有已知的故障" in (await _page(app, "/status?lang=bogus")).text
    page = StatusPage(app.store, app.catalog, app.settings.tz, app.clock)
    assert (await page.snapshot("zh"))["current"] == []
    outages = Outages(app.store, app.catalog, app.calendar)
    await outages.start(app.catalog.playbooks[0], "刚刚开始", None, None, None, NOW)
    assert (await page.snapshot("zh"))["current"] == []  # still the cached read
    page._cached = (page._cached[0] - CACHE_S - 1, page._cached[1])
    assert [o["summary"] for o in (await page.snapshot("zh"))["current"]] == ["刚刚开始"]


def test_notices_link_to_the_status_page_when_the_bot_is_public(tmp_path):
    env = {"OUTAGE_BOT_DB": str(tmp_path / "n.db"), "PUBLIC_BASE_URL": "https://bot.example.com/"}
    result = run("outage", "start", "--summary", "查验平台维护", "--dry-run", env=env)
    assert "状态页：https://bot.example.com/status?lang=zh" in result.stdout
    assert "Status page: https://bot.example.com/status?lang=en" in result.stdout
    bad = run("outage", "status", env={**env, "PUBLIC_BASE_URL": "javascript:alert(1)"})
    assert bad.returncode == 2 and "PUBLIC_BASE_URL" in bad.stderr


def test_a_running_bot_tells_admins_and_groups_when_a_promised_update_is_late(telegram, tmp_path):
    bot = BotProcess(tmp_path, env_for(telegram, TELEGRAM_ADMIN_IDS="42")).start()
    try:
        env = {"OUTAGE_BOT_DB": bot.env["OUTAGE_BOT_DB"]}
        telegram.push(telegram.message("/subscribe", user=42, chat=-100777))  # an admin subscribes a group
        telegram.wait_sent(1)
        soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
        started = run("outage", "start", "--summary", "查验平台维护", "--next-update", soon, env=env)
        assert started.returncode == 0, started.stderr
        sent = telegram.wait_sent(4, timeout=40)  # the notice, then once overdue: the group and the admin
        by_chat = {s["params"]["chat_id"]: s["params"]["text"] for s in sent[2:]}
        assert "故障仍在处理" in by_chat[-100777] and "还没有发布" in by_chat[42]
        assert json.loads(httpx.get(f"{bot.url}/status.json").text)["current"][0]["next_update_by"]
    finally:
        assert bot.stop() == 0, bot.log.read_text()


def test_a_running_bot_opens_and_closes_a_maintenance_window_by_itself(telegram, tmp_path):
    bot = BotProcess(tmp_path, env_for(telegram)).start()
    try:
        env = {"OUTAGE_BOT_DB": bot.env["OUTAGE_BOT_DB"]}
        telegram.push(telegram.message("/subscribe 查验平台", user=43))  # a person, in their own chat
        telegram.wait_sent(1)
        starts, ends = (datetime.now(UTC) + timedelta(seconds=s) for s in (12, 20))  # duties run every 5 s
        made = run("outage", "schedule", "--summary", "查验平台升级", "--component", "verify",
                   "--from", starts.isoformat(), "--until", ends.isoformat(), env=env)  # fmt: skip
        assert made.returncode == 0, made.stderr
        scheduled = json.loads(httpx.get(f"{bot.url}/status.json").text)["scheduled"]
        assert [w["summary"] for w in scheduled] == ["查验平台升级"]
        texts = [s["params"]["text"] for s in telegram.wait_sent(5, timeout=60)[1:]]
        assert [t.split("】")[0] for t in texts] == [
            "【维护预告",
            "【维护即将开始",
            "【发票系统故障通报",
            "【发票系统已恢复",
        ]
    finally:
        assert bot.stop() == 0, bot.log.read_text()


def test_a_running_bot_alerts_its_admin_when_many_report_one_symptom_and_one_tap_declares_it(telegram, tmp_path):
    bot = BotProcess(tmp_path, env_for(telegram, TELEGRAM_ADMIN_IDS="42", CROWD_ALERT_MIN_REPORTS="5")).start()
    try:
        for user in range(101, 106):  # five people, one after another, each in their own chat
            telegram.push(telegram.message("发票查不到了", user=user))
        alert = wait_until(
            lambda: next((s for s in telegram.sent if s["params"]["chat_id"] == 42), None), 30, "the admin's alert"
        )
        assert "5 人反映“发票查不到 / 查询结果为空”" in alert["params"]["text"]
        (button,) = [row[0] for row in alert["params"]["reply_markup"]["inline_keyboard"]]
        telegram.push(telegram.press(button, alert, user=42))
        wait_until(lambda: any("已发布故障通报" in s["params"]["text"] for s in telegram.sent), 15, "the declaration")
        (outage,) = json.loads(httpx.get(f"{bot.url}/status.json").text)["current"]
        assert outage["summary"].startswith("多人反映：发票查不到")
    finally:
        assert bot.stop() == 0, bot.log.read_text()


def test_the_page_in_a_real_browser_at_phone_and_desktop_widths(telegram, tmp_path):
    chromium = browser.chromium()
    bot = BotProcess(tmp_path, env_for(telegram)).start()
    try:
        env = {"OUTAGE_BOT_DB": bot.env["OUTAGE_BOT_DB"]}
        started = run("outage", "start", "--summary", "发票查验平台维护，部分地区查验失败", "--region", "北京",
                      "--until", "23:30", "--link", "https://example.com/notice", env=env)  # fmt: skip
        assert started.returncode == 0, started.stderr
        url = f"{bot.url}/status"
        for width in (390, 1280):
            shown = browser.dom(chromium, url, width)
            assert "发票查验平台维护，部分地区查验失败" in shown and "北京" in shown
            shot = browser.screenshot(chromium, url, tmp_path / f"status-{width}.png", width, 900)
            with Image.open(shot) as image:
                assert image.width == width
                assert ImageStat.Stat(image.convert("L")).stddev[0] > 10  # something drawn, not a blank page
        english = browser.dom(chromium, f"{url}?lang=en", 390)
        assert "Current outages" in english and "Expected back" in english
    finally:
        assert bot.stop() == 0, bot.log.read_text()


def test_through_wecom_a_person_subscribes_and_hears_of_outages_and_the_admin_of_a_crowd(wecom, tmp_path):
    bot = BotProcess(tmp_path, wecom_env(wecom, WECOM_ADMIN_USERS="caiwu-admin", CROWD_ALERT_MIN_REPORTS="3")).start()
    callbacks, url = WeComCallbacks(httpx.Client()), f"{bot.url}/wecom/callback"

    def say(user: str, text: str) -> None:
        params, body = callbacks.envelope(callbacks.text_xml(user, text, callbacks.next_id()))
        assert httpx.post(url, params=params, content=body).status_code == 200

    try:
        say("lisi", "/subscribe 查验平台 北京")
        wait_until(lambda: any("已订阅：查验平台（北京）" in s["content"] for s in wecom.sent), 15, "the subscription")
        env = {"OUTAGE_BOT_DB": bot.env["OUTAGE_BOT_DB"]}
        started = run("outage", "start", "--summary", "查验平台维护", "--component", "verify", "--region", "北京",
                      env=env)  # fmt: skip
        assert started.returncode == 0, started.stderr
        wait_until(lambda: any(s["to"] == "lisi" and "查验平台维护" in s["content"] for s in wecom.sent), 15, "lisi")
        for user in ("zhang", "wang", "zhao"):
            say(user, "电子税务局打不开")
        alert = wait_until(
            lambda: next((s for s in wecom.sent if s["to"] == "caiwu-admin"), None), 30, "the admin's alert"
        )
        assert "3 人反映“系统打不开" in alert["content"] and "/outage declare 1" in alert["content"]
        assert "1. 宣布故障" not in alert["content"]  # no numbered option: typed numbers answer questions
    finally:
        assert bot.stop() == 0, bot.log.read_text()
