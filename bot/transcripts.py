"""YAML transcript tests for playbooks: the user says X, the bot must answer Y.

    lang: zh                      # default for the file's cases
    cases:
      - name: issued today
        outage: {summary: 系统维护}  # optional: a declared outage of the playbook's system
        turns:
          - say: 发票查不到          # or `press: KEY` for a button
            expect:
              state: q_where         # node reached
              symptom: blank_query
              contains: [查不到]      # text fragments (a string or a list)
              not_contains: [...]
              options: [platform]    # option keys that must be offered
              cause: same_day_delay  # the top-ranked cause
              causes: [a, b]         # the first causes, in order

Cases run in memory through the pure engine, with a fixed clock that advances a minute a turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.engine.machine import step
from bot.engine.types import Context, ConversationKey, ConversationState, Inbound, OutageInfo, Reply
from bot.playbook.catalog import Catalog
from bot.playbook.yamlsrc import LineDict, YamlSourceError, line_of, load_yaml
from bot.transcript_coverage import Coverage

START = datetime.fromisoformat("2026-03-02T10:00:00+08:00")  # a Monday morning in Beijing
TURN_KEYS = {"say", "press", "expect"}
EXPECT_KEYS = {"state", "symptom", "contains", "not_contains", "options", "cause", "causes"}
CASE_KEYS = {"name", "lang", "outage", "turns"}


@dataclass
class CaseResult:
    path: str
    name: str
    line: int
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def id(self) -> str:
        return f"{self.path}::{self.name}"


def transcript_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")))
        else:
            files.append(path)
    return files


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _check(expect: dict, reply: Reply, where: str) -> list[str]:
    failures = []
    if "state" in expect and reply.node != expect["state"]:
        failures.append(f"{where}: expected state '{expect['state']}', got '{reply.node}'")
    if "symptom" in expect and reply.symptom != expect["symptom"]:
        failures.append(f"{where}: expected symptom '{expect['symptom']}', got '{reply.symptom}'")
    for fragment in _as_list(expect.get("contains", [])):
        if fragment not in reply.text:
            failures.append(f"{where}: reply does not contain {fragment!r}; it says {reply.text[:200]!r}")
    for fragment in _as_list(expect.get("not_contains", [])):
        if fragment in reply.text:
            failures.append(f"{where}: reply contains {fragment!r}")
    offered = [o.key for o in reply.options]
    for key in _as_list(expect.get("options", [])):
        if key not in offered:
            failures.append(f"{where}: option '{key}' not offered; offered {offered}")
    ranked = [c.id for c in reply.causes]
    if "cause" in expect and (not ranked or ranked[0] != expect["cause"]):
        failures.append(f"{where}: expected top cause '{expect['cause']}', ranking is {ranked[:4]}")
    if "causes" in expect:
        want = _as_list(expect["causes"])
        if ranked[: len(want)] != want:
            failures.append(f"{where}: expected causes {want}, ranking is {ranked[: len(want) + 1]}")
    return failures


def run_case(
    catalog: Catalog, case: LineDict, path: str, default_lang: str, coverage: Coverage | None = None
) -> CaseResult:
    result = CaseResult(path, str(case.get("name", f"line {case.line}")), case.line)
    unknown = set(case) - CASE_KEYS
    if unknown:
        result.failures.append(f"{path}:{case.line}: unknown key(s) {sorted(unknown)} in case")
        return result
    outages = ()
    if isinstance(case.get("outage"), dict):
        system = catalog.playbooks[0].system if catalog.playbooks else ""
        outages = (
            OutageInfo(
                system=case["outage"].get("system", system),
                summary=case["outage"]["summary"],
                region=case["outage"].get("region"),
                until=case["outage"].get("until"),
            ),
        )
    context = Context(lang=case.get("lang", default_lang), outages=outages)
    key = ConversationKey("transcript", "chat", "user")
    state: ConversationState | None = None
    now = START
    for index, turn in enumerate(case.get("turns") or [], 1):
        where = f"{path}:{line_of(case, ('turns', index - 1))}: turn {index}"
        if not isinstance(turn, dict) or set(turn) - TURN_KEYS or not (set(turn) & {"say", "press"}):
            result.failures.append(f"{where}: a turn needs `say` or `press` (and optionally `expect`)")
            break
        expect = turn.get("expect") or {}
        if set(expect) - EXPECT_KEYS:
            result.failures.append(f"{where}: unknown expectation(s) {sorted(set(expect) - EXPECT_KEYS)}")
            break
        inbound = Inbound(key, now, text=str(turn["say"]) if "say" in turn else None, choice=turn.get("press"))
        state, effects = step(catalog, state, inbound, context, now)
        replies = [e for e in effects if isinstance(e, Reply)]
        if not replies:
            result.failures.append(f"{where}: the bot did not reply")
            break
        if coverage is not None:
            coverage.record(state, replies[-1])
        failures = _check(expect, replies[-1], where)
        if failures:
            result.failures.extend(failures)
            break
        now += timedelta(minutes=1)
    return result


def run_file(catalog: Catalog, path: Path, coverage: Coverage | None = None) -> list[CaseResult]:
    name = str(path)
    try:
        doc = load_yaml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return [CaseResult(name, "(file)", 1, [f"{name}:1: cannot read: {exc}"])]
    except YamlSourceError as exc:
        return [CaseResult(name, "(file)", exc.line, [f"{name}:{exc.line}: {exc.message}"])]
    if not isinstance(doc, LineDict) or not isinstance(doc.get("cases"), list):
        return [CaseResult(name, "(file)", 1, [f"{name}:1: a transcript file needs a `cases:` list"])]
    return [run_case(catalog, case, name, doc.get("lang", "zh"), coverage) for case in doc["cases"]]


def run_transcripts(catalog: Catalog, paths: list[Path], coverage: Coverage | None = None) -> list[CaseResult]:
    return [result for file in transcript_files(paths) for result in run_file(catalog, file, coverage)]
