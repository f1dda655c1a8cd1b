"""Structural checks of pasted invoice numbers (no checksum is published for them).

Formats (see shared domain notes):
- 10-digit 发票代码: region(4) year(2) batch(1) type(1) copies(1) amount-version(1)
- 12-digit 发票代码: 0 region(4) year(2) batch(3) type(2)
- 8-digit 发票号码 goes with either code
- 20-digit 数电票 number: year(2) province(2) channel(1) sequence(15); it has no 发票代码
Pasted strings are told apart by structure, not length alone: a 12-digit code + 8-digit number is
also 20 digits but starts with 0; a 10-digit code + number is as long as an 18-character tax ID.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from bot.checks.regions import region_name
from bot.checks.result import CheckResult
from bot.checks.tax_id import is_valid_tax_id, mask_tax_id

VERIFIABLE_YEARS = 5
DIGITAL_FIRST_YEAR = 2021  # 数电票 pilots began at the end of 2021

# Which amount the verification platform asks for, by invoice family.
AMOUNT_FIELD = {
    "special": ("不含税金额", "the amount excluding tax (不含税金额)"),
    "general": ("校验码后6位", "the last 6 digits of the check code (校验码后6位)"),
    "digital": ("价税合计（含税总额）", "the total including tax (价税合计)"),
}
CODE10_TYPES = {
    "1": ("增值税专用发票", "VAT special invoice", "special"),
    "5": ("增值税专用发票", "VAT special invoice", "special"),
    "2": ("货物运输业增值税专用发票", "freight VAT special invoice", "special"),
    "7": ("货物运输业增值税专用发票", "freight VAT special invoice", "special"),
    "3": ("增值税普通发票", "VAT general invoice", "general"),
    "6": ("增值税普通发票", "VAT general invoice", "general"),
}
CODE12_TYPES = {
    "04": ("增值税普通发票（折叠票）", "VAT general invoice (folded)", "general"),
    "05": ("增值税普通发票（折叠票）", "VAT general invoice (folded)", "general"),
    "06": ("增值税普通发票（卷票）", "VAT general invoice (roll)", "general"),
    "07": ("增值税普通发票（卷票）", "VAT general invoice (roll)", "general"),
    "11": ("增值税电子普通发票", "electronic VAT general invoice", "general"),
    "12": ("通行费电子普通发票", "toll electronic general invoice", "general"),
}


@dataclass(frozen=True)
class Parsed:
    """One reading of the pasted text: a family, its facts, or the reason it can't be that."""

    family: str | None  # special | general | digital | None (type digits not recognised)
    facts: dict
    problem: tuple[str, str] | None = None


def _year(two: str, today: date) -> tuple[int, tuple[str, str] | None]:
    year = 2000 + int(two)
    if year > today.year:
        return year, (f"年份位为 {two}，晚于今年", f"the year digits {two} are in the future")
    return year, None


def _region(code: str) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    name = region_name(code)
    if name is None:
        return None, (f"地区位 {code[:4]} 不是有效的地区代码", f"the region digits {code[:4]} are no known region")
    return name, None


def parse_code10(code: str, today: date) -> Parsed:
    region, problem = _region(code[:4])
    year, year_problem = _year(code[4:6], today)
    kind = CODE10_TYPES.get(code[7])
    facts = {"code": code, "year": year, "region_zh": region and region[0], "region_en": region and region[1]}
    if kind:
        facts.update(type_zh=kind[0], type_en=kind[1])
    return Parsed(kind[2] if kind else None, facts, problem or year_problem)


def parse_code12(code: str, today: date) -> Parsed:
    if code[0] != "0":
        return Parsed(None, {"code": code}, ("12 位发票代码第 1 位应为 0", "a 12-digit code starts with 0"))
    region, problem = _region(code[1:5])
    year, year_problem = _year(code[5:7], today)
    kind = CODE12_TYPES.get(code[10:12])
    facts = {"code": code, "year": year, "region_zh": region and region[0], "region_en": region and region[1]}
    if kind:
        facts.update(type_zh=kind[0], type_en=kind[1])
    return Parsed(kind[2] if kind else None, facts, problem or year_problem)


def parse_digital(number: str, today: date) -> Parsed:
    year, year_problem = _year(number[:2], today)
    region = region_name(number[2:4])
    facts = {
        "number": number,
        "year": year,
        "region_zh": region and region[0],
        "region_en": region and region[1],
        "type_zh": "数电票（全电发票）",
        "type_en": "fully digital e-invoice (数电票)",
    }
    if year < DIGITAL_FIRST_YEAR:
        return Parsed("digital", facts, (f"数电票号码以年份开头，{number[:2]} 不对", f"{number[:2]} is no 数电票 year"))
    if region is None:
        return Parsed("digital", facts, (f"省份位 {number[2:4]} 不是有效的地区代码", f"{number[2:4]} is no province"))
    return Parsed("digital", facts, year_problem)


def _digit_runs(text: str) -> list[str]:
    return re.findall(r"\d+", text)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[0-9A-Za-z]+", text)


def _describe(parsed: Parsed, today: date) -> CheckResult:
    facts = dict(parsed.facts)
    family = parsed.family
    facts["family"] = family
    where_zh = f"{facts['region_zh']}，" if facts.get("region_zh") else ""
    where_en = f"{facts['region_en']}, " if facts.get("region_en") else ""
    old = facts.get("year") and facts["year"] < today.year - VERIFIABLE_YEARS
    old_zh = f"注意：查验平台只能查验近 {VERIFIABLE_YEARS} 年内开具的发票。" if old else ""
    old_en = f" Note: only invoices from the last {VERIFIABLE_YEARS} years can be verified." if old else ""
    if family is None:
        return CheckResult(
            "unknown_type",
            facts,
            {
                "zh": f"号码结构正确（{where_zh}{facts.get('year')} 年），但类型位无法识别。请看票面名称："
                "专票填“不含税金额”，普票填“校验码后6位”，数电票填“价税合计”。" + old_zh,
                "en": f"The number is well-formed ({where_en}{facts.get('year')}) but its type digits are unknown. "
                "Go by the invoice's title: special invoices take the amount excluding tax, general ones the last "
                "6 check-code digits, 数电票 the total including tax." + old_en,
            },
        )
    amount_zh, amount_en = AMOUNT_FIELD[family]
    if family == "digital":
        zh = (
            f"这是{facts['type_zh']}（{where_zh}{facts['year']} 年）。查验时“发票代码”留空，号码填全部 20 位，"
            f"金额填“{amount_zh}”。"
        )
        en = (
            f"This is a {facts['type_en']} ({where_en}{facts['year']}). When verifying, leave the invoice code "
            f"empty, enter all 20 digits as the number, and enter {amount_en}."
        )
    else:
        zh = f"这是{facts['type_zh']}（{where_zh}{facts['year']} 年）。查验时金额一栏填“{amount_zh}”。"
        en = f"This is a {facts['type_en']} ({where_en}{facts['year']}). When verifying, enter {amount_en}."
        if family == "special":
            zh += "把含税总额填进“不含税金额”是查验“不一致”最常见的原因。"
            en += " Typing the tax-inclusive total there is the most common cause of a mismatch (不一致)."
    outcome = {"special": "vat_special", "general": "vat_general", "digital": "digital"}[family]
    return CheckResult(outcome, facts, {"zh": zh + old_zh, "en": en + old_en})


def _invalid(reason: tuple[str, str], value: str) -> CheckResult:
    return CheckResult(
        "invalid",
        {"value": value},
        {
            "zh": f"这个号码看起来不对：{reason[0]}。请对照票面逐位核对后再发一次。",
            "en": f"This number doesn't look right: {reason[1]}. "
            "Compare it digit by digit with the invoice and resend.",
        },
    )


def _code_with_number(code: str, number: str, today: date) -> Parsed:
    parsed = parse_code10(code, today) if len(code) == 10 else parse_code12(code, today)
    return Parsed(parsed.family, {**parsed.facts, "number": number}, parsed.problem)


def check_invoice_number(raw: str, today: date) -> CheckResult:
    text = unicodedata.normalize("NFKC", raw)
    runs = _digit_runs(text)
    letters_token = next((t.upper() for t in _tokens(text) if len(t) == 18 and not t.isdigit()), None)
    if letters_token:
        return _as_tax_id(letters_token)
    if len(runs) == 2 and len(runs[0]) in (10, 12) and len(runs[1]) == 8:
        parsed = _code_with_number(runs[0], runs[1], today)
        return _invalid(parsed.problem, runs[0]) if parsed.problem else _describe(parsed, today)
    if len(runs) != 1:
        joined = "".join(runs)
        if not joined:
            return CheckResult(
                "invalid",
                {},
                {
                    "zh": "没有找到号码。请直接粘贴发票号码（数电票 20 位；其他发票：发票代码 + 空格 + 8 位号码）。",
                    "en": "No number found. Paste the invoice number (20 digits for a 数电票; "
                    "otherwise the code, a space, and the 8-digit number).",
                },
            )
        runs = [joined]
    value = runs[0]
    if len(value) == 8:
        return CheckResult(
            "incomplete",
            {"number": value},
            {
                "zh": "这是 8 位发票号码。老版发票查验还需要 10 位或 12 位发票代码（票面左上角）；数电票号码是 20 位。",
                "en": "That is an 8-digit invoice number. Older invoices also need their 10- or 12-digit code "
                "(top left); a 数电票 number has 20 digits.",
            },
        )
    if len(value) in (10, 12):
        parsed = parse_code10(value, today) if len(value) == 10 else parse_code12(value, today)
        if parsed.problem:
            return _invalid(parsed.problem, value)
        result = _describe(parsed, today)
        return CheckResult(
            "incomplete",
            result.facts,
            {
                "zh": "这是发票代码，查验还需要 8 位发票号码。" + result.message["zh"],
                "en": "That is the invoice code; verification also needs the 8-digit number. " + result.message["en"],
            },
        )
    if len(value) == 18:
        return _eighteen(value, today)
    if len(value) == 20:
        return _twenty(value, today)
    return CheckResult(
        "invalid",
        {"value": value},
        {
            "zh": f"收到 {len(value)} 位数字。发票号码应为：数电票 20 位；或 10/12 位发票代码 + 8 位发票号码。",
            "en": f"Got {len(value)} digits. An invoice number is 20 digits (数电票), or a 10/12-digit code plus an "
            "8-digit number.",
        },
    )


def _as_tax_id(value: str) -> CheckResult:
    valid = is_valid_tax_id(value)
    facts = {"value": value, "masked": mask_tax_id(value), "valid": valid}
    return CheckResult(
        "tax_id",
        facts,
        {
            "zh": f"这是税号（统一社会信用代码 {mask_tax_id(value)}），不是发票号码；"
            + ("校验位正确。" if valid else "而且校验位不符，请核对。"),
            "en": f"That is a tax ID ({mask_tax_id(value)}), not an invoice number; "
            + ("its check character is right." if valid else "and its check character is wrong."),
        },
    )


def _eighteen(value: str, today: date) -> CheckResult:
    as_invoice = _code_with_number(value[:10], value[10:], today)
    invoice_ok = as_invoice.problem is None and as_invoice.family is not None
    tax_ok = is_valid_tax_id(value)
    if invoice_ok and tax_ok:
        return CheckResult(
            "ambiguous",
            {"value": value},
            {
                "zh": "这 18 位数字既可能是 10 位发票代码 + 8 位号码，也可能是税号。"
                "如果是发票，请在代码和号码之间加一个空格再发一次。",
                "en": "These 18 digits could be a 10-digit code plus an 8-digit number, or a tax ID. "
                "If it is an invoice, resend it with a space between the code and the number.",
            },
        )
    if tax_ok:
        return _as_tax_id(value)
    if invoice_ok:
        return _describe(as_invoice, today)
    return _invalid(
        as_invoice.problem
        or ("既不是有效税号，也不是 10 位代码 + 8 位号码", "neither a valid tax ID nor a 10-digit code plus number"),
        value,
    )


def _twenty(value: str, today: date) -> CheckResult:
    # no 数电票 year starts with 0: a leading 0 means a 12-digit code + an 8-digit number
    parsed = _code_with_number(value[:12], value[12:], today) if value[0] == "0" else parse_digital(value, today)
    return _invalid(parsed.problem, value) if parsed.problem else _describe(parsed, today)
