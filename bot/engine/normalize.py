"""Text normalisation and features for matching Chinese and English without word segmentation."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

import opencc

_T2S = opencc.OpenCC("t2s")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
_PUNCT = re.compile(r"[^\w\u3400-\u4dbf\u4e00-\u9fff]+")


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Full/half width, case, traditional → simplified, punctuation → single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _T2S.convert(text)
    return _PUNCT.sub(" ", text).strip()


def features(normalized: str) -> Counter[str]:
    """Character 1-3-grams of Chinese runs; words and their character trigrams for Latin text.

    Trigrams of `#word#` make typos ("invocie") still share most features with the right word.
    """
    feats: Counter[str] = Counter()
    for run in _CJK_RUN.findall(normalized):
        for n in (1, 2, 3):
            for i in range(len(run) - n + 1):
                feats[run[i : i + n]] += 1
    for word in _WORD.findall(normalized):
        if word.isdigit():
            continue  # numbers say nothing about which symptom it is
        feats["w:" + word] += 1
        padded = f"#{word}#"
        if len(word) > 2:
            for i in range(len(padded) - 2):
                feats["t:" + padded[i : i + 3]] += 1
    return feats
