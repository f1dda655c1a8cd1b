"""A message as clauses, and whether a phrase found in one is negated there.

"不是今天开的，是昨天" holds two clauses; the 不 of the first negates 今天 and nothing in the second.
Negation is looked for only just before the phrase, inside its own clause, so that words which carry
a negation themselves (额度不足, 不清楚, 没有记录) keep their meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.engine.normalize import normalize

_BREAKS = re.compile(r"[，,。.;；!！?？\n、:：]+|(?:但是|不过|可是|而是|\bbut\b|\bhowever\b|\bthough\b)")
NEGATORS = ("不", "没", "未", "非", "别", "无", "否")
_LATIN_NEGATORS = frozenset({"not", "no", "never", "nor", "without", "neither"})
CJK_WINDOW = 3  # characters before a phrase that may negate it: 不是今天, 并没有作废
LATIN_WINDOW = 3  # words before a phrase: "was not issued today"
# A-not-A asks rather than denies: "有没有作废" is "was it voided?", never "not voided". It is
# rewritten as ASKED, and what follows it is neither asserted nor denied.
_A_NOT_A = re.compile(r"([\u4e00-\u9fff])[不没]\1")
ASKED = "吗"


@dataclass(frozen=True)
class Clause:
    text: str  # normalised

    def find(self, phrase: str) -> list[int]:
        """Where a normalised phrase starts in this clause (Latin phrases only on word boundaries)."""
        if not phrase or phrase not in self.text:
            return []
        if phrase.isascii():
            return [m.start() for m in _latin(phrase).finditer(self.text)]
        found, at = [], self.text.find(phrase)
        while at >= 0:
            found.append(at)
            at = self.text.find(phrase, at + 1)
        return found

    def asked_at(self, start: int) -> bool:
        """The phrase at `start` is what an A-not-A question asks about (不知道有没有作废)."""
        return ASKED in self.text[max(0, start - CJK_WINDOW) : start]

    def denied_at(self, start: int, phrase: str) -> bool:
        """Denied just before: 不是今天, "was not issued today"."""
        if phrase.isascii():
            before = self.text[:start].split()[-LATIN_WINDOW:]
            return any(word in _LATIN_NEGATORS for word in before)
        if phrase.startswith(NEGATORS):
            return False  # 不知道 after 我: the phrase carries its own negation
        window = self.text[max(0, start - CJK_WINDOW) : start]
        return any(n in window for n in NEGATORS)

    def negated_at(self, start: int, phrase: str) -> bool:
        """Not asserted here: denied just before (不是今天), or asked about (有没有作废)."""
        return self.denied_at(start, phrase) or (not phrase.isascii() and self.asked_at(start))

    def said(self, phrase: str) -> bool:
        """The phrase occurs un-denied, asked about or not: "有没有人工客服" asks for a person."""
        return any(not self.denied_at(i, phrase) for i in self.find(phrase))

    def has(self, phrase: str) -> bool:
        """The phrase occurs here at least once without a negation before it."""
        return any(not self.negated_at(i, phrase) for i in self.find(phrase))

    def negated(self, phrase: str) -> bool:
        """The phrase occurs here, and only negated."""
        found = self.find(phrase)
        return bool(found) and all(self.negated_at(i, phrase) for i in found)


@lru_cache(maxsize=4096)
def _latin(phrase: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])")


@lru_cache(maxsize=4096)
def clauses(text: str) -> tuple[Clause, ...]:
    parts = (_A_NOT_A.sub(ASKED, normalize(part)) for part in _BREAKS.split(text or ""))
    return tuple(Clause(p) for p in parts if p)
