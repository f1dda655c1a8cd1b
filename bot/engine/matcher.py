"""Free text → symptom, with a score and the reasons for it.

Examples and keywords of every symptom become TF-IDF vectors of character n-grams (see
normalize.features); IDF is learnt from all examples plus everyday chatter, so generic words weigh
little. A message's score for a symptom combines its best cosine similarity to one of that
symptom's examples with the keywords it contains. Below the threshold there is no match.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.engine.chatter import CHATTER
from bot.engine.normalize import features, normalize

KIND_WEIGHT = {1: 0.3, 2: 1.0, 3: 1.2}  # CJK n-gram length → weight
WORD_WEIGHT, TRIGRAM_WEIGHT = 1.0, 0.35
KEYWORD_STRENGTH = 0.5  # each keyword found closes half of the remaining gap to 1.0


def _kind_weight(feature: str) -> float:
    if feature.startswith("w:"):
        return WORD_WEIGHT
    if feature.startswith("t:"):
        return TRIGRAM_WEIGHT
    return KIND_WEIGHT.get(len(feature), 1.0)


@dataclass(frozen=True)
class SymptomText:
    id: str
    examples: Sequence[str]
    keywords: Sequence[str]


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
        self._keywords = {s.id: [(k, normalize(k)) for k in s.keywords if normalize(k)] for s in self.symptoms}

    def _vector(self, feats: Counter[str]) -> dict[str, float]:
        vec = {f: (1.0 + math.log(n)) * self._idf.get(f, self._unknown_idf) * _kind_weight(f) for f, n in feats.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {f: v / norm for f, v in vec.items()}

    @staticmethod
    def _keyword_hit(keyword: str, text: str) -> bool:
        if keyword.isascii():  # whole words for Latin keywords ("void" must not hit "avoid")
            return f" {keyword} " in f" {text} "
        return keyword in text

    def match(self, text: str, threshold: float) -> MatchResult:
        norm = normalize(text)
        if not norm:
            return MatchResult(None, 0.0, ["empty message"])
        query = self._vector(features(norm))
        best_example: dict[str, tuple[float, _Example | None]] = {s.id: (0.0, None) for s in self.symptoms}
        for example in self._examples:
            sim = sum(w * example.vector.get(f, 0.0) for f, w in query.items())
            if sim > best_example[example.symptom][0]:
                best_example[example.symptom] = (sim, example)
        scores: dict[str, float] = {}
        reasons: dict[str, list[str]] = {}
        for symptom in self.symptoms:
            sim, example = best_example[symptom.id]
            hits = [k for k, nk in self._keywords[symptom.id] if self._keyword_hit(nk, norm)]
            keyword_score = 1.0 - (1.0 - KEYWORD_STRENGTH) ** len(hits)
            scores[symptom.id] = round(1.0 - (1.0 - sim) * (1.0 - keyword_score), 4)
            why = [f"keyword '{k}'" for k in hits]
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
