"""Classify the message the verification platform (or the reimbursement system) showed."""

from __future__ import annotations

import re
import unicodedata

from bot.checks.result import CheckResult

# (outcome, platform result code, patterns). Order matters: the daily-limit message also says 次日,
# 部分红冲 also says 红冲, and 异常行为 (blocked) also says 异常.
# Codes and texts: public clients of the verification platform (see the shared domain notes).
# fmt: off
RULES: tuple[tuple[str, str | None, tuple[str, ...]], ...] = (
    ("daily_limit", "002", ("查验次数", "超过该张发票当日", "查太多次", "查了太多次", "次数超", "次数用完",
                            "次数上限", "daily limit", "too many verifications", "verification limit",
                            "verified too many")),
    ("same_day", None, ("当日开具", "次日进行查验", "次日再查", "明天再查", "第二天再查", "次日查验", "rqerr",
                        "issued today", "next day", "try tomorrow")),
    ("too_frequent", "003", ("太频繁", "过于频繁", "频繁", "too frequent")),
    ("busy", "004", ("繁忙", "服务器忙", "系统异常", "busy")),
    ("blocked", "020", ("异常行为", "封", "blocked")),
    ("partly_red", None, ("部分红冲", "部分冲红", "partly reversed", "partially reversed", "partial red")),
    ("abnormal", None, ("异常凭证", "状态异常", "发票异常", "异常发票", "异常票", "失控", "abnormal")),
    ("illegal_request", "005", ("非法请求", "illegal")),
    ("captcha", "007", ("验证码", "captcha")),
    ("mismatch", "006", ("不一致", "不符", "对不上", "mismatch", "does not match", "doesn't match", "don't match",
                         "do not match", "not match")),
    ("no_record", "009", ("查无此票", "查无", "不存在", "没有这张票", "没有该发票", "没有此票", "没这张票",
                          "没有这张发票", "no record", "not found", "no such invoice")),
    ("void", None, ("作废", "红冲", "红字", "void", "cancel", "reversed")),
    ("timeout", "010", ("超时", "系统错误", "网络", "timeout", "timed out", "system error", "network")),
)
# fmt: on

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
    "010": "unclear",  # 查无此票 in some clients, a network timeout in others: no diagnosis rests on it
    "015": "busy",  # 系统异常
    "016": "too_frequent",  # 服务器接收的请求太频繁
    "020": "blocked",
}
OUTCOMES = frozenset({rule[0] for rule in RULES} | set(CODES.values()) | {"other"})
# A message per outcome as people paste it, for the path explorer.
SAMPLES = {
    "daily_limit": "超过该张发票当日查验次数(请于次日再次查验)!",
    "same_day": "当日开具发票可于次日进行查验！",
    "too_frequent": "服务器接收的请求太频繁",
    "busy": "系统繁忙，请稍后再试",
    "blocked": "检测到异常行为",
    "partly_red": "该发票已部分红冲",
    "abnormal": "发票状态异常",
    "illegal_request": "非法请求",
    "captcha": "验证码错误",
    "mismatch": "查验结果不一致",
    "no_record": "查无此票",
    "void": "该发票已作废",
    "timeout": "网络超时",
    "success": "001",
    "unclear": "010",
    "other": "报销系统说这张不能用",
}


# What to tell the person straight away, where the message itself settles something.
NOTES = {
    "same_day": {
        "zh": "当日开具的发票通常次日才能查验，有些渠道需要 24 小时；以查验平台自己的提示为准。",
        "en": "An invoice issued today can usually be verified from the next day; some channels need up to 24 "
        "hours. The platform's own message is what counts.",
    },
    "partly_red": {
        "zh": "部分红冲的发票对剩余金额仍然有效；只有作废或全额红冲的发票不能再用。",
        "en": "A partly reversed (部分红冲) invoice stays valid for the remaining amount; only a void or fully "
        "reversed invoice can't be used.",
    },
    "abnormal": {
        "zh": "“异常凭证 / 状态异常”是税务机关标记的状态，不是您填错了：请联系主管税务机关或拨打 12366 确认。",
        "en": "An abnormal status (异常凭证) is set by the tax authority; it is not a typing mistake. Ask your tax "
        "office or call 12366.",
    },
    "busy": {
        "zh": "查验平台提示系统异常或繁忙（代码 015）：这是平台一侧的问题，不是这张发票的问题；"
        "稍后再查，不要连续重复提交。",
        "en": "The verification platform reports a system error or overload (code 015): a problem on the platform's "
        "side, not with this invoice. Try again later, without submitting over and over.",
    },
    "too_frequent": {
        "zh": "查验平台提示请求太频繁（代码 016）：过一段时间再查，不要连续重复提交。",
        "en": "The verification platform says requests are too frequent (code 016): wait a while before trying "
        "again, without submitting over and over.",
    },
    "unclear": {
        "zh": "代码 010 在不同的查验客户端里含义不同（有的表示查无此票，有的表示网络超时），单凭它判断不了原因。",
        "en": "Code 010 means different things in different verification clients (no record in some, a network "
        "timeout in others), so it alone doesn't tell the cause.",
    },
}


def check_platform_message(raw: str) -> CheckResult:
    text = unicodedata.normalize("NFKC", raw).strip().lower()
    code_match = re.fullmatch(r"\D*(0\d\d)\D*", text)
    if code_match and code_match.group(1) in CODES:
        outcome = CODES[code_match.group(1)]
        return CheckResult(outcome, {"text": raw.strip(), "code": code_match.group(1)}, NOTES.get(outcome, {}))
    for outcome, code, patterns in RULES:
        if any(p in text for p in patterns):
            return CheckResult(outcome, {"text": raw.strip(), "code": code}, NOTES.get(outcome, {}))
    return CheckResult("other", {"text": raw.strip(), "code": None})
