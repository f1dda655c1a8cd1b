"""Invoices made with known values: QR codes (segno), PDFs (reportlab, its built-in CJK font),
OFD zips, and phone-like photos of a printed invoice (rotated, blurred, small, JPEG, on a desk).

Used by the tests and by benchmarks/invoices.py; every value is random but valid (tax IDs carry
a correct check character), so what a reader returns can be compared field by field.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import segno
from PIL import Image, ImageDraw, ImageFilter
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from bot.checks.tax_id import CHARSET, check_character

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
QR_TYPES = {"special": "01", "general": "04", "digital_special": "31", "digital_general": "32"}
TITLES = {
    "special": "增值税专用发票",
    "general": "增值税电子普通发票",
    "digital_special": "电子发票（增值税专用发票）",
    "digital_general": "电子发票（普通发票）",
}
COMPANIES = ("北京云帆科技有限公司", "上海示例贸易有限公司", "深圳前海数据服务有限公司", "杭州西湖餐饮管理有限公司")
# a phone photo as it arrives: Telegram sends photos at 1280 pixels at most, WeCom the original
WIDTHS = (1000, 1280, 1600, 2400, 3000)
BLURS = (0, 0.5, 0.8, 1.1)  # Gaussian sigma in pixels of the photo before it is scaled to its width
KEYS = ("kind", "code", "number", "date", "amount", "tax", "total", "check_code",
        "buyer_name", "buyer_tax_id", "seller_name", "seller_tax_id")  # fmt: skip


def tax_id(rng: random.Random) -> str:
    body = "91" + f"{rng.choice((110108, 310115, 440300, 330106)):06d}"
    body += "".join(rng.choice(CHARSET) for _ in range(9))
    return body + check_character(body)


@dataclass
class Values:
    kind: str
    code: str | None
    number: str
    date: str  # YYYY-MM-DD
    amount: str
    tax: str
    total: str
    check_code: str | None
    buyer_name: str
    buyer_tax_id: str
    seller_name: str
    seller_tax_id: str
    extra: dict = field(default_factory=dict)

    def expected(self) -> dict:
        return {k: getattr(self, k) for k in KEYS}

    def qr_payload(self, digital_amount: str | None = None) -> str:
        day = self.date.replace("-", "")
        digital = self.kind.startswith("digital")
        amount = (digital_amount or self.total) if digital else self.amount
        check = self.check_code or ""
        tail = f"{int(self.number[-4:]) % 65536:04X},"  # the short check field: any 4 hex digits
        return f"01,{QR_TYPES[self.kind]},{self.code or ''},{self.number},{amount},{day},{check},{tail}"


def values(rng: random.Random, kind: str, issued: date | None = None) -> Values:
    issued = issued or date(2026, 11, 28) - timedelta(days=rng.randrange(1, 700))
    digital = kind.startswith("digital")
    amount = Decimal(rng.randrange(100, 5_000_000)) / 100
    tax = (amount * Decimal(rng.choice(("0.13", "0.06", "0.09", "0.01")))).quantize(Decimal("0.01"))
    if digital:
        number = (
            f"{issued.year % 100:02d}{rng.choice((11, 31, 44, 33))}{rng.randrange(1, 10)}{rng.randrange(10**15):015d}"
        )
        code = None
    else:
        region, kind_digit = rng.choice(("1100", "3100", "4403")), ("1" if kind == "special" else "3")
        code = f"{region}{issued.year % 100:02d}{rng.randrange(10)}{kind_digit}{rng.randrange(10)}{rng.randrange(10)}"
        number = f"{rng.randrange(10**8):08d}"
    buyer, seller = rng.sample(COMPANIES, 2)
    return Values(
        kind=kind, code=code, number=number, date=issued.isoformat(), amount=f"{amount:.2f}", tax=f"{tax:.2f}",
        total=f"{amount + tax:.2f}",
        check_code=None if digital or kind == "special" else f"{rng.randrange(10**20):020d}",
        buyer_name=buyer, buyer_tax_id=tax_id(rng), seller_name=seller, seller_tax_id=tax_id(rng),
    )  # fmt: skip


def qr_png(payload: str, scale: int = 4) -> bytes:
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def _lines(v: Values) -> list[tuple[float, float, str]]:
    """(x, y, text) in points on an A4-wide page, laid out as both invoice layouts print them."""
    day = date.fromisoformat(v.date)
    lines = [(200, 560, TITLES[v.kind])]
    if v.code:
        lines.append((420, 560, f"发票代码：{v.code}"))
    lines += [
        (420, 545, f"发票号码：{v.number}"),
        (420, 530, f"开票日期：{day.year}年{day.month:02d}月{day.day:02d}日"),
    ]
    if v.check_code:
        groups = " ".join(v.check_code[i : i + 5] for i in range(0, 20, 5))
        lines.append((420, 515, f"校验码：{groups}"))
    label = "统一社会信用代码/纳税人识别号：" if v.kind.startswith("digital") else "纳税人识别号："
    lines += [
        (40, 480, f"购买方 名称：{v.buyer_name}"), (40, 465, f"{label}{v.buyer_tax_id}"),
        (40, 430, "项目名称 规格型号 单位 数量 单价 金额 税率/征收率 税额"),
        (40, 410, f"*信息技术服务*技术服务费 次 1 {v.amount} {v.amount} 13% {v.tax}"),
        (40, 380, f"合 计 ¥{v.amount} ¥{v.tax}"),
        (40, 360, f"价税合计（大写） 壹佰元整 （小写）￥{v.total}"),
        (40, 330, f"销售方 名称：{v.seller_name}"), (40, 315, f"{label}{v.seller_tax_id}"),
    ]  # fmt: skip
    return lines


def pdf(v: Values, with_qr: bool = True, with_text: bool = True, shuffled: bool = False, pages: int = 1,
        password: str | None = None, payload: str | None = None) -> bytes:  # fmt: skip
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=(842, 595), encrypt=password, invariant=1)  # the same bytes every time
    for _ in range(pages):
        if with_text:
            page.setFont(FONT, 9)
            lines = _lines(v)
            if shuffled:  # the drawing order of the text layer need not be the reading order
                random.Random(v.number).shuffle(lines)
            for x, y, text in lines:
                page.drawString(x, y, text)
        if with_qr:
            page.drawImage(ImageReader(io.BytesIO(qr_png(payload or v.qr_payload()))), 30, 520, 60, 60)
        page.showPage()
    page.save()
    return out.getvalue()


OFD_NS = "http://www.ofdspec.org/2016"


def _zip(files: dict[str, str | bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def ofd(v: Values, style: str) -> bytes:
    """style: "attachment" (tax-control e-invoice with original_invoice.xml), "custom_data" (the
    fields in OFD.xml only), "tags" (a 数电票: custom tags pointing at the page's text objects)."""
    day = date.fromisoformat(v.date)
    custom = ""
    if style == "custom_data":
        data = {"发票代码": v.code, "发票号码": v.number, "开票日期": f"{day.year}年{day.month:02d}月{day.day:02d}日",
                "校验码": v.check_code, "合计金额": v.amount, "合计税额": v.tax, "价税合计": v.total,
                "购买方名称": v.buyer_name, "购买方纳税人识别号": v.buyer_tax_id, "销售方名称": v.seller_name,
                "销售方纳税人识别号": v.seller_tax_id}  # fmt: skip
        custom = "".join(f'<ofd:CustomData Name="{k}">{val}</ofd:CustomData>' for k, val in data.items() if val)
        custom = f"<ofd:CustomDatas>{custom}</ofd:CustomDatas>"
    files: dict[str, str | bytes] = {
        "OFD.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{OFD_NS}" DocType="OFD" Version="1.0">'
        f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID>{custom}</ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        "Doc_0/Document.xml": f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{OFD_NS}">'
        '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>',
    }
    texts = [TITLES[v.kind], "购买方", v.buyer_name, "销售方", v.seller_name]
    if style == "attachment":
        files["Doc_0/Attachs/original_invoice.xml"] = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<eInvoice xmlns:fp="http://www.edrm.org.cn/schema/e-invoice/2019"><fp:TaxSupervisionInfo>'
            f"<fp:InvoiceCode>{v.code}</fp:InvoiceCode><fp:InvoiceNumber>{v.number}</fp:InvoiceNumber>"
            f"<fp:IssueTime>{v.date}</fp:IssueTime></fp:TaxSupervisionInfo><fp:InvoiceNo>{v.number}</fp:InvoiceNo>"
            f"<fp:IssueDate>{v.date}</fp:IssueDate><fp:InvoiceCheckCode>{v.check_code or ''}</fp:InvoiceCheckCode>"
            f"<fp:Buyer><fp:BuyerName>{v.buyer_name}</fp:BuyerName><fp:BuyerTaxID>{v.buyer_tax_id}</fp:BuyerTaxID></fp:Buyer>"
            f"<fp:Seller><fp:SellerName>{v.seller_name}</fp:SellerName><fp:SellerTaxID>{v.seller_tax_id}</fp:SellerTaxID></fp:Seller>"
            f"<fp:TaxExclusiveTotalAmount>{v.amount}</fp:TaxExclusiveTotalAmount><fp:TaxTotalAmount>{v.tax}</fp:TaxTotalAmount>"
            f"<fp:TaxInclusiveTotalAmount>{v.total}</fp:TaxInclusiveTotalAmount></eInvoice>"
        )  # fmt: skip
    refs = ""
    if style == "tags":
        tagged = {"InvoiceNo": v.number, "IssueDate": f"{day.year}年{day.month:02d}月{day.day:02d}日",
                  "BuyerName": v.buyer_name, "BuyerTaxID": v.buyer_tax_id, "SellerName": v.seller_name,
                  "SellerTaxID": v.seller_tax_id, "TaxExclusiveTotalAmount": f"¥{v.amount}",
                  "TaxTotalAmount": f"¥{v.tax}", "TaxInclusiveTotalAmount": f"¥{v.total}"}  # fmt: skip
        for name, value in tagged.items():
            object_id = str(100 + len(texts))
            texts.append((object_id, value))  # type: ignore[arg-type]
            refs += f'<ofd:{name}><ofd:ObjectRef PageRef="1">{object_id}</ofd:ObjectRef></ofd:{name}>'
        files["Doc_0/Tags/CustomTag.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:CustomTags xmlns:ofd="{OFD_NS}"><ofd:CustomTag '
            'NameSpace="http://www.edrm.org.cn/schema/e-invoice/2019"><ofd:FileLoc>CustomTag_Invoice.xml</ofd:FileLoc>'
            "</ofd:CustomTag></ofd:CustomTags>"
        )
        files["Doc_0/Tags/CustomTag_Invoice.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:eInvoice xmlns:ofd="{OFD_NS}">{refs}</ofd:eInvoice>'
        )
    objects = ""
    for index, text in enumerate(texts):
        object_id, value = text if isinstance(text, tuple) else (str(index + 1), text)
        objects += (
            f'<ofd:TextObject ID="{object_id}" Boundary="10 {10 + index * 5} 80 5" Font="1" Size="3">'
            f'<ofd:TextCode X="0" Y="3">{value}</ofd:TextCode></ofd:TextObject>'
        )
    files["Doc_0/Pages/Page_0/Content.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Content>'
        f'<ofd:Layer ID="0">{objects}</ofd:Layer></ofd:Content></ofd:Page>'
    )
    return _zip(files)


def paper(v: Values, width: int = 1400) -> Image.Image:
    """The printed invoice as a scanner would see it: white paper, lines of text, the QR code."""
    height = int(width * 0.6)
    page = Image.new("L", (width, height), 250)
    draw = ImageDraw.Draw(page)
    draw.rectangle((20, 20, width - 20, height - 20), outline=60, width=3)
    for row in range(8):
        y = int(height * (0.35 + row * 0.07))
        draw.line((40, y, width - 40, y), fill=120, width=2)
        draw.text((60, y + 8), f"{v.number} {v.amount} {v.seller_tax_id} ITEM-{row}", fill=30)
    code = Image.open(io.BytesIO(qr_png(v.qr_payload(), scale=4))).convert("L")
    side = int(width * 0.12)  # about 20 mm on a 240 mm invoice
    page.paste(code.resize((side, side), Image.NEAREST), (int(width * 0.04), int(height * 0.06)))
    return page


def photo(v: Values, rng: random.Random, degrade: dict | None = None) -> tuple[bytes, dict]:
    """A phone photo of the printed invoice, degraded at random (or as `degrade` says); returns the
    JPEG bytes and the degradations used."""
    d = {
        "angle": rng.uniform(-30, 30) if rng.random() < 0.7 else rng.choice((90, 180, 270)) + rng.uniform(-5, 5),
        "blur": rng.choice(BLURS),
        "width": rng.choice(WIDTHS),
        "quality": rng.choice((35, 50, 70, 90)),
        "light": rng.uniform(0.7, 1.0),
    } | (degrade or {})
    page = paper(v, width=max(800, int(d["width"] * 0.8))).point(lambda p: int(p * d["light"]))
    mask = Image.new("L", page.size, 255).rotate(d["angle"], expand=True, fillcolor=0)
    page = page.rotate(d["angle"], expand=True, fillcolor=0, resample=Image.BICUBIC)
    desk = Image.effect_noise((int(page.width * 1.25), int(page.height * 1.25)), 40).point(lambda p: 90 + p // 4)
    offset = (rng.randrange(0, desk.width - page.width + 1), rng.randrange(0, desk.height - page.height + 1))
    desk.paste(page, offset, mask)
    if d["blur"]:
        desk = desk.filter(ImageFilter.GaussianBlur(d["blur"]))
    scale = d["width"] / desk.width
    desk = desk.resize((d["width"], int(desk.height * scale)), Image.BILINEAR)
    out = io.BytesIO()
    desk.convert("RGB").save(out, format="JPEG", quality=d["quality"])
    return out.getvalue(), d
