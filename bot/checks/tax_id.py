"""The 18-character unified social credit code (统一社会信用代码), checked per GB 32100-2015."""

from __future__ import annotations

from bot.checks.regions import region_name
from bot.checks.result import CheckResult

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
AUTHORITIES = "1256789ANY"  # registering authority (first character)


def check_character(first17: str) -> str:
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def is_valid_tax_id(value: str) -> bool:
    value = value.strip().upper()
    return (
        len(value) == 18
        and all(ch in CHARSET for ch in value)
        and value[0] in AUTHORITIES
        and value[2:8].isdigit()
        and check_character(value[:17]) == value[17]
    )


def mask_tax_id(value: str) -> str:
    """Show the region and the check characters only: 91110108********1X."""
    return value[:8] + "*" * (len(value) - 10) + value[-2:] if len(value) == 18 else value


def check_tax_id(raw: str) -> CheckResult:
    value = "".join(raw.split()).upper()
    if len(value) != 18:
        return CheckResult(
            "invalid",
            {"value": value},
            {
                "zh": f"税号应为 18 位（统一社会信用代码），这里是 {len(value)} 位，请核对。",
                "en": f"A tax ID (unified social credit code) has 18 characters; this has {len(value)}.",
            },
        )
    bad = sorted({ch for ch in value if ch not in CHARSET})
    if bad:
        shown = "、".join(bad)
        return CheckResult(
            "invalid",
            {"value": value},
            {
                "zh": f"税号里不会出现这些字符：{shown}（统一社会信用代码不用 I、O、S、V、Z）。"
                "常见是把 0 看成 O、1 看成 I。",
                "en": f"A tax ID never contains {', '.join(bad)} (I, O, S, V, Z are not used); "
                "0/O and 1/I are easy to mix up.",
            },
        )
    expected = check_character(value[:17])
    if value[0] not in AUTHORITIES or not value[2:8].isdigit() or expected != value[17]:
        return CheckResult(
            "invalid",
            {"value": value, "masked": mask_tax_id(value), "expected_check": expected},
            {
                "zh": f"税号 {mask_tax_id(value)} 校验位不符（按前 17 位应为 {expected}），很可能有一位输错了。"
                "购买方税号写错的发票不会出现在购买方的发票列表里。",
                "en": f"Tax ID {mask_tax_id(value)} fails its check character (the first 17 give {expected}): "
                "a character is probably wrong. An invoice with a wrong buyer tax ID won't appear in the buyer's list.",
            },
        )
    region = region_name(value[2:6])
    facts = {"value": value, "masked": mask_tax_id(value), "region_zh": region[0] if region else None}
    return CheckResult(
        "valid",
        facts,
        {
            "zh": f"税号 {mask_tax_id(value)} 格式与校验位正确。",
            "en": f"Tax ID {mask_tax_id(value)} is well-formed and its check character is right.",
        },
    )
