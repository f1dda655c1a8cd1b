"""Which of the offered options a user meant: by number, button payload, label or alias."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.engine.normalize import normalize
from bot.engine.types import Option

_NUMBER = re.compile(r"^(?:第|选|选择|option|no\.?|#)?\s*(\d{1,2})\s*(?:个|项|号|\.)?$")


def choose(
    text: str | None,
    choice: str | None,
    options: Sequence[Option],
    aliases: Mapping[str, Sequence[str]] | None = None,
    fuzzy: bool = True,
) -> str | None:
    """The key of the option meant, or None.

    `choice` is a button payload and must be one of the keys offered. `aliases` adds more names per
    key (both languages). With `fuzzy`, a message that contains exactly one option's label or alias
    ("是的，今天开的") picks that option.
    """
    keys = [o.key for o in options]
    if choice is not None:
        return choice if choice in keys else None
    if not text:
        return None
    norm = normalize(text)
    number = _NUMBER.match(norm)
    if number:
        index = int(number.group(1)) - 1
        return keys[index] if 0 <= index < len(keys) else None
    names: dict[str, list[str]] = {o.key: [normalize(o.label), normalize(o.key.replace("_", " "))] for o in options}
    for key, extra in (aliases or {}).items():
        if key in names:
            names[key].extend(normalize(a) for a in extra)
    for key, variants in names.items():
        if norm in variants:
            return key
    if not fuzzy:
        return None
    hits: dict[str, int] = {}
    for key, variants in names.items():
        for variant in variants:
            # "不是今天开的" contains "今天开的", but the negation left over flips its meaning
            if len(variant) >= 2 and _contains(norm, variant) and not _negated(norm.replace(variant, " ")):
                hits[key] = max(hits.get(key, 0), len(variant))
    if not hits:
        return None
    ranked = sorted(hits.items(), key=lambda kv: -kv[1])
    if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
        return ranked[0][0]
    return None


_NEGATION = re.compile(r"[不没未非别无否]|\b(?:not|no|never|don t|didn t|isn t|wasn t|haven t|hasn t)\b")


def _negated(rest: str) -> bool:
    return bool(_NEGATION.search(rest.replace("'", " ")))


def _contains(text: str, variant: str) -> bool:
    if variant.isascii():
        return f" {variant} " in f" {text} "
    return variant in text
