"""A photo or file of an invoice, sent where people are: the engine fills the answers it gives,
`/record` takes it, and every channel downloads and reads it (the real python-telegram-bot, real
WeCom crypto, real processes) and answers with what to enter on the verification platform."""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace
from datetime import date, timedelta

import httpx
import pytest

from bot.engine.machine import step
from bot.engine.types import Context, ConversationKey, Inbound, Reply, SaveRecord
from bot.invoices.model import Invoice
from bot.invoices.reader import read_bytes
from tests import invoice_samples as samples
from tests.bot_process import BotProcess
from tests.conftest import NOW
from tests.fakes.file_host import FileHost
from tests.fakes.http_server import BackgroundServer, wait_until
from tests.fakes.wecom_api import WeComCallbacks
from tests.fakes.wecom_bot_server import FakeWeComBot
from tests.test_cli import run
from tests.test_telegram import env_for
from tests.test_wecom import wecom_env
from tests.test_wecom_bot import bot_env

KEY = ConversationKey("test", "chat", "user")
TODAY = NOW.date()


def _invoice(kind: str, issued: date | None = None, seed: int = 1) -> samples.Values:
    return samples.values(random.Random(seed), kind, issued or TODAY - timedelta(days=3))


def _sent(v: samples.Values) -> Inbound:
    """The inbound a channel hands the engine once the file is read."""
    invoice = Invoice(**v.expected(), sources={"number": "qr"}, input="pdf")
    return Inbound(KEY, NOW, payload={"attachment": {"type": "document"}, "invoice": invoice.to_dict()})


def talk(catalog, messages, state=None):
    effects, now = [], NOW
    for message in messages:
        inbound = message if isinstance(message, Inbound) else Inbound(KEY, now, text=message)
        state, effects = step(catalog, state, replace(inbound, at=now), Context(), now)
        now += timedelta(minutes=1)
    return state, [e for e in effects if isinstance(e, Reply)][-1], effects


# ---- the engine ------------------------------------------------------------------------------


def test_a_file_at_the_type_question_answers_it_and_says_exactly_what_to_enter(catalog):
    v = _invoice("special")
    state, reply, _ = talk(catalog, ["报销系统说发票不一致", _sent(v)])
    assert f"• 发票代码：{v.code}" in reply.text and f"• 金额（不含税）：{v.amount}" in reply.text
    assert f"• 开票日期：{v.date.replace('-', '')}" in reply.text
    assert state.node == "q_fields" and "这张专票应填“不含税金额”" in reply.text  # the type is known now
    assert state.slots()["invoice"]["family"] == "special"


def test_a_file_sent_first_means_its_questions_are_never_asked(catalog):
    v = _invoice("digital_general")
    state, reply, _ = talk(catalog, [_sent(v)])
    assert "查验平台请填写" in reply.text and "• 发票代码：留空" in reply.text and state.node == "menu"
    state, reply, _ = talk(catalog, ["对方说查不到这张发票", "查验平台提示查无此票"], state)
    asked = reply.text
    assert "什么时候开具" not in asked  # the file says when: not asked
    state, reply, _ = talk(catalog, ["显示已上传成功"], state)
    assert "请粘贴发票号码" not in reply.text  # nor its number
    answered = {a.node: a for a in state.answers}
    assert answered["q_when"].key == "earlier" and answered["q_number"].outcome == "digital"


def test_a_file_issued_today_says_so_and_answers_when(catalog):
    v = _invoice("general", issued=TODAY)
    state, reply, _ = talk(catalog, ["发票查不到", "查验平台说查无此票", _sent(v)])
    assert "今天开具" in reply.text
    assert {a.node: a.key for a in state.answers}["q_when"] == "today"


def test_record_takes_a_file_and_asks_only_the_counterparty(catalog):
    v = _invoice("digital_special")
    state, reply, _ = talk(catalog, ["/record", _sent(v)])
    assert state.node == "record_counterparty"
    assert f"购买方：{v.buyer_name} {v.buyer_tax_id}" in reply.text and f"销售方：{v.seller_name}" in reply.text
    state, reply, effects = talk(catalog, [v.seller_name], state)
    (saved,) = [e for e in effects if isinstance(e, SaveRecord)]
    assert (saved.number, saved.amount, saved.issued_on, saved.counterparty) == (
        v.number, v.total, v.date, v.seller_name)  # fmt: skip


def test_a_file_that_could_not_be_read_says_why_and_changes_nothing(catalog):
    before, _, _ = talk(catalog, ["发票查不到"])
    unread = read_bytes(b"not an invoice")
    inbound = Inbound(KEY, NOW, payload={"attachment": {}, "invoice": unread.to_dict()})
    after, reply, _ = talk(catalog, [inbound], before)
    assert "不是能识别的发票文件" in reply.text
    assert (after.node, after.answers, after.invoice) == (before.node, before.answers, None)


# ---- the console and the CLI -----------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    rng = random.Random(21)
    special, digital = samples.values(rng, "special"), samples.values(rng, "digital_general")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "special.pdf").write_bytes(samples.pdf(special))
    (tmp_path / "in" / "digital.ofd").write_bytes(samples.ofd(digital, "tags"))
    (tmp_path / "in" / "photo.jpg").write_bytes(samples.photo(special, rng, {"angle": 12, "blur": 0.5})[0])
    return tmp_path, special, digital


def test_the_console_reads_a_file_named_with_slash_file(files):
    tmp_path, special, _ = files
    env = {"OUTAGE_BOT_DB": str(tmp_path / "c.db")}
    lines = f"发票查验说不一致\n/file {tmp_path / 'in' / 'special.pdf'}\n/file {tmp_path / 'nowhere.pdf'}\n"
    result = run("chat", "--jsonl", stdin=lines, env=env)
    replies = [json.loads(line)["text"] for line in result.stdout.splitlines()]
    assert any(f"• 金额（不含税）：{special.amount}" in r for r in replies), replies
    assert any("无法读取文件" in r and "nowhere.pdf" in r for r in replies)
    assert "Traceback" not in result.stderr


def test_read_prints_the_fields_of_a_folder_as_json_and_fails_on_an_unreadable_file(files):
    tmp_path, special, digital = files
    result = run("read", str(tmp_path / "in"), "--json")
    assert result.returncode == 0, result.stderr
    by_name = {item["file"].rsplit("/", 1)[-1]: item for item in json.loads(result.stdout)}
    assert set(by_name) == {"special.pdf", "digital.ofd", "photo.jpg"}
    pdf, ofd, photo = by_name["special.pdf"], by_name["digital.ofd"], by_name["photo.jpg"]
    assert {k: pdf[k] for k in special.expected()} == special.expected()
    assert {k: ofd[k] for k in digital.expected()} == digital.expected()
    assert ofd["kind"] == "digital_general" and ofd["code"] is None and ofd["sources"]["number"] == "ofd"
    assert (photo["number"], photo["amount"], photo["sources"]["number"]) == (special.number, special.amount, "qr")
    for item in by_name.values():
        assert {"file", "kind", "code", "number", "date", "amount", "tax", "total", "check_code", "buyer_tax_id",
                "seller_tax_id", "sources", "problems"} <= set(item)  # fmt: skip
        assert isinstance(item["problems"], list)
    (tmp_path / "in" / "notes.txt").write_text("发票号码 12345678")
    text = run("read", str(tmp_path / "in"), "--lang", "en")
    assert text.returncode == 1 and "1 of 4 file(s) could not be read" in text.stderr
    assert f"verify with: invoice code {special.code}" in text.stdout and "no invoice file" in text.stdout


# ---- the channels ----------------------------------------------------------------------------


def test_telegram_photos_and_documents_are_downloaded_and_read(telegram, tmp_path):
    rng = random.Random(31)
    special, general = samples.values(rng, "special"), samples.values(rng, "general")
    bot = BotProcess(tmp_path, env_for(telegram)).start()
    try:
        telegram.push(telegram.photo(samples.photo(special, rng, {"width": 1280, "blur": 0.5})[0]))
        (first,) = telegram.wait_sent(1)
        assert f"发票号码：{special.number}" in first["params"]["text"], first["params"]["text"]
        telegram.push(telegram.document(samples.pdf(general), "发票.pdf"))
        second = telegram.wait_sent(2)[1]
        assert f"校验码后6位：{general.check_code[-6:]}" in second["params"]["text"]
        assert len(telegram.calls_to("getFile")) == 2
        # in a group, a photo counts when its caption mentions the bot
        group = -100123
        telegram.push(telegram.photo(samples.qr_png(general.qr_payload()), chat=group, user=43,
                                     caption="@outage_test_bot 这张", caption_entities=[
                                         {"type": "mention", "offset": 0, "length": 16}]))  # fmt: skip
        telegram.push(telegram.photo(samples.qr_png(general.qr_payload()), chat=group, user=44))  # not for us
        third = telegram.wait_sent(3)[2]
        assert third["params"]["chat_id"] == group and general.number in third["params"]["text"]
        bot.wait_idle()
        assert len(telegram.sent) == 3
        metrics = httpx.get(f"{bot.url}/metrics").text
        assert 'outage_bot_invoice_reads_total{channel="telegram",outcome="read"} 3.0' in metrics
    finally:
        assert bot.stop() == 0, bot.log.read_text()


def test_wecom_app_photos_are_fetched_by_media_id_and_read(wecom, tmp_path):
    v = samples.values(random.Random(41), "digital_special")
    wecom.media["photo-1"] = samples.photo(v, random.Random(2), {"width": 1600, "blur": 0.5})[0]
    bot = BotProcess(tmp_path, wecom_env(wecom)).start()
    try:
        callbacks = WeComCallbacks(httpx.Client())
        url = f"{bot.url}/wecom/callback"
        for user, media in (("lisi", "photo-1"), ("wangwu", "gone")):
            params, body = callbacks.envelope(callbacks.image_xml(user, callbacks.next_id(), media))
            assert httpx.post(url, params=params, content=body).status_code == 200
        wecom.wait_sent(2)
        by_user = {s["to"]: s["content"] for s in wecom.sent}
        assert f"价税合计：{v.total}" in by_user["lisi"] and "• 发票代码：留空" in by_user["lisi"]
        assert "没能取到这个文件" in by_user["wangwu"]
    finally:
        assert bot.stop() == 0, bot.log.read_text()


def test_wecom_bot_files_are_downloaded_decrypted_and_read(tmp_path):
    rng = random.Random(51)
    digital, general = samples.values(rng, "digital_general"), samples.values(rng, "general")
    host = FileHost()
    fake = FakeWeComBot().start()
    try:
        with BackgroundServer(host.app) as server:
            host.base_url = server.url
            bot = BotProcess(tmp_path, bot_env(fake)).start()
            try:
                fake.send_file("lisi", host.put(samples.ofd(digital, "tags")), "file")
                fake.wait_for("lisi", lambda t: any(digital.number in x for x in t), what="the OFD's entries")
                fake.send_file("wangwu", host.put(samples.photo(general, rng, {"blur": 0})[0]), "image")
                texts = fake.wait_for("wangwu", lambda t: any(general.number in x for x in t), what="the photo")
                assert any(f"校验码后6位：{general.check_code[-6:]}" in x for x in texts)
                wrong_key = host.put(samples.pdf(general)) | {"aeskey": host.put(b"x")["aeskey"]}
                fake.send_file("zhaoliu", wrong_key, "file")
                fake.wait_for("zhaoliu", lambda t: any("没能取到这个文件" in x for x in t), what="a refusal")
                assert host.downloads == 3
            finally:
                assert bot.stop() == 0, bot.log.read_text()
    finally:
        fake.stop()


def test_a_killed_worker_reads_the_file_after_its_restart(telegram, tmp_path):
    """The file message is in the inbox before it is read: a worker killed meanwhile loses nothing."""
    v = samples.values(random.Random(61), "special")
    bot = BotProcess(tmp_path, env_for(telegram)).start()
    telegram.download_delay = 5.0
    telegram.push(telegram.document(samples.pdf(v), "a.pdf"))
    wait_until(lambda: telegram.calls_to("getFile"), 15, "the download started")
    bot.proc.kill()  # while the file is on its way
    bot.proc.wait()
    assert not telegram.sent
    telegram.download_delay = 0.0
    restarted = BotProcess(tmp_path, env_for(telegram))
    restarted.port, restarted.url, restarted.env = bot.port, bot.url, bot.env
    restarted.start()
    try:
        sent = telegram.wait_sent(1)
        assert v.number in sent[0]["params"]["text"]
        restarted.wait_idle()
        time.sleep(0.3)
        assert len(telegram.sent) == 1
    finally:
        assert restarted.stop() == 0


async def test_wecom_bot_callback_mode_decrypts_with_the_bots_own_key(tmp_path):
    """In callback mode a file comes without its own key: it is encrypted with the EncodingAESKey."""
    import base64

    from bot.channels.wecom_bot.files import attachment_of, download
    from bot.runtime.attachments import FetchFailed

    own = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the console shows it
    host = FileHost()
    with BackgroundServer(host.app) as server:
        host.base_url = server.url
        content = b"%PDF-1.7 " + b"x" * 100
        item = host.put(content, base64.b64decode(own + "="))
        body = {"msgtype": "file", "file": {"url": item["url"]}}
        attachment = attachment_of(body, "file")
        assert attachment["aeskey"] is None
        assert await download(attachment, own, 1024) == content
        with pytest.raises(FetchFailed):
            await download(attachment, None, 1024)
        with pytest.raises(FetchFailed):  # a body over the limit stops the download
            await download(attachment, own, 50)
    assert attachment_of({"msgtype": "file", "file": {"url": "file:///etc/passwd"}}, "file") is None
