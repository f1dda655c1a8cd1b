"""Every kind of broken playbook is reported as `path:line: message`."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from bot.playbook.lint import lint
from bot.playbook.loader import load_catalog, load_contact_overrides, load_playbooks
from bot.playbook.problems import PlaybookError
from bot.playbook.shipped import shipped_playbooks_dir

MINIMAL = dedent("""\
    id: mini
    system: mini_system
    title: {zh: 小系统, en: Mini system}
    symptoms:
      - id: broken
        title: {zh: 坏了, en: Broken}
        examples: {zh: [系统坏了], en: [the system is broken]}
        start: q_one
        causes: [power]
    causes:
      - id: power
        title: {zh: 断电, en: Power cut}
        explain: {zh: 没电了, en: No power}
        contacts: [helpdesk]
        steps:
          - title: {zh: 检查电源, en: Check the power}
            detail: {zh: 看看插头, en: Look at the plug}
    contacts:
      - id: helpdesk
        name: {zh: 服务台, en: Help desk}
        phone: "110"
    questions:
      q_one:
        ask: {zh: 灯亮吗？, en: "Is the light on?"}
        options:
          - key: off
            label: {zh: 不亮, en: "Off"}
            evidence: {power: 3}
            next: diagnose
    """)


def write(tmp_path: Path, text: str, name: str = "mini.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    return [str(p) for p in load_playbooks([tmp_path]).problems if p.severity == "error" and p.path == str(path)]


def test_the_minimal_playbook_loads(tmp_path):
    write(tmp_path, MINIMAL)
    assert load_playbooks([tmp_path]).ok


def test_yaml_syntax_error_names_the_line(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("title: {zh: 断电, en: Power cut}", "title: {zh: 断电, en: Power"))
    assert len(found) == 1 and found[0].startswith(f"{tmp_path / 'mini.yaml'}:12: YAML syntax error")


def test_unknown_key_names_the_key_and_its_line(tmp_path):
    found = problems(tmp_path, MINIMAL.replace('    phone: "110"', '    phone: "110"\n    fax: "120"'))
    assert found == [f"{tmp_path / 'mini.yaml'}:22: unknown key 'fax' in contacts[0]"]


def test_missing_field_points_at_the_mapping_that_lacks_it(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("    start: q_one\n", ""))
    assert found == [f"{tmp_path / 'mini.yaml'}:5: missing field 'start' in symptoms[0]"]


@pytest.mark.parametrize(
    ("old", "new", "line", "message"),
    [
        ("next: diagnose", "next: q_nowhere", 29, "next 'q_nowhere' is no question of this playbook"),
        ("evidence: {power: 3}", "evidence: {flood: 3}", 28, "evidence names unknown cause 'flood'"),
        ("causes: [power]", "causes: [power, flood]", 9, "unknown cause 'flood'"),
        ("contacts: [helpdesk]", "contacts: [help]", 14, "unknown contact 'help'"),
        ("start: q_one", "start: q_two", 8, "start 'q_two' is no question of this playbook"),
    ],
)
def test_dangling_references(tmp_path, old, new, line, message):
    found = problems(tmp_path, MINIMAL.replace(old, new))
    assert any(f.startswith(f"{tmp_path / 'mini.yaml'}:{line}: ") and message in f for f in found), found


def test_templates_that_do_not_compile_or_use_unknown_variables(tmp_path):
    broken = MINIMAL.replace("ask: {zh: 灯亮吗？,", "ask: {zh: '灯亮吗？{% if %}',").replace(
        "detail: {zh: 看看插头,", "detail: {zh: '看看{{ plug }}',"
    )
    found = problems(tmp_path, broken)
    assert any(":24: template does not compile" in f for f in found), found
    assert any(":17: template uses unknown variable 'plug'" in f for f in found), found


def test_duplicate_yaml_key_is_an_error(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("id: mini\n", "id: mini\nid: again\n"))
    assert found == [f"{tmp_path / 'mini.yaml'}:2: duplicate key 'id' (first at line 1)"]


def test_duplicate_ids_across_files(tmp_path):
    write(tmp_path, MINIMAL, "a.yaml")
    write(tmp_path, MINIMAL.replace("id: mini", "id: mini2", 1), "b.yaml")
    found = [str(p) for p in load_playbooks([tmp_path]).problems]
    assert found == [f"{tmp_path / 'b.yaml'}:5: duplicate symptom id 'broken' (also in {tmp_path / 'a.yaml'})"]


def test_bad_ids_languages_and_reserved_names(tmp_path):
    text = MINIMAL.replace("- id: power\n", "- id: Power-Cut\n").replace("en: Mini system}", "fr: Mini}")
    found = problems(tmp_path, text)
    assert any(":11: causes[0].id: 'Power-Cut' is not a valid id" in f for f in found), found
    assert any(":3: title.fr: unknown language 'fr'" in f for f in found), found
    reserved = problems(
        tmp_path, MINIMAL.replace("  q_one:", "  diagnosis:").replace("start: q_one", "start: diagnosis")
    )
    assert any("'diagnosis' is reserved for the engine" in f for f in reserved), reserved


def test_unknown_check_and_outcome(tmp_path):
    text = MINIMAL.replace(
        "    options:\n",
        "    input: {check: invoice_number, save: invoice, next: {fantasy: diagnose, default: diagnose}}\n"
        "    options:\n",
    )
    found = problems(tmp_path, text)
    assert any(":25: check 'invoice_number' has no outcome 'fantasy'" in f for f in found), found
    found = problems(tmp_path, text.replace("check: invoice_number", "check: horoscope"))
    assert any("unknown check 'horoscope'" in f for f in found), found


def test_a_transcript_directory_is_never_loaded_as_playbooks(tmp_path):
    write(tmp_path, MINIMAL)
    (tmp_path / "tests").mkdir()
    write(tmp_path / "tests", "cases: []\n", "t.yaml")
    assert load_playbooks([tmp_path]).ok


def test_load_catalog_raises_with_every_error(tmp_path):
    write(tmp_path, MINIMAL.replace("next: diagnose", "next: nowhere").replace("causes: [power]", "causes: [x]"))
    with pytest.raises(PlaybookError) as caught:
        load_catalog([tmp_path])
    assert len([p for p in caught.value.problems if p.severity == "error"]) == 2


def test_lint_warnings(tmp_path):
    orphan = (
        "  q_orphan:\n"
        "    ask: {zh: 没人问我}\n"
        "    options:\n"
        "      - key: loop\n"
        "        label: {zh: 循环, en: Loop}\n"
        "        next: q_orphan\n"
    )
    steps = (
        "    steps:\n"
        "      - title: {zh: 检查电源, en: Check the power}\n"
        "        detail: {zh: 看看插头, en: Look at the plug}\n"
    )
    path = write(tmp_path, MINIMAL.replace(steps, "") + orphan)
    loaded = load_playbooks([tmp_path])
    assert loaded.ok, loaded.problems
    book = loaded.playbooks[0]
    warnings = [str(w) for w in lint(book, str(path), loaded.roots[book.id][1])]
    assert f"{path}:27: warning: question 'q_orphan' is unreachable from every symptom" in warnings
    assert f"{path}:11: warning: cause 'power' has no steps" in warnings
    assert f"{path}:28: warning: missing en translation" in warnings


def test_contacts_override_file(tmp_path):
    good = write(
        tmp_path,
        "contacts:\n  - id: software_vendor\n    name: {zh: 某软件, en: Some vendor}\n    phone: 400-000-0000\n",
        "contacts.yaml",
    )
    assert load_contact_overrides(good)["software_vendor"].phone == "400-000-0000"
    bad = write(tmp_path, "contacts:\n  - id: x\n    name: {zh: 甲}\n    mobile: 1\n", "bad.yaml")
    with pytest.raises(PlaybookError) as caught:
        load_contact_overrides(bad)
    assert str(caught.value.problems[0]) == f"{bad}:4: unknown key 'mobile' in contacts[0]"


def test_the_shipped_playbooks_are_clean():
    loaded = load_playbooks([shipped_playbooks_dir()])
    assert loaded.problems == []
    for book in loaded.playbooks:
        path, raw = loaded.roots[book.id]
        assert list(lint(book, path, raw)) == []
