"""Text normalisation and features for matching Chinese and English without word segmentation."""

from __future__ import annotations

import os
import re
import unicodedata
from collections import Counter
from functools import lru_cache

import opencc

# Each character's usual reading is all matching needs (user text and playbook text are read the same
# way); pypinyin's phrase dictionary would add ~45 MB to every process and changes no match
# (benchmarks/match_eval.py gives the same figures with and without it).
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
from pypinyin import lazy_pinyin  # after the setting above: pypinyin reads it on import

_T2S = opencc.OpenCC("t2s")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(r"[a-z0-9]+")
_PUNCT = re.compile(rf"[^\w{_CJK}]+")
# "can't", "cant" and "cannot" should look alike once punctuation is gone
_CONTRACTIONS = (
    (re.compile(r"\b(?:can t|cant|can not)\b"), "cannot"),
    (re.compile(r"\b(?:won t|wont)\b"), "will not"),
    (re.compile(r"\b(?:don t|dont)\b"), "do not"),
    (re.compile(r"\b(?:doesn t|doesnt)\b"), "does not"),
    (re.compile(r"\b(?:isn t|isnt)\b"), "is not"),
    (re.compile(r"\b(?:didn t|didnt)\b"), "did not"),
    (re.compile(r"\b(was|were|are|has|have|had|could|would|should|must|ain)n t\b"), r"\1 not"),
)


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Full/half width, case, traditional → simplified; punctuation kept."""
    if text.isascii():  # a number, a command, English: nothing for NFKC or OpenCC to change
        return text.lower()
    return _T2S.convert(unicodedata.normalize("NFKC", text).lower())


@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """Full/half width, case, traditional → simplified, punctuation → single spaces, contractions."""
    text = fold(text)
    text = _PUNCT.sub(" ", text).strip()
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=8192)
def pinyin(run: str) -> tuple[str, ...]:
    """Toneless syllables of a run of Chinese characters: users type with pinyin input methods and
    often pick a wrong homophone (发漂 for 发票), which keeps the same syllables."""
    return tuple(lazy_pinyin(run))


def features(normalized: str) -> Counter[str]:
    """Character 1-3-grams and pinyin syllable pairs of Chinese runs; words and their character
    trigrams for Latin text (trigrams of `#word#` keep typos such as "invocie" close to the word).
    """
    feats: Counter[str] = Counter()
    for run in _CJK_RUN.findall(normalized):
        for n in (1, 2, 3):
            for i in range(len(run) - n + 1):
                feats[run[i : i + n]] += 1
        syllables = pinyin(run)
        for i in range(len(syllables) - 1):
            feats[f"p:{syllables[i]}_{syllables[i + 1]}"] += 1
    for word in _WORD.findall(normalized):
        if word.isdigit():
            continue  # numbers say nothing about which symptom it is
        feats["w:" + word] += 1
        padded = f"#{word}#"
        if len(word) > 2:
            for i in range(len(padded) - 2):
                feats["t:" + padded[i : i + 3]] += 1
    return feats


def pinyin_text(normalized: str) -> str:
    """The text with each Chinese run replaced by its syllables, space separated."""
    return " " + " ".join(" ".join(pinyin(run)) for run in _CJK_RUN.findall(normalized)) + " "
