from datetime import date

from bot.engine.replies import make_choice, understand

TODAY = date(2026, 3, 2)
YES_NO = [make_choice("yes", ["是，今天开的"]), make_choice("no", ["不是"]), make_choice("back", ["返回上一步"])]
WITH_ALIASES = [
    make_choice("yes", ["是，今天开的", "今天开的", "是的"]),
    make_choice("no", ["不是", "不是", "没有"]),
    make_choice("back", ["返回上一步"]),
]


def meant(text, options=YES_NO, choice=None):
    return understand(text, choice, options, TODAY).key


def test_number_forms():
    assert meant("1") == "yes"
    assert meant("２") == "no"  # full width
    assert meant("第2个") == "no"
    assert meant("9") is None


def test_button_payload_must_be_offered():
    assert meant(None, choice="no") == "no"
    assert meant(None, choice="restart") is None


def test_label_alias_and_containment():
    assert meant("是，今天开的") == "yes"
    assert meant("是的", WITH_ALIASES) == "yes"
    assert meant("嗯，是今天开的", WITH_ALIASES) == "yes"


def test_negation_flips_containment():
    assert meant("不是今天开的", WITH_ALIASES) == "no"


def test_no_option_is_read_into_free_text_where_only_cancel_is_offered():
    assert meant("嗯，是今天开的", [make_choice("cancel_record", ["取消"])]) is None
