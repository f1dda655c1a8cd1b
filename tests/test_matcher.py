from bot.engine.normalize import normalize


def test_normalisation_folds_width_case_script_and_contractions():
    assert normalize("ＡＢＣ　發票查詢") == "abc 发票查询"
    assert normalize("Can't FIND it!!") == "cannot find it"


def test_symptoms_in_both_languages_and_traditional_script(catalog):
    match = catalog.matcher.match
    assert match("发票查不到", 0.3).symptom == "blank_query"
    assert match("發票查不到，怎麼辦", 0.3).symptom == "blank_query"
    assert match("报销时提示发票无效", 0.3).symptom == "invalid_invoice"
    assert match("the tax portal won't load", 0.3).symptom == "system_unreachable"
    assert match("开票失败", 0.3).symptom == "cannot_issue"


def test_off_topic_has_no_symptom_and_the_matcher_says_why(catalog):
    result = catalog.matcher.match("今天天气怎么样", 0.3)
    assert result.symptom is None
    assert "below the threshold" in result.why[0]


def test_homophone_typos_from_pinyin_input(catalog):
    result = catalog.matcher.match("发票无小", 0.3)  # 发票无效 typed with a wrong homophone
    assert result.symptom == "invalid_invoice"
    assert any("pinyin" in reason for reason in result.why)


def test_a_sound_alike_alone_is_no_evidence(catalog):
    # 剩几 sounds like 升级 (upgrade), but nothing else in the message is about invoices
    assert catalog.matcher.match("我的年假还剩几天", 0.3).symptom is None


def test_the_threshold_decides(catalog):
    result = catalog.matcher.match("发票", 0.3)
    assert result.symptom is None and result.best is not None
    assert catalog.matcher.match("发票", 0.0).symptom == result.best
