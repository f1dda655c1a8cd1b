"""Classify the message the verification platform (or the reimbursement system) showed."""

from __future__ import annotations

import re
import unicodedata

from bot.checks.result import CheckResult

# (outcome, platform result code, patterns). Order matters: the daily-limit message also says 次日.
RULES: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("daily_limit", "002", ("查验次数", "超过该张发票当日", "daily limit", "too many verifications")),
    ("same_day", None, ("当日开具", "次日进行查验", "issued today", "next day")),
    ("too_frequent", "003", ("太频繁", "过于频繁", "频繁", "too frequent")),
    ("busy", "004", ("繁忙", "服务器忙", "busy")),
    ("blocked", "020", ("异常行为", "封", "blocked")),
    ("illegal_request", "005", ("非法请求", "illegal")),
    ("captcha", "007", ("验证码", "captcha")),
    ("mismatch", "006", ("不一致", "不符", "mismatch", "does not match", "doesn't match")),
    ("no_record", "009", ("查无此票", "查无", "不存在", "no record", "not found", "no such invoice")),
    ("void", None, ("作废", "红冲", "红字", "void", "cancel", "reversed")),
    ("timeout", "010", ("超时", "系统错误", "网络", "timeout", "timed out", "system error", "network")),
)
CODES = {
    "001": "success",
    "002": "daily_limit",
    "003": "too_frequent",
    "004": "busy",
    "005": "illegal_request",
    "006": "mismatch",
    "007": "captcha",
    "008": "captcha",
    "009": "no_record",
    "010": "timeout",
    "020": "blocked",
}
OUTCOMES = frozenset({rule[0] for rule in RULES} | set(CODES.values()) | {"other"})


def check_platform_message(raw: str) -> CheckResult:
    text = unicodedata.normalize("NFKC", raw).strip().lower()
    code_match = re.fullmatch(r"\D*(0\d\d)\D*", text)
    if code_match and code_match.group(1) in CODES:
        return CheckResult(CODES[code_match.group(1)], {"text": raw.strip(), "code": code_match.group(1)})
    for outcome, code, patterns in RULES:
        if any(p in text for p in patterns):
            return CheckResult(outcome, {"text": raw.strip(), "code": code})
    return CheckResult("other", {"text": raw.strip(), "code": None})
