"""Offline checks of invoice numbers, tax IDs and platform messages: valid and invalid examples."""

from __future__ import annotations

from datetime import date

import pytest

from bot.checks.invoice_number import check_invoice_number
from bot.checks.platform_message import check_platform_message
from bot.checks.tax_id import check_character, check_tax_id, is_valid_tax_id, mask_tax_id

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("text", "outcome", "facts"),
    [
        ("24112000000016430745", "digital", {"year": 2024, "region_zh": "北京"}),  # the domain notes' example shape
        ("25332000000123456789", "digital", {"year": 2025, "region_zh": "浙江"}),
        ("1100231130 12345678", "vat_special", {"year": 2023, "region_zh": "北京", "number": "12345678"}),
        ("3100253160-00012345", "vat_special", {"region_en": "Shanghai"}),
        ("1100233630 12345678", "vat_general", {"type_zh": "增值税普通发票"}),
        ("1100232730 12345678", "vat_special", {"type_zh": "货物运输业增值税专用发票"}),
        ("011002300111 12345678", "vat_general", {"type_zh": "增值税电子普通发票", "year": 2023}),
        ("01100230011112345678", "vat_general", {"code": "011002300111"}),  # 12+8 pasted together: starts with 0
        ("035022400112 87654321", "vat_general", {"region_zh": "厦门"}),  # separately listed city
        ("发票代码：044002300104 发票号码：12345678", "vat_general", {"region_zh": "广东"}),
        ("044002300199 12345678", "unknown_type", {"region_zh": "广东"}),
    ],
)
def test_valid_invoice_numbers(text, outcome, facts):
    result = check_invoice_number(text, TODAY)
    assert result.outcome == outcome, result.message
    assert facts.items() <= result.facts.items()
    assert result.message["zh"] and result.message["en"]


def test_amount_field_advice_follows_the_type():
    assert "价税合计" in check_invoice_number("24112000000016430745", TODAY).message["zh"]
    assert "发票代码”留空" in check_invoice_number("24112000000016430745", TODAY).message["zh"]
    assert "不含税金额" in check_invoice_number("1100231130 12345678", TODAY).message["zh"]
    assert "校验码后6位" in check_invoice_number("011002300111 12345678", TODAY).message["zh"]


@pytest.mark.parametrize(
    ("text", "outcome", "fragment"),
    [
        ("99112000000016430745", "invalid", "晚于今年"),  # year 2099
        ("19112000000016430745", "invalid", "不对"),  # 2019: before 数电票 existed
        ("24992000000016430745", "invalid", "省份位 99"),
        ("11002311301234567", "invalid", "17 位"),
        ("9900231130 12345678", "invalid", "地区位 9900"),
        ("111002300111 12345678", "invalid", "第 1 位应为 0"),
        ("12345678", "incomplete", "8 位发票号码"),
        ("1100231130", "incomplete", "还需要 8 位发票号码"),
        ("没有号码", "invalid", "没有找到号码"),
        ("91350100M000100Y43", "tax_id", "这是税号"),
        ("121123310000000032", "ambiguous", "加一个空格"),
    ],
)
def test_invalid_incomplete_and_ambiguous_numbers(text, outcome, fragment):
    result = check_invoice_number(text, TODAY)
    assert result.outcome == outcome
    assert fragment in result.message["zh"], result.message["zh"]


def test_an_old_invoice_is_flagged_as_past_the_five_year_window():
    result = check_invoice_number("1100191130 12345678", TODAY)
    assert result.outcome == "vat_special"
    assert "近 5 年" in result.message["zh"]


def test_tax_id_check_character():
    assert check_character("91350100M000100Y4") == "3"
    assert is_valid_tax_id("91350100M000100Y43")
    assert is_valid_tax_id(" 91350100m000100y43 ".strip().upper())
    assert not is_valid_tax_id("91350100M000100Y44")  # one character off
    assert not is_valid_tax_id("91350100M000100Y4")  # too short


@pytest.mark.parametrize(
    ("text", "outcome", "fragment"),
    [
        ("91350100M000100Y43", "valid", "校验位正确"),
        ("91350100m000100y43", "valid", "校验位正确"),
        ("91350100M000100Y44", "invalid", "按前 17 位应为 3"),
        ("91350100M0001O0Y43", "invalid", "O"),  # letter O for zero
        ("913501", "invalid", "这里是 6 位"),
    ],
)
def test_tax_id_messages(text, outcome, fragment):
    result = check_tax_id(text)
    assert result.outcome == outcome
    assert fragment in result.message["zh"]


def test_tax_id_is_masked_for_display():
    assert mask_tax_id("91110108MA01ABCD1X") == "91110108********1X"


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("超过该张发票当日查验次数(请于次日再次查验)!", "daily_limit"),
        ("当日开具发票可于次日进行查验！", "same_day"),
        ("查无此票", "no_record"),
        ("所查发票不存在", "no_record"),
        ("查验结果：不一致", "mismatch"),
        ("该发票已作废", "void"),
        ("发票已红冲", "void"),
        ("查验请求太频繁", "too_frequent"),
        ("服务器繁忙，请稍后再试", "busy"),
        ("网络超时", "timeout"),
        ("009", "no_record"),
        ("错误代码 006", "mismatch"),
        ("something else entirely", "other"),
    ],
)
def test_platform_messages(text, outcome):
    assert check_platform_message(text).outcome == outcome
