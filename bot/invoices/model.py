"""What reading an invoice yields: one typed result whatever the input (QR code, PDF text, OFD XML).

Pure data, no I/O: the engine receives it as a dict inside an inbound message, the CLI prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

# kind: the verification platform's families, split where the platform's fields differ
KINDS = {
    "special": ("增值税专用发票", "VAT special invoice"),
    "general": ("增值税普通发票", "VAT general invoice"),
    "digital_special": ("数电票（增值税专用发票）", "fully digital e-invoice, special (数电专票)"),
    "digital_general": ("数电票（普通发票）", "fully digital e-invoice, general (数电普票)"),
    "digital": ("数电票", "fully digital e-invoice (数电票)"),  # a 20-digit number, its title not read
}
FIELDS = (
    "kind", "code", "number", "date", "amount", "tax", "total", "check_code",
    "buyer_name", "buyer_tax_id", "seller_name", "seller_tax_id",
)  # fmt: skip
SOURCES = ("qr", "text", "ofd")


@dataclass(frozen=True)
class Problem:
    """Something the reader noticed, said to people in both languages."""

    zh: str
    en: str

    def say(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass
class Invoice:
    """The fields read from one file. Dates are YYYY-MM-DD, amounts decimal strings ("113.00")."""

    kind: str | None = None
    code: str | None = None  # 发票代码: none on a 数电票
    number: str | None = None  # 发票号码: 8 digits, or 20 on a 数电票
    date: str | None = None
    amount: str | None = None  # 不含税金额 (合计 金额)
    tax: str | None = None  # 合计 税额
    total: str | None = None  # 价税合计
    check_code: str | None = None  # 校验码: 20 digits, none on 专票 and 数电票
    buyer_name: str | None = None
    buyer_tax_id: str | None = None
    seller_name: str | None = None
    seller_tax_id: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # field → qr | text | ofd
    problems: list[Problem] = field(default_factory=list)
    input: str | None = None  # what was read: image, pdf, ofd, or None when nothing could be

    def found(self) -> bool:
        return self.number is not None

    def family(self) -> str | None:
        """Which amount the verification platform asks for: special | general | digital."""
        if self.kind is None:
            return None
        return "digital" if self.kind.startswith("digital") else self.kind

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: getattr(self, name) for name in FIELDS}
        data["sources"] = dict(self.sources)
        data["problems"] = [{"zh": p.zh, "en": p.en} for p in self.problems]
        data["input"] = self.input
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Invoice:
        names = {f.name for f in fields(cls)} - {"problems", "sources"}
        invoice = cls(**{k: v for k, v in data.items() if k in names and (v is None or isinstance(v, str))})
        sources = data.get("sources")
        invoice.sources = {str(k): str(v) for k, v in sources.items()} if isinstance(sources, dict) else {}
        problems = data.get("problems") if isinstance(data.get("problems"), list) else []
        invoice.problems = [
            Problem(str(p.get("zh", "")), str(p.get("en", ""))) for p in problems if isinstance(p, dict)
        ]
        return invoice


def unreadable(zh: str, en: str, input_kind: str | None = None) -> Invoice:
    return Invoice(problems=[Problem(zh, en)], input=input_kind)
