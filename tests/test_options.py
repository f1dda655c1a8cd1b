from bot.engine.options import choose
from bot.engine.types import Option

YES_NO = [Option("yes", "是，今天开的"), Option("no", "不是"), Option("back", "返回上一步")]
ALIASES = {"yes": ["今天开的", "是的"], "no": ["不是", "没有"]}


def test_number_forms():
    assert choose("1", None, YES_NO) == "yes"
    assert choose("２", None, YES_NO) == "no"  # full width
    assert choose("第2个", None, YES_NO) == "no"
    assert choose("9", None, YES_NO) is None


def test_button_payload_must_be_offered():
    assert choose(None, "no", YES_NO) == "no"
    assert choose(None, "restart", YES_NO) is None


def test_label_alias_and_containment():
    assert choose("是，今天开的", None, YES_NO) == "yes"
    assert choose("是的", None, YES_NO, ALIASES) == "yes"
    assert choose("嗯，是今天开的", None, YES_NO, ALIASES) == "yes"


def test_negation_flips_containment():
    assert choose("不是今天开的", None, YES_NO, ALIASES) == "no"


def test_no_fuzzy_matching_when_free_text_is_expected():
    assert choose("嗯，是今天开的", None, YES_NO, ALIASES, fuzzy=False) is None
