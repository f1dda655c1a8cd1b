"""Languages the bot speaks and how a localised value is picked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypeVar

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
DEFAULT_LANG: Lang = "zh"

T = TypeVar("T")


def parse_lang(value: str | None) -> Lang | None:
    """Map a language tag ("zh-CN", "en_US", "zh-Hant") to one we speak, or None."""
    if not value:
        return None
    tag = value.strip().lower().replace("_", "-")
    if tag.startswith("zh") or tag in ("cn", "中文"):
        return "zh"
    if tag.startswith("en") or tag == "english":
        return "en"
    return None


def pick(value: Mapping[str, T], lang: Lang) -> T:
    """The value in `lang`, falling back to Chinese (the playbooks' first language)."""
    if lang in value:
        return value[lang]
    if DEFAULT_LANG in value:
        return value[DEFAULT_LANG]
    return next(iter(value.values()))
