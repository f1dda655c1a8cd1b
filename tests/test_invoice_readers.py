"""The invoice readers on invoices made with known values: every field of clean PDFs and OFDs,
QR codes on degraded photos, and every kind of bad input refused with a reason, never a crash."""

from __future__ import annotations

import asyncio
import io
import random
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.invoices import ofd, qr, text
from bot.invoices.entries import describe, entries, notices
from bot.invoices.model import Invoice
from bot.invoices.reader import MAX_FILE_BYTES, read_bytes
from bot.invoices.sandbox import InvoiceReader
from tests import invoice_samples as samples

KINDS = list(samples.QR_TYPES)
OFD_STYLES = {"special": ("attachment", "custom_data"), "general": ("attachment", "custom_data"),
              "digital_special": ("custom_data", "tags"), "digital_general": ("custom_data", "tags")}  # fmt: skip


def _differences(invoice: Invoice, expected: dict) -> dict:
    got = invoice.to_dict()
    return {k: (got[k], v) for k, v in expected.items() if got[k] != v}


# ---- the QR payload --------------------------------------------------------------------------


def test_the_published_qr_samples_are_parsed_with_every_field_optional():
    legacy = qr.parse_payload("01,01,1200154130,03630024,94339.62,20160621,,9335,")
    assert legacy == {"number": "03630024", "qr_type": "01", "kind": "special", "code": "1200154130",
                      "qr_amount": "94339.62", "date": "2016-06-21"}  # fmt: skip
    digital = qr.parse_payload("01,32,,23442000000014209621,112,20230215,,74AE")
    assert digital["kind"] == "digital_general" and "code" not in digital and digital["qr_amount"] == "112.00"
    assert qr.parse_payload("01,99,,23442000000014209621,,,,")["kind"] == "digital"  # an unknown type code
    for not_an_invoice in ("https://example.com/pay?id=1", "01,04,1,2,3", "", "01,04,044031900111,1234,1,20260101"):
        assert qr.parse_payload(not_an_invoice) is None
    assert qr.parse_payload("01,04,044031900111,12345678,abc,20261340,123,") == {
        "number": "12345678", "qr_type": "04", "kind": "general", "code": "044031900111"}  # fmt: skip


def test_a_digital_invoices_qr_amount_is_placed_by_the_documents_own_figures():
    rng = random.Random(3)
    v = samples.values(rng, "digital_general")
    carries_total = read_bytes(samples.pdf(v))
    assert (carries_total.amount, carries_total.total, carries_total.problems) == (v.amount, v.total, [])
    carries_amount = read_bytes(samples.pdf(v, payload=v.qr_payload(digital_amount=v.amount)))
    assert (carries_amount.amount, carries_amount.total, carries_amount.problems) == (v.amount, v.total, [])
    alone = read_bytes(samples.qr_png(v.qr_payload()))
    assert alone.total == v.total and alone.amount is None
    assert any("价税合计" in p.zh for p in alone.problems)  # read from the QR code alone: said to check
    legacy = samples.values(rng, "special")
    assert read_bytes(samples.qr_png(legacy.qr_payload())).amount == legacy.amount  # 不含税 on older invoices


# ---- clean PDFs and OFDs: every field --------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(3))
def test_every_field_of_a_clean_pdf(kind, seed):
    v = samples.values(random.Random(seed), kind)
    invoice = read_bytes(samples.pdf(v))
    assert _differences(invoice, v.expected()) == {}
    assert not invoice.problems and invoice.input == "pdf"
    assert invoice.sources["number"] == "qr" and invoice.sources["buyer_tax_id"] == "text"


@pytest.mark.parametrize("kind", KINDS)
def test_a_pdf_without_a_qr_code_drawn_in_any_order_is_read_from_its_text(kind):
    v = samples.values(random.Random(7), kind)
    invoice = read_bytes(samples.pdf(v, with_qr=False, shuffled=True))
    assert _differences(invoice, v.expected()) == {}
    assert set(invoice.sources.values()) == {"text"}


@pytest.mark.parametrize(("kind", "style"), [(k, s) for k in KINDS for s in OFD_STYLES[k]])
def test_every_field_of_an_ofd(kind, style):
    v = samples.values(random.Random(11), kind)
    invoice = read_bytes(samples.ofd(v, style))
    assert _differences(invoice, v.expected()) == {}
    assert invoice.input == "ofd" and set(invoice.sources.values()) == {"ofd"}


def test_the_qr_code_and_the_text_disagreeing_is_said():
    v = samples.values(random.Random(5), "general")
    wrong = samples.Values(**{**vars(v), "date": "2020-01-02"})
    page = samples.pdf(wrong, with_qr=False)
    # the text says 2020-01-02, the QR code (drawn from the real values) the true date
    mixed = read_bytes(_with_qr(page, v))
    assert mixed.date == v.date and mixed.sources["date"] == "qr"
    assert any("不一致" in p.zh and "2020-01-02" in p.zh for p in mixed.problems)


def _with_qr(pdf_bytes: bytes, v: samples.Values) -> bytes:
    """A PDF whose text says one thing and whose QR code another: the page redrawn with both."""
    import pypdfium2 as pdfium
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    document = pdfium.PdfDocument(pdf_bytes)
    text_of_page = document[0].get_textpage().get_text_range()
    document.close()
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(842, 595))
    page.setFont(samples.FONT, 9)
    for row, line in enumerate(text_of_page.splitlines()):
        page.drawString(40, 560 - row * 14, line)
    page.drawImage(ImageReader(io.BytesIO(samples.qr_png(v.qr_payload()))), 700, 500, 60, 60)
    page.save()
    return out.getvalue()


# ---- photos ----------------------------------------------------------------------------------


def test_qr_codes_on_degraded_photos_are_read():
    rng = random.Random(2026)
    read, tried = 0, 40
    for _ in range(tried):
        v = samples.values(rng, rng.choice(KINDS))
        photo, _ = samples.photo(v, rng)
        invoice = read_bytes(photo)
        if invoice.found():
            assert (invoice.number, invoice.date, invoice.code) == (v.number, v.date, v.code)
            read += 1
    assert read / tried >= 0.95


def test_a_photo_upright_by_its_exif_orientation_and_a_screenshot_png():
    v = samples.values(random.Random(9), "general")
    page = samples.paper(v).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 8  # rotate 90° clockwise to view: the camera held sideways
    out = io.BytesIO()
    page.convert("RGB").save(out, format="JPEG", exif=exif)
    assert read_bytes(out.getvalue()).number == v.number
    screenshot = io.BytesIO()
    samples.paper(v).save(screenshot, format="PNG")
    assert read_bytes(screenshot.getvalue()).check_code == v.check_code


# ---- what people are told --------------------------------------------------------------------


def test_the_verification_entries_follow_the_invoice_type():
    rng = random.Random(4)
    special, general, digital = (samples.values(rng, k) for k in ("special", "general", "digital_special"))
    assert entries(Invoice(**special.expected()))[-1] == ("金额（不含税）", "amount excluding tax", special.amount)
    assert entries(Invoice(**general.expected()))[-1] == ("校验码后6位", "last 6 digits of the check code",
                                                           general.check_code[-6:])  # fmt: skip
    rows = entries(Invoice(**digital.expected()))
    assert rows[0] == ("发票代码", "invoice code", "") and rows[-1][2] == digital.total


def test_issued_today_and_a_wrong_tax_id_check_character_are_noticed():
    v = samples.values(random.Random(6), "digital_general")
    invoice = Invoice(**{**v.expected(), "date": "2026-11-28", "buyer_tax_id": v.buyer_tax_id[:-1] + "0"})
    if invoice.buyer_tax_id == v.buyer_tax_id:
        invoice.buyer_tax_id = v.buyer_tax_id[:-1] + "1"
    said = [p.zh for p in notices(invoice, samples.date(2026, 11, 28))]
    assert any("今天开具" in s for s in said) and any("购买方税号" in s and "校验位" in s for s in said)
    text_en = describe(invoice, samples.date(2026, 11, 28), "en")
    assert "leave empty" in text_en and v.total in text_en and "Issued today" in text_en


# ---- bad input -------------------------------------------------------------------------------


def _said(invoice: Invoice) -> str:
    assert not invoice.found() and invoice.problems
    return " ".join(p.zh for p in invoice.problems)


def test_bad_files_get_a_reason_not_a_crash():
    v = samples.values(random.Random(8), "special")
    good_pdf = samples.pdf(v)
    assert "太大" in _said(read_bytes(b"%PDF-1.7\n" + b"0" * MAX_FILE_BYTES))
    assert "密码" in _said(read_bytes(samples.pdf(v, password="secret")))
    assert "页" in _said(read_bytes(samples.pdf(v, pages=25)))
    assert "损坏" in _said(read_bytes(b"%PDF-1.4\n%garbage"))
    assert read_bytes(good_pdf[: len(good_pdf) // 3]).problems or True  # truncated: read or refused, no crash
    assert "不是能识别" in _said(read_bytes(b"MZ\x90\x00 an executable"))
    assert "不是能识别" in _said(read_bytes("发票号码：12345678".encode()))
    noise = io.BytesIO()
    Image.effect_noise((800, 600), 60).convert("RGB").save(noise, format="JPEG")
    assert "没有在图片里找到" in _said(read_bytes(noise.getvalue()))
    link = io.BytesIO()
    samples.segno.make("https://example.com/pay?order=1").save(link, kind="png", scale=6)
    assert "不是发票的二维码" in _said(read_bytes(link.getvalue()))
    jpeg = samples.photo(v, random.Random(1))[0]
    read_bytes(jpeg[: len(jpeg) // 2])  # a truncated photo: whatever it yields, it returns


def test_image_bombs_are_refused_before_decoding():
    huge = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(huge, format="PNG")  # 144 megapixels in a few kilobytes
    assert len(huge.getvalue()) < 1_000_000
    assert "无法打开" in _said(read_bytes(huge.getvalue()))


def _zip(entries: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_hostile_ofd_files_are_refused_at_bounded_cost():
    bomb = _zip({"OFD.xml": b"<a>" + b" " * 200_000_000 + b"</a>"})
    assert len(bomb) < 1_000_000
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
              b"<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'>&b;</ofd:OFD>")  # fmt: skip
    external = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                b"<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'>&e;</ofd:OFD>")  # fmt: skip
    many = _zip({f"f{i}.xml": b"<a/>" for i in range(ofd.MAX_ENTRIES + 1)} | {"OFD.xml": b"<a/>"})
    for hostile in (bomb, _zip({"OFD.xml": laughs}), _zip({"OFD.xml": external}), many,
                    _zip({"readme.txt": b"not an ofd"}), b"PK\x03\x04 broken zip"):  # fmt: skip
        assert "OFD" in _said(read_bytes(hostile))


def test_an_ofd_entry_over_its_size_limit_is_not_read():
    stored = _zip({"OFD.xml": b"<a>" + b"x" * (ofd.MAX_ENTRY_BYTES + 10) + b"</a>"}, zipfile.ZIP_STORED)
    assert "OFD" in _said(read_bytes(stored))


async def test_a_file_over_the_time_limit_is_stopped_and_the_next_one_is_read():
    v = samples.values(random.Random(12), "general")
    slow = samples.photo(v, random.Random(3), {"width": 3000, "blur": 1.1})[0]
    reader = InvoiceReader(time_limit_s=0.001, parallel=1)
    try:
        stopped = await reader.read(slow)
        assert stopped.stopped and "太复杂" in stopped.invoice.problems[0].zh
        reader.time_limit_s = 30
        again = await reader.read(samples.pdf(v))
        assert again.invoice.number == v.number and not again.stopped
    finally:
        await reader.close()


async def test_a_worker_out_of_memory_answers_too_complex_and_is_replaced():
    v = samples.values(random.Random(13), "general")
    big = io.BytesIO()
    samples.paper(v, width=7000).save(big, format="PNG")
    reader = InvoiceReader(memory=400 * 1024 * 1024, parallel=1)
    try:
        outcome = await reader.read(big.getvalue())
        assert not outcome.invoice.found() or outcome.invoice.number == v.number  # whichever: no crash
        reader.memory = 2 * 1024**3
        assert (await reader.read(samples.pdf(v))).invoice.number == v.number
    finally:
        await reader.close()


async def test_files_are_read_in_parallel_workers_and_in_order_of_their_callers():
    rng = random.Random(14)
    wanted = [samples.values(rng, rng.choice(KINDS)) for _ in range(6)]
    reader = InvoiceReader(parallel=2)
    try:
        outcomes = await asyncio.gather(*(reader.read(samples.pdf(v)) for v in wanted))
    finally:
        await reader.close()
    assert [o.invoice.number for o in outcomes] == [v.number for v in wanted]


# ---- fuzzing ---------------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


QR_PARTS = ["01", "04", "32", "", "12345678", "20261301", "¥1,2.3", "23442000000014209621", "x"]


@FUZZ
@given(st.text(max_size=300) | st.lists(st.sampled_from(QR_PARTS), max_size=12).map(",".join))
def test_fuzz_the_qr_payload_parser(payload):
    found = qr.parse_payload(payload)
    assert found is None or len(found["number"]) in (8, 20)


@FUZZ
@given(st.lists(st.sampled_from(["发票号码：", "发票代码:", "开票日期：", "2026年13月40日", "校验码：", "合计", "¥",
                                 "（小写）", "名称：", "纳税人识别号：", "12345678", "9" * 20, "-0.00", "\n", " "]),
                max_size=40).map("".join) | st.text(max_size=500))  # fmt: skip
def test_fuzz_the_text_layer_reader(raw):
    found = text.read_text(raw)
    assert all(isinstance(v, str) and v for v in found.values())


def _mutations(data: bytes, draw) -> bytes:
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 20))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(len(data) // 2, len(data)))
    return bytes(data[:cut])


_V = samples.values(random.Random(99), "digital_special")
_SEEDS = {"ofd": samples.ofd(_V, "tags"), "ofd2": samples.ofd(_V, "custom_data")}


@FUZZ
@given(st.sampled_from(sorted(_SEEDS)), st.data())
def test_fuzz_the_ofd_reader_with_broken_files(seed, data):
    invoice = read_bytes(_mutations(_SEEDS[seed], data.draw))
    assert invoice.found() or invoice.problems


_W = samples.values(random.Random(5), "general")
_FILES = {
    "pdf": samples.pdf(_W),
    "jpeg": samples.photo(_W, random.Random(5))[0],
    "png": samples.qr_png(_W.qr_payload()),
}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(_FILES)), st.data())
async def test_fuzz_pdfs_and_images_through_the_sandbox(kind, data):
    reader = InvoiceReader(time_limit_s=20, parallel=1)
    try:
        outcome = await reader.read(_mutations(_FILES[kind], data.draw))
    finally:
        await reader.close()
    assert outcome.invoice.found() or outcome.invoice.problems


def test_a_scanned_pdf_without_a_text_layer_is_read_from_its_qr_code():
    v = samples.values(random.Random(15), "general")
    invoice = read_bytes(samples.pdf(v, with_text=False))
    assert (invoice.number, invoice.code, invoice.check_code, invoice.amount) == (
        v.number,
        v.code,
        v.check_code,
        v.amount,
    )
    assert set(invoice.sources.values()) == {"qr"}
