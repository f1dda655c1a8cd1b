"""The engine with plain values: no store, no loop, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.engine.machine import step
from bot.engine.types import Context, ConversationKey, ConversationState, Inbound, OutageInfo, Reply, SetTimer
from tests.conftest import NOW

KEY = ConversationKey("test", "chat", "user")


DEFAULT_CONTEXT = Context()


def talk(catalog, messages, state=None, context=DEFAULT_CONTEXT, now=NOW):
    """Feed messages (str = text, ("press", key) = button); return (state, last reply, all effects)."""
    effects = []
    for message in messages:
        if isinstance(message, tuple):
            inbound = Inbound(KEY, now, choice=message[1])
        else:
            inbound = Inbound(KEY, now, text=message)
        state, effects = step(catalog, state, inbound, context, now)
        now += timedelta(minutes=1)
    replies = [e for e in effects if isinstance(e, Reply)]
    return state, replies[-1], effects


def test_first_message_describing_a_problem_goes_straight_to_its_first_question(catalog):
    state, reply, _ = talk(catalog, ["发票查不到"])
    assert (state.node, state.symptom, state.symptom_text) == ("q_where", "blank_query", "发票查不到")
    assert reply.options[0].key == "platform"
    assert [o.key for o in reply.options][-2:] == ["back", "restart"]  # forward-first


def test_options_by_number_label_and_button_payload_agree(catalog):
    by_number, _, _ = talk(catalog, ["发票查不到", "2"])
    by_label, _, _ = talk(catalog, ["发票查不到", "我方开票后，自己在系统里查询为空"])
    by_button, _, _ = talk(catalog, ["发票查不到", ("press", "own_records")])
    assert by_number.answers == by_label.answers == by_button.answers
    assert by_number.answers[0].key == "own_records"


def test_a_stale_button_is_not_understood_and_changes_nothing(catalog):
    before, _, _ = talk(catalog, ["发票查不到"])
    after, reply, _ = talk(catalog, [("press", "not-a-key")], state=before)
    assert after.node == before.node and after.answers == before.answers
    assert "请从下面的选项中选择" in reply.text


def test_diagnosis_ranks_causes_by_evidence_and_says_why(catalog):
    _, reply, _ = talk(catalog, ["发票查不到", "1", "今天", "已上传", "跳过", "只有我们"])
    assert reply.node == "diagnosis"
    assert reply.causes[0].id == "same_day_delay"
    assert reply.causes[0].score > reply.causes[1].score
    assert "依据：查验平台提示“查无此票”；今天开具的" in reply.text


def test_declared_outage_counts_for_maintenance_and_is_announced(catalog):
    outage = OutageInfo(system="tax_invoice", summary="全市发票系统升级")
    context = Context(outages=(outage,))
    _, reply, _ = talk(catalog, ["发票查不到", "4", "3", "4", "跳过"], context=context)
    assert reply.node == "diagnosis"  # the declared outage answered "is there a notice?"
    assert reply.causes[0].id == "maintenance"
    assert "本助手的管理员已发布故障通报：全市发票系统升级" in reply.text
    assert "官方" not in reply.text  # an admin's declaration is never the tax authority's
    other_system = Context(outages=(replace(outage, system="payroll"),))
    _, reply, _ = talk(catalog, ["发票查不到", "4", "3", "4", "跳过", "5"], context=other_system)
    assert "管理员已发布故障通报" not in reply.text


def test_steps_show_progress_and_back_undoes_a_mark(catalog):
    state, reply, _ = talk(catalog, ["开票提示额度不足", "1"])
    assert (state.node, state.cause) == ("steps", "quota_limit")
    assert reply.text.startswith("步骤 1/3")
    state, reply, _ = talk(catalog, ["1", "2"], state=state)
    assert state.marks == ("done", "skip") and reply.text.startswith("步骤 3/3")
    state, reply, _ = talk(catalog, ["/back"], state=state)
    assert state.step == 1 and state.marks == ("done",)


def test_a_reminder_is_a_timer_for_the_next_morning_in_beijing(catalog):
    late_evening = datetime.fromisoformat("2026-03-02T23:30:00+08:00")
    messages = ["发票查不到", "1", "今天", "已上传", "跳过", "只有我们", "1", ("press", "remind")]
    state, reply, effects = talk(catalog, messages, now=late_evening)
    timers = [e for e in effects if isinstance(e, SetTimer)]
    assert len(timers) == 1
    assert timers[0].due == datetime.fromisoformat("2026-03-03T09:00:00+08:00")
    assert "2026-03-03 09:00" in reply.text
    fired = Inbound(KEY, timers[0].due, kind="timer", payload={**timers[0].payload, "late": True})
    same_state, effects = step(catalog, state, fired, Context(), timers[0].due)
    assert same_state == state
    assert effects[0].text.startswith("提醒：") and effects[0].text.endswith("（延迟发送）")


def test_idle_conversation_starts_fresh_with_a_note(catalog):
    state, _, _ = talk(catalog, ["发票查不到", "1"])
    later = NOW + timedelta(hours=3)
    state, reply, _ = talk(catalog, ["开不了票"], state=state, context=Context(idle_minutes=60), now=later)
    assert "超过 60 分钟" in reply.text
    assert (state.symptom, state.answers) == ("cannot_issue", ())


def test_state_left_behind_by_a_playbook_change_restarts_with_a_note(catalog):
    stale = ConversationState(node="q_removed_question", playbook="invoice", symptom="blank_query")
    state, reply, _ = talk(catalog, ["你好"], state=stale)
    assert "排查流程已更新" in reply.text
    assert state.node == "menu"


def test_language_follows_the_hint_until_the_user_chooses(catalog):
    hinted = Inbound(KEY, NOW, text="hello", lang_hint="en")
    state, effects = step(catalog, None, hinted, Context(), NOW)
    assert "Choose what you are seeing" in effects[0].text
    state, effects = step(catalog, state, Inbound(KEY, NOW, text="/lang zh", lang_hint="en"), Context(), NOW)
    assert state.lang == "zh" and "已切换为中文" in effects[0].text


def test_state_survives_a_json_round_trip(catalog):
    state, _, _ = talk(catalog, ["发票查不到", "1", "24112000000016430745"])
    state, _, _ = talk(catalog, ["1", "1"], state=state)
    assert ConversationState.from_dict(state.to_dict()) == state


def test_a_contact_override_replaces_the_playbooks_contact(catalog):
    vendor = catalog.playbook("invoice").contact("software_vendor")
    override = vendor.model_copy(update={"phone": "400-000-0000"})
    _, reply, _ = talk(catalog, ["/contacts"], context=Context(contacts={"software_vendor": override}))
    assert "400-000-0000" in reply.text
