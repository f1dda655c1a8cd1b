"""Reading what people type: days, counts, clauses, replies at a question, facts said ahead, and
the labelled evaluation sets in benchmarks/ kept at their measured level."""

import importlib.util
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.checks import CHECKS
from bot.engine.answer_words import reports_done
from bot.engine.clauses import clauses
from bot.engine.facts import MANY, read_count, read_day
from bot.engine.intents import intent_of
from bot.engine.machine import step
from bot.engine.replies import make_choice, understand
from bot.engine.types import Context, ConversationKey, Inbound, OutageInfo, Reply
from bot.engine.understanding import read_ahead, read_answer

TODAY = date(2026, 3, 2)  # a Monday
NOW = datetime.fromisoformat("2026-03-02T10:00:00+08:00")
KEY = ConversationKey("test", "chat", "u")
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("一个小时前开的", TODAY),
        ("issued it an hour ago", TODAY),
        ("两天前", date(2026, 2, 28)),
        ("好几天前了", date(2026, 2, 27)),
        ("a few days ago", date(2026, 2, 27)),
        ("on the 3rd", date(2026, 2, 3)),  # the 3rd is ahead this month: last month's
        ("10月的发票", date(2025, 10, 1)),
        ("in October", date(2025, 10, 1)),
        ("3月开的", None),  # this month alone could be today
        ("是不是今天开的", None),  # a question, not a day
    ],
)
def test_days_people_name(text, day):
    assert read_day(text, TODAY, said_of_issuing=False) == day


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("五六次了", 5),
        ("两三次吧", 2),
        ("十几次了", MANY),
        ("超过5次", 6),
        ("5次以上", 5),
        ("不到5次", 4),
        ("more than five", 6),
        ("不记得查了几次", None),
    ],
)
def test_counts_people_give(text, count):
    assert read_count(text) == count


def test_a_not_a_asks_rather_than_denies():
    (clause,) = clauses("不知道他们有没有作废")
    assert clause.negated("作废")  # not asserted: nobody said it was voided
    assert not clause.denied_at(clause.find("作废")[0], "作废")
    assert intent_of("有没有人工客服") == "human"  # asking for a person is asking for a person


def test_a_day_named_answers_a_question_about_the_day_before_any_word():
    choices = [
        make_choice("today", ["today"], fact="day=today"),
        make_choice("earlier", ["earlier", "yesterday"], fact="day<today"),
    ]
    assert understand("earlier today", None, choices, TODAY).key == "today"


def test_an_answer_that_includes_another_wins_the_tie():
    choices = [make_choice("done", ["做了"]), make_choice("failed", ["没用"])]
    assert understand("做了也没用", None, choices, TODAY).key == "failed"


def test_a_loose_reading_needs_a_pair_no_other_option_has():
    choices = [make_choice("uploaded", ["显示已上传成功"]), make_choice("failed", ["上传不成功", "上传失败"])]
    assert understand("上传是成功的", None, choices, TODAY).loose == "uploaded"  # 不成功 holds no 成功
    assert understand("上传那边怎么看", None, choices, TODAY).loose is None  # 上传 is everyone's


def test_a_short_report_of_an_action_is_a_step_done():
    assert reports_done("插拔过了") and reports_done("核对了，确实错了")
    assert not reports_done("清了缓存，还是不行") and not reports_done("这个我不会做")


def test_an_invoice_code_and_number_named_in_a_sentence_are_read_together():
    found = CHECKS["invoice_number"].find("代码1100154130，号码03630024", TODAY)
    assert found.outcome == "vat_special" and found.facts["number"] == "03630024"


def test_a_tax_id_with_a_wrong_check_character_said_in_passing_is_evidence(catalog):
    book = catalog.playbooks[0]
    ahead = read_ahead(catalog, book, "购方税号是91110108MA01ABCD1X，列表里没有", TODAY, set(), "zh")
    assert ahead["q_buyer_tax_id"].answer.outcome == "invalid"
    assert "q_number" not in ahead  # a tax ID is not an invoice number


def test_a_number_at_a_number_question_goes_to_the_check_not_a_loose_reading(catalog):
    book = catalog.playbooks[0]
    reading = read_answer(catalog, book, "q_number", "发票号码12345", None, TODAY, False, "zh")
    assert reading.answer.outcome == "invalid"


def _talk(catalog, *texts, context=None):
    state, reply = None, None
    for text in texts:
        state, effects = step(catalog, state, Inbound(KEY, NOW, text=text), context or Context(), NOW)
        reply = next(e for e in reversed(effects) if isinstance(e, Reply))
    return state, reply


def test_facts_told_ahead_decide_the_cause_without_asking(catalog):
    state, reply = _talk(catalog, "昨天开的发票，开票软件里显示上传失败，客户查不到")
    assert reply.node == "diagnosis" and reply.causes[0].id == "pending_upload"
    assert "从您的描述里我已了解" in reply.text and "未上传 / 上传失败" in reply.text
    assert {a.node for a in state.answers} >= {"q_when", "q_upload"}


def test_going_on_after_an_early_diagnosis_asks_the_rest_and_never_diagnoses_early_again(catalog):
    state, reply = _talk(catalog, "开不了发票", "税控盘报错")
    assert reply.node == "diagnosis" and state.paused == "q_device"
    state, reply = _talk(catalog, "开不了发票", "税控盘报错", "继续问")
    assert reply.node == "q_device" and state.ask_all


def test_a_declared_outage_is_not_listed_as_the_persons_words(catalog):
    outage = OutageInfo("tax_invoice", "发票系统维护")
    _, reply = _talk(
        catalog, "发票查不到", "查验平台提示查无此票", "昨天", "已上传", "跳过", context=Context(outages=(outage,))
    )
    assert reply.node == "diagnosis"
    assert "从您的描述里我已了解" not in reply.text


def test_the_fields_question_names_the_amount_for_the_type_chosen(catalog):
    _, reply = _talk(catalog, "查验结果不一致", "专票")
    assert reply.node == "q_fields" and "这张专票应填“不含税金额”" in reply.text


def _bench(name, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import their neighbours, as when run
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_replies_are_understood_at_their_measured_level(monkeypatch):
    module = _bench("reply_eval", monkeypatch)
    accuracy = {name: module.evaluate(path)["accuracy"] for name, path in module.EVAL_FILES.items()}
    assert accuracy["tuning"] == 1.0 and accuracy["held-out"] == 1.0
    assert accuracy["fresh"] >= 0.95


def test_fact_rich_first_messages_are_never_asked_twice(monkeypatch):
    module = _bench("first_eval", monkeypatch)
    report = module.evaluate(module.CASE_FILES["tuning"])
    assert report["asked_twice"] == 0 and report["stuck"] == 0
    assert report["right_cause_first"] == 1.0
