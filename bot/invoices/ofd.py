"""OFD e-invoices (GB/T 33190): a zip of XML files, read with bounded cost.

Three places hold the fields (see the domain notes): the custom data in `OFD.xml`; the
`original_invoice.xml` attachment of tax-control e-invoices; and, on 数电票, the custom tags
(`Doc_0/Tags/CustomTag.xml` and the files it names) whose ObjectRefs point at the page's text
objects. The zip is checked before anything is inflated (entry count, declared sizes, ratio),
every read stops at its limit whatever the header claims, and the XML parser refuses DTDs and
entities (defusedxml), so a zip bomb or a billion-laughs file costs no more than a small file.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.invoices import values
from bot.invoices.text import read_text

MAX_ENTRIES = 500
MAX_ENTRY_BYTES = 5 * 1024 * 1024  # one XML file inflated
MAX_TOTAL_BYTES = 30 * 1024 * 1024  # all the XML read from one OFD
MAX_RATIO = 200  # inflated / compressed: XML compresses about 10:1, a bomb 1000:1
MAX_PAGES = 20

CUSTOM_DATA = {
    "发票代码": "code", "发票号码": "number", "开票日期": "date", "校验码": "check_code",
    "合计金额": "amount", "合计税额": "tax", "价税合计": "total",
    "购买方名称": "buyer_name", "购买方纳税人识别号": "buyer_tax_id",
    "销售方名称": "seller_name", "销售方纳税人识别号": "seller_tax_id",
}  # fmt: skip
# element names of original_invoice.xml and of the custom tags, by (parent, element) or element alone
TAGS = {
    "InvoiceCode": "code", "InvoiceNo": "number", "InvoiceNumber": "number", "IssueDate": "date",
    "InvoiceCheckCode": "check_code", "TaxExclusiveTotalAmount": "amount", "TaxTotalAmount": "tax",
    "TaxInclusiveTotalAmount": "total", "BuyerTaxID": "buyer_tax_id", "BuyerTaxId": "buyer_tax_id",
    "SellerTaxID": "seller_tax_id", "SellerTaxId": "seller_tax_id", "BuyerName": "buyer_name",
    "SellerName": "seller_name", ("Buyer", "Name"): "buyer_name", ("Seller", "Name"): "seller_name",
    ("Buyer", "TaxID"): "buyer_tax_id", ("Seller", "TaxID"): "seller_tax_id",
}  # fmt: skip


class BadOfd(ValueError):
    """The file is no OFD this reader will open (the message says why, for people)."""


class _Archive:
    """A zip whose reads are counted against the limits above."""

    def __init__(self, data: bytes):
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError, OSError) as exc:
            raise BadOfd(f"not a readable zip: {exc}") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_ENTRIES:
            raise BadOfd(f"{len(infos)} entries (at most {MAX_ENTRIES})")
        self.names = {posixpath.normpath(i.filename.lstrip("/")): i for i in infos if not i.is_dir()}
        self.budget = MAX_TOTAL_BYTES

    def has(self, name: str) -> bool:
        return posixpath.normpath(name.lstrip("/")) in self.names

    def read(self, name: str) -> bytes:
        info = self.names.get(posixpath.normpath(name.lstrip("/")))
        if info is None:
            raise BadOfd(f"{name} is missing")
        if info.file_size > MAX_ENTRY_BYTES or info.file_size > self.budget:
            raise BadOfd(f"{name} is too large ({info.file_size} bytes)")
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise BadOfd(f"{name} is compressed {info.file_size // info.compress_size}:1 (a zip bomb?)")
        try:
            with self.zip.open(info) as stream:
                data = stream.read(min(MAX_ENTRY_BYTES, self.budget) + 1)  # the header may lie
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
            raise BadOfd(f"{name} can't be read: {exc}") from None
        if len(data) > min(MAX_ENTRY_BYTES, self.budget):
            raise BadOfd(f"{name} inflates beyond its limit")
        self.budget -= len(data)
        return data

    def xml(self, name: str) -> Element:
        try:
            return fromstring(self.read(name), forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException:
            raise BadOfd(f"{name} declares a DTD or entities") from None
        except SyntaxError as exc:  # ParseError
            raise BadOfd(f"{name} is no well-formed XML: {exc}") from None


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].split(":")[-1]


def _text(element: Element) -> str:
    return "".join(element.itertext()).strip()


def is_ofd(data: bytes) -> bool:
    try:
        return _Archive(data).has("OFD.xml")
    except BadOfd:
        return False


def read_ofd(data: bytes) -> dict[str, str]:
    """The fields an OFD file holds, the first place holding a valid value winning. Raises BadOfd."""
    archive = _Archive(data)
    if not archive.has("OFD.xml"):
        raise BadOfd("no OFD.xml: not an OFD file")
    texts = _text_objects(archive)
    found: dict[str, str] = {}
    for reader in (_attachment, _custom_tags, _custom_data):
        for name, value in normalize(reader(archive, texts)).items():
            found.setdefault(name, value)
    kind = read_text("".join(texts.values())).get("kind")  # the printed title: 专票 or 普票
    if kind and (kind.startswith("digital") or "kind" not in found):
        found["kind"] = kind
    return found


def _custom_data(archive: _Archive, texts: dict[str, str]) -> dict[str, str]:
    root = archive.xml("OFD.xml")
    raw = {}
    for element in root.iter():
        if local(element.tag) == "CustomData" and (name := CUSTOM_DATA.get((element.get("Name") or "").strip())):
            raw.setdefault(name, _text(element))
    return raw


def _attachment(archive: _Archive, texts: dict[str, str]) -> dict[str, str]:
    name = next((n for n in archive.names if n.lower().endswith("attachs/original_invoice.xml")), None)
    return _tagged(archive.xml(name), lambda element: _text(element)) if name else {}


def _tagged(root: Element, value_of) -> dict[str, str]:
    raw: dict[str, str] = {}
    parents = {child: parent for parent in root.iter() for child in parent}
    for element in root.iter():
        name = local(element.tag)
        parent = parents.get(element)
        field = TAGS.get((local(parent.tag), name)) if parent is not None else None
        field = field or TAGS.get(name)
        if field and field not in raw and (value := value_of(element)):
            raw[field] = value
    return raw


def _custom_tags(archive: _Archive, texts: dict[str, str]) -> dict[str, str]:
    tags = next((n for n in archive.names if n.lower().endswith("tags/customtag.xml")), None)
    if tags is None:
        return {}
    index = archive.xml(tags)
    roots = [index]
    for element in index.iter():
        if local(element.tag) == "FileLoc" and (loc := _text(element)):
            path = posixpath.normpath(posixpath.join(posixpath.dirname(tags), loc))
            if archive.has(path):
                roots.append(archive.xml(path))

    def value_of(element: Element) -> str:
        refs = [_text(e) for e in element if local(e.tag) == "ObjectRef"]
        return "".join(texts.get(ref, "") for ref in refs)

    raw: dict[str, str] = {}
    for root in roots:
        for name, value in _tagged(root, value_of).items():
            raw.setdefault(name, value)
    return raw


def _text_objects(archive: _Archive) -> dict[str, str]:
    """Every page's TextObject text by ID (the IDs are unique in a document)."""
    pages = sorted(n for n in archive.names if n.lower().endswith("content.xml"))[:MAX_PAGES]
    texts: dict[str, str] = {}
    for page in pages:
        for element in archive.xml(page).iter():
            if local(element.tag) == "TextObject" and (object_id := element.get("ID")):
                codes = [_text(e) for e in element if local(e.tag) == "TextCode"]
                texts[object_id.strip()] = "".join(codes)
    return texts


def normalize(raw: dict[str, str]) -> dict[str, str]:
    """Raw OFD strings as the typed fields: digits, dates, amounts, tax IDs."""
    found: dict[str, str] = {}
    for name, value in raw.items():
        if name == "date":
            value = values.to_date(value)
        elif name in ("amount", "tax", "total"):
            value = values.to_amount(value)
        elif name == "code":
            value = values.digits(value, (10, 12))
        elif name == "number":
            value = values.digits(value, (8, 20))
        elif name == "check_code":
            value = values.digits(value, (20,))
        elif name.endswith("tax_id"):
            value = values.tax_id(value)
        else:
            value = values.clean(value)[:100] or None
        if value:
            found[name] = value
    if len(found.get("number", "")) == 20:
        found.setdefault("kind", "digital")
    return found
