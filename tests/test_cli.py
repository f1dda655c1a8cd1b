"""`outage-bot` end to end, as a user runs it: real processes, a real SQLite file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def run(*args: str, stdin: str = "", env: dict | None = None, cwd: Path | None = None, timeout: float = 60):
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd or ROOT,
        timeout=timeout,
    )


@pytest.fixture
def env(tmp_path):
    return {"OUTAGE_BOT_DB": str(tmp_path / "cli.db"), "XDG_DATA_HOME": str(tmp_path / "xdg")}


def test_one_message_per_process_resumes_and_always_taking_option_1_reaches_12366(env):
    first = run("chat", "--jsonl", "--user", "alice", stdin="发票查不到\n", env=env)
    assert first.returncode == 0, first.stderr
    seen = [json.loads(first.stdout)]
    for _ in range(15):
        result = run("chat", "--jsonl", "--user", "alice", stdin="1\n", env=env)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 1  # one message in, one bot message out
        seen.append(json.loads(lines[0]))
        if seen[-1]["state"] == "finished":
            break
    states = [m["state"] for m in seen]
    assert states[0] == "q_where" and "diagnosis" in states and "steps" in states
    assert states[-1] == "finished" and "12366" in seen[-1]["text"]
    for message in seen:
        assert set(message) >= {"text", "options", "state", "symptom", "causes"}
        assert all(set(o) == {"key", "label"} for o in message["options"])
    assert seen[-1]["symptom"] == "blank_query" and seen[-1]["causes"][0]["score"] > 0


def test_a_different_user_has_a_different_conversation(env):
    run("chat", "--jsonl", "--user", "alice", stdin="发票查不到\n", env=env)
    bob = run("chat", "--jsonl", "--user", "bob", stdin="1\n", env=env)
    assert json.loads(bob.stdout)["state"] == "q_where"  # "1" at bob's menu picks the first symptom


def test_piped_chat_prints_nothing_before_the_first_message(env):
    result = run("chat", stdin="", env=env)
    assert (result.returncode, result.stdout) == (0, "")


def test_plain_chat_numbers_the_options_and_english_works(env):
    result = run("chat", "--lang", "en", stdin="the invoice is invalid\n", env=env)
    assert "What exactly does the system say?" in result.stdout
    assert "  1. Verification says the details don't match" in result.stdout


def test_default_database_is_in_the_user_data_directory(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OUTAGE_BOT_DB"} | {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input="你好\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "xdg" / "outage-bot" / "outage-bot.db").exists()


def test_check_explores_every_state_of_the_shipped_playbooks_without_a_failure():
    result = run("check", timeout=900)  # the walk through every state takes a few minutes
    assert result.returncode == 0 and result.stdout == "", result.stdout[-2000:]
    assert "0 error(s), 0 warning(s)" in result.stderr
    explored = re.search(r"invoice: explored (\d+) states in 4 contexts \((\d+) turns", result.stderr)
    assert explored and int(explored.group(1)) > 10_000, result.stderr


def test_check_reports_file_and_line_and_never_a_traceback(tmp_path):
    shipped = (ROOT / "playbooks" / "invoice.yaml").read_text(encoding="utf-8")
    dangling = tmp_path / "dangling.yaml"
    dangling.write_text(shipped.replace("        next: q_when\n", "        next: q_whenever\n", 1), encoding="utf-8")
    result = run("check", str(dangling))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{dangling}:"), result.stdout
    assert "next 'q_whenever' is no question of this playbook" in result.stdout.splitlines()[0]

    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(shipped.replace('    phone: "12366"\n', '    phone: "12366"\n    fax: "0"\n'), encoding="utf-8")
    result = run("check", str(unknown))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{unknown}:") and "unknown key 'fax' in contacts[0]" in result.stdout
    assert "Traceback" not in result.stderr

    syntax = tmp_path / "syntax.yaml"
    syntax.write_text("id: x\nsymptoms: [\n", encoding="utf-8")
    result = run("check", str(syntax))
    assert result.returncode == 1 and result.stdout.startswith(f"{syntax}:2: YAML syntax error")


def test_chat_with_a_broken_playbook_directory_names_the_problem(tmp_path, env):
    (tmp_path / "pb").mkdir()
    (tmp_path / "pb" / "bad.yaml").write_text("id: x\nsymptoms: [\n", encoding="utf-8")
    result = run("chat", "--playbooks", str(tmp_path / "pb"), stdin="hi\n", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"{tmp_path / 'pb' / 'bad.yaml'}:2: YAML syntax error")


def test_match_prints_one_json_object():
    hit = json.loads(run("match", "发票查询结果为空").stdout)
    assert hit["symptom"] == "blank_query" and hit["score"] >= 0.3 and hit["why"]
    miss = json.loads(run("match", "今天天气怎么样").stdout)
    assert miss["symptom"] is None


def test_graph_as_mermaid_and_dot():
    mermaid = run("graph", "invoice")
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("flowchart TD\n")
    assert 'q_when -->|"今天开具的"| q_upload' in mermaid.stdout
    dot = run("graph", str(ROOT / "playbooks" / "invoice.yaml"), "--format", "dot", "--lang", "en")
    assert dot.stdout.startswith('digraph "invoice" {') and '"q_number" -> "q_number_again"' in dot.stdout
    assert run("graph", "nope").returncode == 2


def test_transcript_tests_report_like_a_test_runner(tmp_path):
    assert run("test").stdout.splitlines()[-1].endswith(" passed, 0 failed")
    failing = tmp_path / "fail.yaml"
    failing.write_text(
        "cases:\n  - name: wrong\n    turns:\n      - say: 发票查不到\n        expect: {state: q_when}\n",
        encoding="utf-8",
    )
    result = run("test", str(failing))
    assert result.returncode == 1
    assert f"{failing}:4: turn 1: expected state 'q_when', got 'q_where'" in result.stdout
    assert result.stdout.splitlines()[-1] == "0 passed, 1 failed"


def test_transcript_coverage_lists_what_no_transcript_reaches(tmp_path):
    shipped = run("test", "--coverage")
    assert shipped.returncode == 0, shipped.stdout[-2000:]
    totals = re.findall(r"(\d+)/(\d+)", shipped.stdout.splitlines()[-1])
    assert len(totals) == 3 and all(hit == total for hit, total in totals)  # the shipped playbook: 100 %
    one = tmp_path / "one.yaml"
    one.write_text("cases:\n  - name: one\n    turns:\n      - say: 发票查不到\n", encoding="utf-8")
    partial = run("test", "--coverage", str(one))
    assert partial.returncode == 1
    assert "NOT COVERED option invoice: q_where → platform" in partial.stdout
    assert "NOT COVERED step   invoice: tax_device step 5" in partial.stdout


def test_a_bad_setting_is_named(env):
    result = run("match", "x", env={**env, "MATCH_THRESHOLD": "high"})
    assert result.returncode == 2
    assert "MATCH_THRESHOLD: must be a number (got 'high')" in result.stderr


def test_a_dotenv_file_in_the_working_directory_is_read(tmp_path):
    (tmp_path / ".env").write_text("MATCH_THRESHOLD=0.99\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "MATCH_THRESHOLD"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "match", "发票查不到"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert json.loads(result.stdout)["symptom"] is None


def test_run_without_a_channel_says_what_to_set(env):
    result = run("run", env={**env, "TELEGRAM_BOT_TOKEN": ""})
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "no channel is configured" in result.stderr


def test_run_refuses_a_webhook_without_its_secret(env):
    result = run("run", env={**env, "TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_URL": "https://bot.example/h"})
    assert result.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set" in result.stderr
    assert "1:x" not in result.stderr


def test_an_error_in_a_turn_is_an_apology_with_an_id_in_the_chat_and_a_traceback_only_in_the_log(env, tmp_path):
    broken = tmp_path / "pb"
    broken.mkdir()
    source = (ROOT / "playbooks" / "invoice.yaml").read_text(encoding="utf-8")
    asked = "      zh: 是在哪里查不到这张发票？"
    assert asked in source
    (broken / "invoice.yaml").write_text(source.replace(asked, asked + "{{ slots.nothing.at_all }}"), encoding="utf-8")
    result = run("chat", "--playbooks", str(broken), stdin="发票查不到\n", env=env)
    assert result.returncode == 0, result.stderr
    (error,) = re.findall(r"错误编号 (E\d+)", result.stdout)
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr
    log = Path(env["OUTAGE_BOT_DB"]).with_suffix(".log").read_text(encoding="utf-8")
    assert f"(error {error})" in log and "Traceback" in log
    verbose = run("chat", "--playbooks", str(broken), "--verbose", stdin="发票查不到\n", env=env)
    assert "Traceback" in verbose.stderr  # --verbose shows the log where it happens
