"""The README's two commands, verbatim, on a clean copy of the repository, each in the fresh virtual
environment the command itself makes, as a newcomer would run them (pip may reuse its wheel cache)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from tests.conftest import ROOT


def readme_command(section: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1]
    return re.search(r"```sh\n(.+?)\n```", body, re.S).group(1).strip()


def clean_copy(target) -> None:
    """What a clone holds: the tracked files (and any not yet committed), nothing built or cached."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout  # fmt: skip
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def test_the_readme_commands_work_in_a_fresh_copy(tmp_path):
    repo = tmp_path / "outage-bot"
    clean_copy(repo)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTEST", "OUTAGE_BOT"))},
        "XDG_DATA_HOME": str(tmp_path / "data"),  # the default database goes here, not into the user's
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)

    run = subprocess.run(
        ["bash", "-c", readme_command("Run it")], cwd=repo, env=env, input="发票查不到\n",
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "是在哪里查不到这张发票" in run.stdout
    assert "a new database at" in run.stderr and str(tmp_path / "data") in run.stderr

    # the same command the README gives for the tests; one quick test selected, so the suite
    # doesn't run itself again inside itself
    one = "-p no:cacheprovider -k test_transcript_tests_report_like_a_test_runner"
    test = subprocess.run(
        ["bash", "-c", readme_command("Test it")], cwd=repo, env={**env, "PYTEST_ADDOPTS": one},
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert test.returncode == 0, (test.stdout + test.stderr)[-3000:]
    assert re.search(r"\b1 passed\b", test.stdout), test.stdout[-2000:]
