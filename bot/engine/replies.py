"""Which offered option a typed reply means.

An option is known by its labels, its aliases, the everyday words for its key (answer_words), the
phrases a playbook says mean it (`says`, in the symptom keywords' syntax), and a fact it stands for
("day<today": any reply naming an earlier day). Evidence is weighed per option, the longest phrase
found winning; a phrase negated in its own clause ("不是今天开的") does not count for its option.
When two options fit equally, nobody guesses: the caller asks which one was meant.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from bot.engine.answer_words import ANSWER_SAYS, ANSWER_WORDS, IMPLIES
from bot.engine.clauses import NEGATORS, Clause, clauses
from bot.engine.facts import cn_number, read_count, read_day
from bot.engine.matcher import Keyword
from bot.engine.normalize import normalize, pinyin_text

_NUMBER = re.compile(
    r"^(?:第|选|选择|选项|option|no\.?|number|#)?\s*(\d{1,2}|[一二三四五六七八九十])\s*(?:个|项|号|条|\.)?$"
)
_FILLERS = re.compile(
    r"^(?:嗯+|哦+|呃+|啊|那个|就是|我选|选|我觉得|应该是|是)?(.*?)(?:吧|啊|呀|呢|哦|的|了|吧我觉得)*$"
)
FACT_STRENGTH = 4  # a fact (a day, a count) weighs like a four-character phrase
FACT = re.compile(r"^(day)(=|<)(today)$|^(count)(<|>=)(\d+)$|^(outage)$")


def fact_holds(fact: str, day: date | None, count: int | None, today: date, outage: bool = False) -> bool:
    m = FACT.match(fact)
    if m is None:
        return False
    if m[1]:
        return day is not None and (day == today if m[2] == "=" else day < today)
    if m[4]:
        return count is not None and (count < int(m[6]) if m[5] == "<" else count >= int(m[6]))
    return outage


@dataclass(frozen=True)
class Choice:
    """One option as the reply matcher sees it."""

    key: str
    names: tuple[str, ...]  # normalised labels, aliases and everyday words
    says: tuple[Keyword, ...] = ()
    fact: str | None = None
    sounds: tuple[str, ...] = ()  # the Chinese names' pinyin without spaces: "zhuanpiao"
    grams: frozenset[str] = frozenset()  # character pairs and words of its names and phrases


def make_choice(
    key: str, names: Sequence[str], says: Sequence[str] = (), fact: str | None = None,
    vocabulary: Mapping[str, Sequence[str]] | None = None,
) -> Choice:  # fmt: skip
    if not says and vocabulary is None:
        return _plain_choice(key, tuple(names), fact)
    return _build_choice(key, names, says, fact, vocabulary)


@lru_cache(maxsize=4096)
def _plain_choice(key: str, names: tuple[str, ...], fact: str | None) -> Choice:
    """The engine's own options recur on every turn: built once each."""
    return _build_choice(key, names, (), fact, None)


def _build_choice(key, names, says, fact, vocabulary) -> Choice:
    words = [*names, key.replace("_", " "), *ANSWER_WORDS.get(key, ())]
    normalised = tuple(dict.fromkeys(n for w in words if (n := normalize(w))))
    compiled = tuple(k for s in (*says, *ANSWER_SAYS.get(key, ())) if (k := Keyword.compile(s, vocabulary or {})))
    sounds = tuple(
        dict.fromkeys(pinyin_text(n).replace(" ", "") for n in normalised if not n.isascii() and len(n) >= 2)
    )
    grams = frozenset(g for text in (*normalised, *(normalize(k.text) for k in compiled)) for g in _grams(text))
    return Choice(key, normalised, compiled, fact, sounds, grams)


_CONCEPT = re.compile(r"\{[a-z0-9_]+\}|\*")
_STOPWORDS = frozenset((
    "a", "an", "the", "it", "is", "was", "be", "been", "to", "of", "in", "on", "at", "my", "our", "we", "i", "you",
    "and", "or", "that", "this", "for", "with", "so", "just", "its", "it's", "there", "they", "them", "he", "she",
    "his", "her", "me", "us",
))  # fmt: skip


def _grams(text: str) -> set[str]:
    """Pairs of Chinese characters and whole Latin words: what a loose reading compares."""
    grams: set[str] = set()
    for run in _CONCEPT.split(text):
        for chunk in re.findall(r"[\u4e00-\u9fff]+", run):
            # a pair just after a negator is not said: 上传不成功 holds no 成功
            grams.update(
                chunk[i : i + 2]
                for i in range(len(chunk) - 1)
                if not any(n in chunk[max(0, i - 2) : i] for n in NEGATORS)
            )
        grams.update(w for w in re.findall(r"[a-z0-9']+", run) if w not in _STOPWORDS and len(w) > 2)
    return grams


def _loose(norm: str, choices: Sequence[Choice]) -> str | None:
    """The last resort for a reply no phrase of any option names: the option sharing the most
    distinctive character pairs and words with it, weighed by how few options share each; only when
    one option has a pair no other has and leads clearly."""
    mine = _grams(norm)
    if not mine:
        return None
    shared = {g: sum(g in c.grams for c in choices) for g in mine}
    scores = {}
    for c in choices:
        hits = [g for g in mine if g in c.grams]
        if any(shared[g] == 1 for g in hits):
            scores[c.key] = sum(math.log((len(choices) + 1) / shared[g]) for g in hits)
    if not scores:
        return None
    ranked = sorted(scores.values(), reverse=True)
    if len(ranked) > 1 and ranked[0] < 1.5 * ranked[1]:
        return None
    return max(scores, key=scores.__getitem__)


@dataclass(frozen=True)
class Understood:
    key: str | None
    tied: tuple[str, ...] = ()  # options that fit equally well: ask which
    how: str = ""
    loose: str | None = None  # no phrase fits, but this option shares the most with the reply


def _strip_fillers(norm: str) -> str:
    m = _FILLERS.match(norm.replace(" ", ""))
    return (m.group(1) if m and m.group(1) else norm).strip()


def _says_score(parts: tuple[Clause, ...], choice: Choice) -> int:
    """The longest of the playbook's phrases for this option found un-negated, a little ahead of a
    plain name of the same length."""
    best = 0
    for clause in parts:
        for keyword in choice.says:
            for pattern in keyword.patterns:
                for m in pattern.finditer(clause.text):
                    if not clause.negated_at(m.start(), m.group(0)):
                        best = max(best, len(m.group(0)) + 1)
    return best


def _phrase_score(parts: tuple[Clause, ...], choice: Choice) -> int:
    best = _says_score(parts, choice)
    for clause in parts:
        for name in choice.names:
            if len(name) >= 2 and len(name) > best and clause.has(name):
                best = len(name)
    return best


def understand(
    text: str | None, choice: str | None, choices: Sequence[Choice], today: date, *, outage: bool = False
) -> Understood:
    """The option a reply means; `choice` is a button payload and must be among the keys."""
    keys = [c.key for c in choices]
    if choice is not None:
        return Understood(choice if choice in keys else None, how="button")
    if not text or not text.strip():
        return Understood(None)
    norm = normalize(text)
    counting = any(c.fact and c.fact.startswith("count") for c in choices)
    number = _NUMBER.match(norm)
    if number and not (counting and re.search(r"\d", norm)):
        index = (cn_number(number.group(1)) or 0) - 1
        return Understood(keys[index] if 0 <= index < len(keys) else None, how="number")
    bare = _strip_fillers(norm)
    for candidate in (norm, bare):
        exact = [c.key for c in choices if candidate in c.names]
        if len(exact) == 1:
            return Understood(exact[0], how="exact")
    scores: dict[str, int] = {}
    parts = clauses(text)
    day = read_day(text, today, said_of_issuing=False)
    count = read_count(text) if not counting or not bare.isdigit() else int(bare)
    if day is not None:  # a day named is the answer to a question about the day: "earlier today"
        held = [c.key for c in choices if c.fact and c.fact.startswith("day") and fact_holds(c.fact, day, None, today)]
        if len(held) == 1:
            return Understood(held[0], how="fact")
    for c in choices:
        score = _phrase_score(parts, c)
        if c.fact and fact_holds(c.fact, day, count, today, outage):
            score = max(score, FACT_STRENGTH)
        if score:
            scores[c.key] = score
    if not scores and norm.replace(" ", "").isascii():
        compact = norm.replace(" ", "")
        for c in choices:
            if any(compact == s or (len(s) >= 6 and s in compact) for s in c.sounds):
                scores[c.key] = len(compact)
    if not scores and len(bare) >= 2:
        # a reply that is part of exactly one option's label: 专票 → 增值税专用发票（含电子专票）
        inside = [c.key for c in choices if any(bare in n for n in c.names)]
        if len(inside) == 1:
            return Understood(inside[0], how="partial")
    if not scores:
        return Understood(None, how="loose", loose=_loose(norm, choices))
    best = max(scores.values())
    top = [k for k, v in scores.items() if v == best]
    implied = {IMPLIES[k] for k in top if k in IMPLIES}
    top = [k for k in top if k not in implied] if len(top) > 1 else top  # "做了也没用": failed, not done
    if len(top) > 1:
        return Understood(None, tied=tuple(top), how="tie")
    return Understood(top[0], how="phrase")


def infer(text: str, choices: Sequence[Choice], today: date) -> str | None:
    """The option a message says by the way, before its question is asked: only the playbook's own
    phrases (`says`) and facts count, and only when exactly one option fits."""
    parts = clauses(text)
    day = read_day(text, today, said_of_issuing=True)
    count = read_count(text)
    hits: dict[str, int] = {}
    for c in choices:
        score = _says_score(parts, c)
        if c.fact and c.fact != "outage" and fact_holds(c.fact, day, count, today):
            score = max(score, FACT_STRENGTH)
        if score:
            hits[c.key] = score
    if not hits:
        return None
    best = max(hits.values())
    top = [k for k, v in hits.items() if v == best]
    return top[0] if len(top) == 1 else None
