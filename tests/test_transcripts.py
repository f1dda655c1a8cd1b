"""The YAML transcript tests in playbooks/tests/, one pytest test per case."""

from __future__ import annotations

import pytest

from bot.playbook.loader import load_catalog
from bot.playbook.shipped import shipped_playbooks_dir
from bot.transcripts import run_file, transcript_files

CATALOG = load_catalog([shipped_playbooks_dir()])
CASES = [
    (path, index)
    for path in transcript_files([shipped_playbooks_dir() / "tests"])
    for index, _ in enumerate(run_file(CATALOG, path))
]


@pytest.mark.parametrize(("path", "index"), CASES, ids=[f"{p.stem}-{i}" for p, i in CASES])
def test_transcript_case(path, index):
    result = run_file(CATALOG, path)[index]
    assert result.ok, "\n".join(result.failures)


def test_there_are_transcripts():
    assert len(CASES) >= 20
