"""The documentation shows what the code does: its examples load, its picture is current."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from bot.playbook.graph import to_mermaid
from bot.playbook.lint import lint
from bot.playbook.loader import load_playbooks
from tests.conftest import ROOT


def fenced(path, language):
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def test_the_playbook_format_example_loads_and_lints_clean(tmp_path):
    example = fenced(ROOT / "playbooks" / "README.md", "yaml")[0]
    (tmp_path / "printer.yaml").write_text(example, encoding="utf-8")
    loaded = load_playbooks([tmp_path])
    assert loaded.problems == []
    book = loaded.playbooks[0]
    assert list(lint(book, *loaded.roots[book.id])) == []


def test_the_readme_picture_is_the_current_graph(catalog):
    (picture,) = fenced(ROOT / "README.md", "mermaid")
    assert picture == to_mermaid(catalog.playbook("invoice"), "en"), "regenerate: outage-bot graph invoice --lang en"


def test_every_setting_is_in_env_example():
    from bot.config import Settings

    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert re.search(rf"^{name}=", example, re.M), name


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff comes with the test extra")
def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
