"""Personal subscriptions in words: `/subscribe 查验平台 乐企 北京`, or the answer to "which parts,
where?" after `/subscribe` → the components (by id, title or alias) and the province; `全部` /
`all` for every component; nothing named for a component means all of them, nothing named for a
province means everywhere. Pure: the engine asks, the operations save."""

from __future__ import annotations

import re

from bot.checks.regions import PROVINCES
from bot.engine.texts import ui_texts
from bot.playbook.model import Playbook

ALL_WORDS = {"全部", "所有", "全部组件", "all", "everything"}
_SPLIT = re.compile(r"[\s,，、;；]+")
_PROVINCE_SUFFIX = re.compile(r"(省|市|自治区|壮族自治区|回族自治区|维吾尔自治区|特别行政区)$")


class SubscribeError(ValueError):
    """A word that names no component and no province (the message names it)."""


def province(word: str) -> str | None:
    """北京 / 北京市 / beijing → 北京."""
    plain = _PROVINCE_SUFFIX.sub("", word.strip()).lower()
    return next((zh for zh, en in PROVINCES.values() if plain in (zh, en.lower())), None)


def parse_subscription(book: Playbook, words: str) -> tuple[tuple[str, ...], str | None]:
    parts: set[str] = set()
    region = None
    for word in (w for w in _SPLIT.split(words) if w):
        if word.lower() in ALL_WORDS:
            continue
        if (component := book.component(word)) is not None:
            parts.add(component.id)
        elif (place := province(word)) is not None:
            region = place
        else:
            raise SubscribeError(word)
    return tuple(c.id for c in book.components if c.id in parts), region


def titles(book: Playbook | None, ids: tuple[str, ...] | None, lang: str) -> str:
    """The components' titles (all of them when `ids` is None), joined as the language joins lists."""
    parts = [c for c in (book.components if book else []) if ids is None or c.id in ids]
    return ("、" if lang == "zh" else ", ").join(c.title.get(lang) or c.title.get("zh", c.id) for c in parts)


def described(book: Playbook | None, components: tuple[str, ...], region: str | None, lang: str) -> str:
    """A subscription as people read it: "查验平台、乐企直连（北京）", "全部部分（全部地区）"."""
    words = ui_texts()
    parts = titles(book, components, lang) if components else words["subscribe_every_part"][lang]
    where = region or words["subscribe_everywhere"][lang]
    return f"{parts}（{where}）" if lang == "zh" else f"{parts} ({where})"
