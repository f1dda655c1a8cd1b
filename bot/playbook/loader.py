"""Read playbook files into a Catalog, reporting every problem as `path:line: message`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.playbook.catalog import Catalog
from bot.playbook.model import Contact, Playbook
from bot.playbook.problems import PlaybookError, Problem
from bot.playbook.validate import check_references, check_templates
from bot.playbook.yamlsrc import LineDict, YamlSourceError, line_of, load_yaml
from bot.render import TemplateCache

TRANSCRIPTS_DIR = "tests"  # playbooks/tests/ holds transcript tests, never playbooks


@dataclass
class Loaded:
    playbooks: list[Playbook] = field(default_factory=list)
    roots: dict[str, tuple[str, LineDict]] = field(default_factory=dict)  # playbook id -> (path, raw)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def playbook_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named, or directly inside the directories named (not in their tests/)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            files.append(path)
    return files


def _loc_text(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _pydantic_message(err: dict) -> str:
    loc = tuple(err["loc"])
    if loc and loc[-1] == "[key]":  # the error is in a mapping key itself, e.g. `fr:` in a text map
        loc = loc[:-1]
    where = _loc_text(loc[:-1]) if loc else ""
    last = loc[-1] if loc else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{last}'" + (f" in {where}" if where else "")
    if kind == "missing":
        return f"missing field '{last}'" + (f" in {where}" if where else "")
    if kind == "string_pattern_mismatch":
        return (
            f"{_loc_text(loc)}: '{err['input']}' is not a valid id "
            "(lowercase letters, digits and _, starting with a letter, at most 40)"
        )
    if kind == "literal_error" and last not in ("zh", "en") and err["loc"][-1] == "[key]":
        return f"{_loc_text(loc)}: unknown language '{last}' (use zh or en)"
    if kind == "string_too_short":
        return f"{_loc_text(loc)}: must not be empty"
    return f"{_loc_text(loc)}: {err['msg']}"


def _parse(path: Path, model: type[BaseModel], problems: list[Problem]) -> tuple[Any, Any]:
    """(model instance or None, raw LineDict or None)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(name, 1, f"cannot read file: {exc}"))
        return None, None
    try:
        raw = load_yaml(text)
    except YamlSourceError as exc:
        problems.append(Problem(name, exc.line or 1, exc.message))
        return None, None
    if not isinstance(raw, LineDict):
        problems.append(Problem(name, getattr(raw, "line", 1) or 1, "the file must hold a mapping at top level"))
        return None, None
    try:
        return model.model_validate(raw), raw
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(part for part in err["loc"] if part != "[key]")
            # an unknown key's line is its own; a missing key's is that of the mapping that lacks it
            lookup = loc[:-1] if err["type"] == "missing" else loc
            # a literal_error on a dict key points at the key itself (e.g. `fr:` in a text map)
            problems.append(Problem(name, line_of(raw, lookup), _pydantic_message(err)))
        return None, raw


def load_playbooks(paths: Iterable[Path], templates: TemplateCache | None = None) -> Loaded:
    templates = templates or TemplateCache()
    loaded = Loaded()
    symptom_owner: dict[str, str] = {}
    for path in playbook_files(paths):
        name = str(path)
        book, raw = _parse(path, Playbook, loaded.problems)
        if book is None:
            continue

        def error(loc: tuple[Any, ...], message: str, _raw=raw, _name=name) -> None:
            loaded.problems.append(Problem(_name, line_of(_raw, loc), message))

        def warn(loc: tuple[Any, ...], message: str, _raw=raw, _name=name) -> None:
            loaded.problems.append(Problem(_name, line_of(_raw, loc), message, "warning"))

        before = len(loaded.problems)
        check_references(book, error)
        check_templates(raw, templates, error, warn)
        if book.id in loaded.roots:
            error(("id",), f"duplicate playbook id '{book.id}' (also in {loaded.roots[book.id][0]})")
        for index, symptom in enumerate(book.symptoms):
            owner = symptom_owner.setdefault(symptom.id, name)
            if owner != name:
                error(("symptoms", index, "id"), f"duplicate symptom id '{symptom.id}' (also in {owner})")
        if len(loaded.problems) == before:
            loaded.playbooks.append(book)
            loaded.roots[book.id] = (name, raw)
    if not loaded.playbooks and not loaded.problems:
        loaded.problems.append(Problem(", ".join(str(p) for p in paths) or ".", 1, "no playbook files found"))
    return loaded


class ContactsFile(BaseModel):
    model_config = {"extra": "forbid"}
    contacts: list[Contact]


def load_contact_overrides(path: Path) -> dict[str, Contact]:
    """Contacts from a CONTACTS_FILE, by id; they replace a playbook's contacts with the same id."""
    problems: list[Problem] = []
    parsed, _ = _parse(path, ContactsFile, problems)
    if parsed is None:
        raise PlaybookError(problems)
    return {c.id: c for c in parsed.contacts}


def load_catalog(paths: Iterable[Path]) -> Catalog:
    """Load and validate; raise PlaybookError listing every error (warnings don't stop loading)."""
    templates = TemplateCache()
    loaded = load_playbooks(list(paths), templates)
    if not loaded.ok:
        raise PlaybookError(loaded.problems)
    return Catalog(tuple(loaded.playbooks), templates)
