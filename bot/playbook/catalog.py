"""All loaded playbooks, with the lookups and the symptom matcher the engine needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.engine.matcher import SymptomMatcher, SymptomText
from bot.playbook.model import Playbook, Symptom
from bot.render import TemplateCache


@dataclass(frozen=True)
class Catalog:
    playbooks: tuple[Playbook, ...]
    templates: TemplateCache = field(default_factory=TemplateCache, compare=False)
    matcher: SymptomMatcher = field(init=False, compare=False)
    memo: dict = field(default_factory=dict, compare=False, repr=False)  # per-playbook derived lookups

    def __post_init__(self) -> None:
        texts = [
            SymptomText(
                s.id,
                [e for lang in ("zh", "en") for e in s.examples.get(lang, [])],
                [k for lang in ("zh", "en") for k in s.keywords.get(lang, [])],
                {name: [w for words in langs.values() for w in words] for name, langs in book.vocabulary.items()},
            )
            for book in self.playbooks
            for s in book.symptoms
        ]
        object.__setattr__(self, "matcher", SymptomMatcher(texts))
        object.__setattr__(self, "_by_id", {b.id: b for b in reversed(self.playbooks)})  # the first of an id wins

    def playbook(self, playbook_id: str | None) -> Playbook | None:
        return self._by_id.get(playbook_id)

    def symptoms(self) -> list[tuple[Playbook, Symptom]]:
        return [(book, s) for book in self.playbooks for s in book.symptoms]

    def find_symptom(self, symptom_id: str) -> tuple[Playbook, Symptom] | None:
        return next(((b, s) for b, s in self.symptoms() if s.id == symptom_id), None)

    def by_system(self, system: str) -> Playbook | None:
        return next((b for b in self.playbooks if b.system == system), None)
