"""What an outside attack on `outage-bot run` and the CLI broke, each proven fixed: XML in other
encodings, spreadsheet formulas in exports, secrets kept with delivery errors, command-line paths
and ids that are not what they seem, and operator input that would mislead every group."""

from __future__ import annotations

import asyncio
import csv
import io
import socket
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.channels.wecom_app import channel as wecom_channel
from bot.channels.wecom_app.channel import _parse_xml
from bot.channels.wecom_app.envelope import CallbackRejected
from bot.store.base import Failed, OutboundMessage, Retry
from bot.store.sqlite import SqliteStore
from tests.fakes.http_server import wait_until
from tests.fakes.wecom_api import WeComCallbacks
from tests.test_cli import env, run  # noqa: F401  (env is a fixture)
from tests.test_wecom import LAUGHS, running_bot  # noqa: F401  (a fixture)

LAUGHS_UTF16 = LAUGHS.decode("ascii").replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')


@pytest.mark.parametrize(
    "body",
    [
        LAUGHS_UTF16.encode("utf-16"),  # with a byte order mark
        LAUGHS_UTF16.encode("utf-16-le"),  # without one: every other byte is NUL
        LAUGHS_UTF16.encode("utf-16-be"),
        b'<?xml version="1.0" encoding="ISO-8859-1"?><xml><Encrypt>x</Encrypt></xml>',
    ],
    ids=["utf-16 with BOM", "utf-16-le", "utf-16-be", "latin-1 declared"],
)
def test_an_envelope_in_another_encoding_is_refused_before_any_parser_sees_it(body, monkeypatch):
    def parser_must_not_run(*args, **kwargs):
        raise AssertionError("the XML parser was reached")

    monkeypatch.setattr(wecom_channel, "defused_fromstring", parser_must_not_run)
    with pytest.raises(CallbackRejected) as refused:
        _parse_xml(body)
    assert refused.value.status == 400 and refused.value.reason == "only UTF-8 XML is accepted"


def test_a_dtd_the_byte_scan_cannot_see_is_refused_by_the_parser_itself(monkeypatch):
    monkeypatch.setattr(wecom_channel, "_ENTITIES", wecom_channel.re.compile(rb"(?!)"))  # a scan that sees nothing
    with pytest.raises(CallbackRejected, match="DOCTYPE or ENTITY"):
        _parse_xml(LAUGHS)
    assert _parse_xml(b"<xml><Encrypt>x</Encrypt></xml>").find("Encrypt").text == "x"


def test_a_running_bot_answers_a_utf16_billion_laughs_with_400_and_keeps_serving(wecom, running_bot):  # noqa: F811
    url = f"{running_bot.url}/wecom/callback"
    callbacks = WeComCallbacks(httpx.Client())
    params, good = callbacks.envelope(callbacks.text_xml("u1", "发票查不到", callbacks.next_id()))
    for _ in range(20):
        assert httpx.post(url, params=params, content=LAUGHS_UTF16.encode("utf-16")).status_code == 400
    assert httpx.post(url, params=params, content=good).status_code == 200
    assert wecom.wait_sent(1)[0]["to"] == "u1"


def _record(env: dict, counterparty: str) -> None:  # noqa: F811
    said = "\n".join(["/record", "24112000000016430745", "100.00", "2026-03-01", counterparty]) + "\n"
    assert run("chat", "--user", "finance", stdin=said, env=env).returncode == 0


FORMULAS = [
    '=HYPERLINK("http://evil.example","点我")',
    "+SUM(1,2)",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1,2)",
    "\t=1+1",
    " =1+1",
]


def test_a_csv_export_opened_like_a_spreadsheet_runs_no_formula(env):  # noqa: F811
    for counterparty in [*FORMULAS, "\u202egpj.exe 公司"]:
        _record(env, counterparty)
    exported = run("records", "export", "--csv", env=env)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.reader(io.StringIO(exported.stdout.lstrip("\ufeff"))))
    counterparties = [row[5] for row in rows[1:]]
    assert len(counterparties) == len(FORMULAS) + 1
    for cell in counterparties:
        # a spreadsheet trims leading blanks and runs what starts with = + - @; an apostrophe makes it text
        assert cell.startswith("'") or not cell.lstrip().startswith(("=", "+", "-", "@")), cell
    assert counterparties[-1] == "gpj.exe 公司"  # the right-to-left override is not stored


def test_a_delivery_error_is_kept_without_the_secrets_in_its_url(tmp_path):
    async def scenario() -> list[str]:
        async with SqliteStore(tmp_path / "errors.db") as store:
            now = datetime.now(UTC)
            message = OutboundMessage("wecom", "u1", {"text": "hi"})
            await store.enqueue([message, message], now)
            rows = await store.db.execute_fetchall("SELECT id FROM outbox ORDER BY id")
            (first,), (second,) = rows
            await store.settle(
                [
                    Retry(first, now, "500 from https://qyapi.weixin.qq.com/cgi-bin/message/send?access_token=SeCrEt1"),
                    Failed(second, "404 from https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SeCrEt2&debug=1"),
                ],
                now,
            )
            return [e for (e,) in await store.db.execute_fetchall("SELECT last_error FROM outbox ORDER BY id")]

    errors = asyncio.run(scenario())
    assert errors == [
        "500 from https://qyapi.weixin.qq.com/cgi-bin/message/send?access_token=***",
        "404 from https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***&debug=1",
    ]


def test_commands_that_read_a_database_refuse_bad_paths_in_one_line_and_create_nothing(env, tmp_path):  # noqa: F811
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("not a database\n", encoding="utf-8")
    typo = tmp_path / "typo.db"
    cases = {
        "/proc/self/status": "is not an SQLite database",
        str(tmp_path): "is not a file",
        str(not_sqlite): "is not an SQLite database",
        str(typo): "no database at",
    }
    readers = [
        ["stats"],
        ["outage", "status"],
        ["records", "export"],
        ["backup", str(tmp_path / "out.db")],
    ]
    for path, reason in cases.items():
        for verb in readers:
            result = run(*verb, "--db", path, env=env, timeout=30)
            assert result.returncode == 1, (verb, path, result.stderr)
            assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    chat = run("chat", "--db", str(not_sqlite), stdin="发票查不到\n", env=env, timeout=30)
    assert chat.returncode == 1 and "is not an SQLite database" in chat.stderr and "Traceback" not in chat.stderr
    assert not typo.exists() and not (tmp_path / "out.db").exists()


def test_backups_and_exports_onto_impossible_targets_are_refused(env, tmp_path):  # noqa: F811
    assert run("chat", stdin="发票查不到\n", env=env).returncode == 0
    database = Path(env["OUTAGE_BOT_DB"])
    link = tmp_path / "hardlink.db"
    link.hardlink_to(database)
    for target in (database, Path(f"{database}-wal"), Path(f"{database}-shm"), link):
        result = run("backup", str(target), env=env)
        assert result.returncode == 2 and "live database" in result.stderr, (target, result.stderr)
    missing = run("records", "export", "-o", str(tmp_path / "missing" / "r.csv"), env=env)
    assert missing.returncode == 1 and "is not a directory" in missing.stderr
    url = run("stats", env={**env, "OUTAGE_BOT_DB": "mysql://bot@db.example/outage"})
    assert url.returncode == 2 and "a SQLite file or a postgresql:// URL" in url.stderr
    unknown = run("stats", env={**env, "OUTAGE_BOT_DB": "postgresql://bot@db.invalid/outage"})
    assert unknown.returncode == 1 and "db.invalid" in unknown.stderr and "Traceback" not in unknown.stderr
    assert not Path("postgresql:").exists()


def test_a_user_id_with_a_colon_is_a_user_like_any_other(env):  # noqa: F811
    result = run("chat", "--user", "g1:A", stdin="发票查不到\n", env=env)
    assert result.returncode == 0 and "是在哪里查不到这张发票" in result.stdout
    again = run("chat", "--user", "g1:A", stdin="1\n", env=env)
    assert "什么时候开具" in again.stdout  # the same conversation, read back under the same key


def test_an_outage_declaration_that_would_mislead_the_groups_is_refused(env):  # noqa: F811
    cases = {
        ("--summary", "   "): "the summary is empty",
        ("--summary", "维护", "--until", "2020-01-01T10:00"): "is in the past",
        ("--summary", "维护", "--link", "javascript:alert(1)"): "give an http(s) address",
        ("--summary", "维护", "--link", "file:///etc/passwd"): "give an http(s) address",
    }
    for extra, reason in cases.items():
        result = run("outage", "start", *extra, env=env)
        assert result.returncode == 1 and reason in result.stderr, (extra, result.stderr)
    assert run("outage", "status", env=env).stdout.strip() == "no open outage"
    ok = run("outage", "start", "--summary", "维护", "--link", "https://etax.example/notice", env=env)
    assert ok.returncode == 0, ok.stderr


def test_stats_of_a_quiet_database_print_words_not_none(env):  # noqa: F811
    assert run("chat", stdin="你好\n", env=env).returncode == 0
    printed = run("stats", env=env).stdout
    assert "None" not in printed and "()" not in printed
    assert "median time to claim n/a" in printed


def test_texts_longer_than_the_platforms_allow_are_cut_before_anything_reads_them(fakes, tmp_path):
    from tests.bot_process import BotProcess
    from tests.test_reliability import SECRET, both_channels

    telegram, wecom_api = fakes
    bot = BotProcess(tmp_path, both_channels(wecom_api, telegram)).start()
    try:
        huge = "发票查不到" * 60_000  # 900 KB of UTF-8, under the webhook's 1 MB
        update = telegram.message(huge, user=7001)
        response = httpx.post(
            f"{bot.url}/telegram/webhook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=10
        )
        assert response.status_code == 200
        callbacks = WeComCallbacks(httpx.Client())
        params, body = callbacks.envelope(callbacks.text_xml("w1", "发票查不到" * 1000, callbacks.next_id()))
        assert httpx.post(f"{bot.url}/wecom/callback", params=params, content=body).status_code == 200
        assert telegram.wait_sent(1) and wecom_api.wait_sent(1)
    finally:
        assert bot.stop() == 0, bot.log.read_text()
    with sqlite3.connect(tmp_path / "bot.db") as db:
        said = dict(db.execute("SELECT conversation, said FROM transcript WHERE said IS NOT NULL"))
    assert len(said["telegram:7001:7001"]) == 4096
    assert len(said["wecom:w1:w1"].encode("utf-8")) <= 2048


def test_a_long_message_is_read_off_the_event_loop(tmp_path, monkeypatch):
    from bot import config
    from bot.app import open_app
    from bot.engine.types import ConversationKey, Inbound
    from bot.runtime import dispatcher as dispatcher_module

    where: list[str] = []
    real_step = dispatcher_module.step

    def recording_step(*args):
        where.append(threading.current_thread().name)
        return real_step(*args)

    monkeypatch.setattr(dispatcher_module, "step", recording_step)
    monkeypatch.setenv("OUTAGE_BOT_DB", str(tmp_path / "loop.db"))

    async def scenario() -> None:
        app = await open_app(config.load_settings())
        try:
            key = ConversationKey("console", "u", "u")
            now = app.clock.now()
            await app.dispatcher.submit("console", "short", Inbound(key, now, text="发票查不到"))
            await app.dispatcher.submit("console", "long", Inbound(key, now, text="发票查不到" * 800))
            await app.dispatcher.drain()
        finally:
            await app.close()

    asyncio.run(scenario())
    main = threading.main_thread().name
    assert where[0] == main and where[1] != main  # the short one in place, the long one in a worker


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Wait until the server closes the connection (recv gives b'' or a reset), up to `within` s."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_slow_and_idle_clients_are_cut_off_and_healthz_keeps_room(fakes, tmp_path):
    from tests.bot_process import BotProcess
    from tests.test_reliability import both_channels

    telegram, wecom_api = fakes
    limits = {"HTTP_HEADER_TIMEOUT_S": "1", "HTTP_BODY_TIMEOUT_S": "1", "HTTP_MAX_CONNECTIONS": "20"}
    bot = BotProcess(tmp_path, {**both_channels(wecom_api, telegram), **limits}).start()
    address = ("127.0.0.1", bot.port)
    try:
        half_header = socket.create_connection(address)
        half_header.sendall(b"POST /wecom/callback HTTP/1.1\r\nHost: bot\r\n")
        assert _closed_by_server(half_header, within=10)

        trickle = socket.create_connection(address)
        trickle.sendall(b"POST /telegram/webhook HTTP/1.1\r\nHost: bot\r\nContent-Length: 1000\r\n\r\n")
        cut = False
        for _ in range(40):  # one byte every 0.1 s would take 100 s for the body
            try:
                trickle.sendall(b"x")
            except OSError:
                cut = True
                break
            if _closed_by_server(trickle, within=0.1):
                cut = True
                break
        assert cut

        idle = [socket.create_connection(address) for _ in range(30)]  # more than HTTP_MAX_CONNECTIONS
        try:
            assert httpx.get(f"{bot.url}/healthz", timeout=5).status_code == 200  # room kept for the monitor
            crowded = httpx.post(f"{bot.url}/wecom/callback", content=b"<xml/>", timeout=5)
            assert crowded.status_code == 503
        finally:
            for sock in idle:
                sock.close()
        wait_until(
            lambda: httpx.post(f"{bot.url}/wecom/callback", content=b"<xml/>", timeout=5).status_code == 400,
            15,
            "service again",
        )
    finally:
        assert bot.stop() == 0, bot.log.read_text()


class _Deliveries:
    name = "console"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def deliver(self, message: OutboundMessage) -> str | None:
        self.sent.append(message.payload["text"])
        return None


async def _fill_the_disk(store: SqliteStore) -> None:
    """SQLite's own 'database or disk is full': no page may be added to the file any more."""
    await store.db.execute("VACUUM")  # no free page left inside the file either
    (pages,) = (await store.db.execute_fetchall("PRAGMA page_count"))[0]
    await store.db.execute(f"PRAGMA max_page_count = {pages}")


async def _free_the_disk(store: SqliteStore) -> None:
    await store.db.execute("PRAGMA max_page_count = 1073741823")


def test_while_commits_fail_healthz_says_503_the_log_says_it_once_and_nothing_is_lost(tmp_path, caplog):
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bot.engine.types import ConversationKey, Inbound
    from bot.runtime.clock import ManualClock
    from bot.runtime.sender import Sender
    from bot.web import build_web

    class Callbacks:
        name = "console"

        def __init__(self, store: SqliteStore) -> None:
            self.store, self.n = store, 0

        def healthy(self) -> bool:
            return True

        def routes(self) -> list[Route]:
            async def callback(request):
                self.n += 1
                key = ConversationKey("console", "u", "u")
                await self.store.accept("console", f"m{self.n}", Inbound(key, datetime.now(UTC), text="x" * 5000))
                return PlainTextResponse("")  # never reached while the disk is full

            return [Route("/callback", callback, methods=["POST"])]

    async def scenario() -> dict:
        async with SqliteStore(tmp_path / "full.db") as store:
            web = build_web(store, [Callbacks(store)])
            deliveries = _Deliveries()
            clock = ManualClock(datetime(2026, 3, 2, tzinfo=UTC))
            sender = Sender(store, clock, deliveries)
            await store.enqueue([OutboundMessage("console", "u", {"text": "回复"})], clock.now())
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://bot") as client:
                assert (await client.get("/healthz")).status_code == 200
                await _fill_the_disk(store)
                statuses = [(await client.post("/callback")).status_code for _ in range(300)]
                health = await client.get("/healthz")
                await sender.flush()  # delivered, but the outcome can't be recorded
                await sender.flush()  # … and it is not sent again meanwhile
                sent_while_full = list(deliveries.sent)
                await _free_the_disk(store)
                await sender.flush()  # the outcome is recorded first
                assert (await client.post("/callback")).status_code != 503
                healed = await client.get("/healthz")
                left = await store.db.execute_fetchall("SELECT count(*) FROM outbox")
            return {
                "statuses": set(statuses),
                "health": (health.status_code, health.json()["database"]),
                "sent_while_full": sent_while_full,
                "sent": deliveries.sent,
                "healed": healed.status_code,
                "outbox_left": left[0][0],
            }

    with caplog.at_level("INFO"):
        seen = asyncio.run(scenario())
    assert seen["statuses"] == {503}
    assert seen["health"] == (503, "error: writes failing: database or disk is full")
    assert seen["sent_while_full"] == ["回复"] and seen["sent"] == ["回复"]
    assert seen["healed"] == 200 and seen["outbox_left"] == 0
    failing = [r for r in caplog.records if "database writes failing" in r.getMessage()]
    assert len(failing) == 1 and not any(r.exc_info for r in caplog.records)
    assert any("database writes work again" in r.getMessage() for r in caplog.records)


def test_a_loop_meeting_a_database_error_keeps_running(monkeypatch):
    from bot.runtime import wake

    monkeypatch.setattr(wake, "MAX_BACKOFF_S", 0.01)

    class Flaky(wake.Loop):
        interval = 0.001

        def __init__(self) -> None:
            super().__init__()
            self.ticks = 0

        async def tick(self) -> int:
            self.ticks += 1
            if self.ticks < 3:
                raise sqlite3.OperationalError("database or disk is full")
            self.stop()
            return 0

    loop = Flaky()
    asyncio.run(loop.run())
    assert loop.ticks == 3


async def test_a_group_send_answered_too_late_is_not_repeated_nor_after_a_crash(wecom, tmp_path, monkeypatch):
    from bot.app import open_app
    from bot.channels.wecom_app import channel as wecom_module
    from bot.channels.wecom_app.channel import WeComChannel
    from bot.config import load_settings
    from bot.runtime.clock import ManualClock
    from bot.runtime.sender import Sender
    from bot.store.base import Group
    from tests.test_wecom import wecom_env

    for name, value in wecom_env(wecom).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("OUTAGE_BOT_DB", str(tmp_path / "late.db"))
    monkeypatch.setattr(wecom_module, "SEND_TIMEOUT_S", 0.5)
    clock = ManualClock(datetime.fromisoformat("2026-03-02T10:00:00+08:00"))
    app = await open_app(load_settings(), clock=clock)
    channel = WeComChannel(load_settings(), app.host())
    await channel.start()
    try:
        store = app.store
        await store.add_group(Group("财务部", "wecom", "wecom_robot", "robot-key-1"), clock.now())
        wecom.answer_after = 2.0  # WeCom takes the notice, but answers after our 0.5 s
        await store.enqueue([OutboundMessage("wecom", "group:财务部", {"text": "故障通报"})], clock.now())
        sender = Sender(store, clock, channel)
        await sender.flush()
        clock.advance(seconds=600)
        while await sender.flush():
            pass
        assert [s["content"] for s in wecom.sent] == ["故障通报"]  # once, though its answer never came
        (error,) = (await store.db.execute_fetchall("SELECT last_error FROM outbox"))[0]
        assert error.startswith("may have been delivered, not repeated")

        # a notice in flight when the process dies is not repeated by the next one either
        wecom.answer_after = 0.0
        await store.enqueue([OutboundMessage("wecom", "group:财务部", {"text": "恢复通知"})], clock.now())
        (row,) = await store.pending("wecom", clock.now())
        await store.mark_in_flight([row.id], clock.now())  # … and then kill -9
        restarted = Sender(store, clock, channel)
        while await restarted.flush():
            pass
        assert [s["content"] for s in wecom.sent] == ["故障通报"]
    finally:
        await channel.stop()
        await app.close()


async def test_a_flood_from_one_waiting_user_is_merged_and_a_new_case_goes_first(tmp_path, monkeypatch):
    from bot.app import open_app
    from bot.config import load_settings
    from bot.engine.types import ConversationKey, Inbound
    from bot.runtime.clock import ManualClock
    from bot.runtime.sender import MERGE_MAX_BYTES, Sender

    support = "-100999"
    monkeypatch.setenv("OUTAGE_BOT_DB", str(tmp_path / "flood.db"))
    monkeypatch.setenv("SUPPORT_TELEGRAM_CHAT_ID", support)
    app = await open_app(load_settings(), clock=ManualClock(datetime.fromisoformat("2026-03-02T10:00:00+08:00")))
    sequence = iter(range(10**6))

    async def say(user: str, text: str) -> None:
        inbound = Inbound(ConversationKey("telegram", user, user), app.clock.now(), text=text, lang_hint="zh")
        await app.dispatcher.submit("telegram", f"m{next(sequence)}", inbound)

    class SupportChat:  # the Telegram support chat, at its limit: one message per turn of the sender
        name = "telegram"

        def __init__(self) -> None:
            self.received: list[str] = []
            self.acks = 0

        async def deliver(self, message: OutboundMessage) -> str | None:
            if message.chat == support:
                self.received.append(message.payload["text"])
            elif "合并" in message.payload["text"]:
                self.acks += 1
            return str(len(self.received))

    try:
        await say("1001", "转人工")
        for n in range(300):
            await say("1001", f"第{n}条：还在吗？")
        await say("2002", "转人工")  # the next user's case, after the flood
        await app.dispatcher.drain()
        chat = SupportChat()
        sender = Sender(app.store, app.clock, chat)
        while await sender.flush():
            pass
    finally:
        await app.close()
    announcements = [i for i, text in enumerate(chat.received) if text.startswith("【待接手")]
    relayed = "\n".join(t for t in chat.received if "用户：" in t)
    assert all(f"第{n}条" in relayed for n in range(300))  # nothing lost
    assert len(chat.received) <= 2 + -(-300 * len("#1 用户：第299条：还在吗？".encode()) // MERGE_MAX_BYTES) + 1
    assert announcements[:2] == [0, 1]  # both cases announced before any relay
    assert chat.acks >= 1  # the user is told their messages are merged


def test_a_send_slow_on_its_way_keeps_its_place_in_the_window_until_answered():
    from bot.runtime.clock import ManualClock
    from bot.runtime.window import InFlightWindows

    clock = ManualClock(datetime(2026, 3, 2, tzinfo=UTC))
    window = InFlightWindows(30, 1.0, clock)
    tickets = [window.reserve("all")[1] for _ in range(30)]
    assert all(tickets) and window.reserve("all")[1] is None  # the 31st waits
    clock.advance(seconds=5)  # long after: but the first send is still on its way
    assert window.reserve("all")[1] is None  # so it may still arrive with the next ones
    window.done(tickets[0])
    wait, ticket = window.reserve("all")
    assert ticket is None and wait == pytest.approx(1.0)  # a second after its answer came
    clock.advance(seconds=1.01)
    assert window.reserve("all")[1] is not None
