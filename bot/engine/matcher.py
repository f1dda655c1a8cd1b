"""Free text → symptom, with a score and the reasons for it.

Examples and keywords of every symptom become TF-IDF vectors of character n-grams (see
normalize.features); IDF is learnt from all examples plus everyday chatter, so generic words weigh
little. A message's score for a symptom combines its best cosine similarity to one of that
symptom's examples with the keywords it contains. Below the threshold there is no match.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.engine.chatter import CHATTER
from bot.engine.normalize import features, normalize, pinyin_text

KIND_WEIGHT = {1: 0.3, 2: 1.0, 3: 1.2}  # CJK n-gram length → weight
PREFIX_WEIGHT = {"w:": 1.0, "t:": 0.35, "p:": 0.5}  # Latin words, their trigrams, pinyin syllable pairs
KEYWORD_STRENGTH = 0.5  # each keyword found closes half of the remaining gap to 1.0
PINYIN_KEYWORD_STRENGTH = 0.35  # a keyword found only by its sound (发漂 for 发票) counts for less
SOUND_NEEDS_SIMILARITY = 0.15  # ...and only where the text already resembles the symptom
CJK_GAP, LATIN_GAP = r"[^ ]{0,6}?", r".{0,24}?"  # what `*` in a keyword may stand for
LATIN_SUFFIX = r"(?:s|es|ed|d|ing)?"
CONCEPT_REF = re.compile(r"\{([a-z][a-z0-9_]*)\}")  # `{failure}` in a keyword: any word of that concept


def _kind_weight(feature: str) -> float:
    weight = PREFIX_WEIGHT.get(feature[:2])
    return weight if weight is not None else KIND_WEIGHT.get(len(feature), 1.0)


@dataclass(frozen=True)
class Keyword:
    """A keyword. `*` stands for a few characters ("查*不到" finds 查询不到 and 查找不到); `{name}` for
    any word of a vocabulary concept ("{issue}*{issue_fail}" finds 开具失败, 开票开不成, issuing fails).
    A keyword with concepts compiles once per script, so Chinese and English words never mix."""

    text: str
    patterns: tuple[re.Pattern[str], ...]
    sounds: tuple[str, ...]  # pinyin of a plain Chinese keyword, or of each word of a lone concept

    @classmethod
    def compile(cls, keyword: str, vocabulary: Mapping[str, Sequence[str]]) -> Keyword | None:
        parts = [[t for t in re.split(r"(\{[a-z][a-z0-9_]*\})", part) if t] for part in keyword.split("*")]
        patterns = tuple(p for latin in (False, True) if (p := _script_pattern(parts, vocabulary, latin)))
        if not patterns:
            return None
        if "*" in keyword:
            spoken = []
        elif lone := CONCEPT_REF.fullmatch(keyword):
            spoken = [normalize(w) for w in vocabulary.get(lone.group(1), ())]
        else:
            spoken = [] if CONCEPT_REF.search(keyword) else [normalize(keyword)]
        sounds = tuple(pinyin_text(w) for w in spoken if len(w) >= 2 and not w.isascii())
        return cls(keyword, patterns, sounds)

    def hit(self, text: str, sound: str) -> tuple[float, str]:
        """(strength, what matched) for this keyword in a normalised text and its pinyin."""
        for pattern in self.patterns:
            found = pattern.search(text)
            if found:
                return KEYWORD_STRENGTH, found.group(0)
        if any(s in sound for s in self.sounds):
            return PINYIN_KEYWORD_STRENGTH, ""
        return 0.0, ""


def _script_pattern(
    parts: list[list[str]], vocabulary: Mapping[str, Sequence[str]], latin: bool
) -> re.Pattern[str] | None:
    """The keyword's regex over the words of one script (None if some part has no such words)."""
    pieces = []
    for tokens in parts:
        alternatives = []
        for token in tokens:
            ref = CONCEPT_REF.fullmatch(token)
            words = {normalize(w) for w in (vocabulary.get(ref.group(1), ()) if ref else [token])}
            words = sorted((w for w in words if w and w.isascii() == latin), key=len, reverse=True)
            if not words:
                return None
            suffix = LATIN_SUFFIX if latin else ""  # Latin words also match inflected: search → searched
            alternatives.append("(?:" + "|".join(re.escape(w) + suffix for w in words) + ")")
        pieces.append((r"\s*" if latin else "").join(alternatives))
    body = (LATIN_GAP if latin else CJK_GAP).join(pieces)
    return re.compile(rf"(?<![a-z0-9]){body}(?![a-z0-9])" if latin else body)


@dataclass(frozen=True)
class SymptomText:
    id: str
    examples: Sequence[str]
    keywords: Sequence[str]
    vocabulary: Mapping[str, Sequence[str]] = field(default_factory=dict)  # concept → words


@dataclass(frozen=True)
class MatchResult:
    symptom: str | None  # None below the threshold
    score: float
    why: list[str] = field(default_factory=list)
    best: str | None = None  # the best symptom even below the threshold
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Example:
    symptom: str
    text: str
    vector: dict[str, float]


class SymptomMatcher:
    def __init__(self, symptoms: Iterable[SymptomText]):
        self.symptoms = list(symptoms)
        docs = [features(normalize(e)) for s in self.symptoms for e in s.examples]
        docs += [features(normalize(c)) for c in CHATTER]
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(doc.keys())
        total = len(docs)
        self._idf = {f: math.log((total + 1) / (n + 1)) + 1.0 for f, n in df.items()}
        self._unknown_idf = math.log(total + 1) + 1.0
        self._examples = [
            _Example(s.id, e, self._vector(features(normalize(e)))) for s in self.symptoms for e in s.examples
        ]
        # feature → (example, weight): a message is compared only with examples it shares a feature with
        self._postings: dict[str, list[tuple[_Example, float]]] = {}
        for example in self._examples:
            for feature, weight in example.vector.items():
                self._postings.setdefault(feature, []).append((example, weight))
        self._keywords = {
            s.id: [k for k in (Keyword.compile(kw, s.vocabulary) for kw in dict.fromkeys(s.keywords)) if k]
            for s in self.symptoms
        }

    def _vector(self, feats: Counter[str]) -> dict[str, float]:
        vec = {f: (1.0 + math.log(n)) * self._idf.get(f, self._unknown_idf) * _kind_weight(f) for f, n in feats.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {f: v / norm for f, v in vec.items()}

    def match(self, text: str, threshold: float) -> MatchResult:
        norm = normalize(text)
        if not norm:
            return MatchResult(None, 0.0, ["empty message"])
        query = self._vector(features(norm))
        sound = pinyin_text(norm)
        best_example: dict[str, tuple[float, _Example | None]] = {s.id: (0.0, None) for s in self.symptoms}
        similarity: dict[int, list] = {}  # id(example) → [example, cosine]
        for feature, w in query.items():
            for example, v in self._postings.get(feature, ()):
                entry = similarity.setdefault(id(example), [example, 0.0])
                entry[1] += w * v
        for example, sim in similarity.values():
            if sim > best_example[example.symptom][0]:
                best_example[example.symptom] = (sim, example)
        scores: dict[str, float] = {}
        reasons: dict[str, list[str]] = {}
        for symptom in self.symptoms:
            sim, example = best_example[symptom.id]
            miss = 1.0 - sim
            why = []
            hits = [(k, *k.hit(norm, sound)) for k in self._keywords[symptom.id]]
            direct = any(strength == KEYWORD_STRENGTH for _, strength, _ in hits)
            for keyword, strength, matched in hits:
                if strength == PINYIN_KEYWORD_STRENGTH and not (direct or sim >= SOUND_NEEDS_SIMILARITY):
                    continue  # a sound-alike alone is no evidence: 剩几天 sounds like 升级
                if strength == KEYWORD_STRENGTH:
                    shown = f"keyword '{keyword.text}'"
                    why.append(shown if matched == normalize(keyword.text) else f"{shown} matched '{matched}'")
                elif strength:
                    why.append(f"keyword '{keyword.text}' (by its pinyin)")
                miss *= 1.0 - strength
            scores[symptom.id] = round(1.0 - miss, 4)
            if example is not None:
                why.append(f"similar to example '{example.text}' ({sim:.2f})")
            reasons[symptom.id] = why
        if not scores:
            return MatchResult(None, 0.0, ["no symptoms loaded"])
        best = max(scores, key=lambda s: scores[s])
        score = scores[best]
        if score < threshold:
            why = [f"best was '{best}' at {score:.2f}, below the threshold {threshold:.2f}", *reasons[best]]
            return MatchResult(None, score, why, best, scores)
        return MatchResult(best, score, reasons[best], best, scores)
