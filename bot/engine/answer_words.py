"""Everyday words for answers that mean the same at any question: yes, no, not sure, skip, and the
engine's own options (a step done, solved or not). An option with one of these keys understands
them without its playbook listing them."""

from __future__ import annotations

import re

from bot.engine.clauses import NEGATORS
from bot.engine.normalize import fold

ANSWER_WORDS: dict[str, tuple[str, ...]] = {
    "yes": ("是", "是的", "对", "对的", "对啊", "嗯", "嗯嗯", "有", "有的", "没错", "确实", "是啊", "对呀", "yes", "yeah",
            "yep", "yup", "y", "correct", "right", "sure", "it was", "that's right", "indeed", "true"),
    "no": ("不是", "没有", "否", "不", "没", "并没有", "不对", "都没有", "没有的", "no", "nope", "n", "not really", "it wasn't",
           "never", "nah", "none"),
    "not_sure": ("不清楚", "不知道", "不确定", "不太清楚", "不记得", "不记得了", "忘了", "说不好", "不好说", "不晓得", "没注意",
                 "没看", "没留意", "搞不清", "搞不清楚", "不太确定", "不懂", "不明白", "不了解", "not sure", "don't know",
                 "do not know", "no idea", "dunno", "unsure", "can't remember", "cannot remember", "i forget",
                 "not certain", "no clue", "unknown", "idk", "记不清", "记不得", "没数过", "没数", "没试过", "还没试", "没试",
                 "说不清", "讲不清", "分不清", "分不出", "没仔细", "没核对", "没细看", "没查过", "没问过", "得问问", "要问问",
                 "得问", "要问", "在哪看", "哪里看", "看不懂", "didn't count", "haven't checked", "not checked",
                 "haven't tried", "didn't try", "not tried", "where do i see", "where can i see", "no way to tell",
                 "can't tell", "have to ask", "need to check", "not clear", "要查一下", "得查一下", "去翻", "翻一下", "要去看看",
                 "need to look", "have to look", "let me check"),
    "skip": ("跳过", "不方便", "不想说", "没有号码", "略过", "先跳过", "不提供", "不给", "算了跳过", "以后再说", "手边没有",
             "手头没有", "找不到号码", "号码找不到", "不发了", "先不发", "不用了", "略过这步", "跳过这步", "不用做", "不需要做",
             "skip", "pass", "rather not", "skip it", "skip this", "don't have it", "not handy", "later",
             "no number", "don't have the number", "not with me", "skip this one", "not needed"),
    "done": ("好了", "好的", "好", "做完了", "做好了", "完成", "完成了", "已完成", "下一步", "下一个", "继续", "搞定", "搞定了",
             "弄好了", "弄完了", "处理好了", "ok", "okay", "ok了", "行", "可以", "done", "next", "finished", "did it",
             "completed", "go on", "continue", "got it", "next step", "照做了", "做了", "已经做了", "试过了", "试了",
             "弄了", "搞了", "然后呢", "接下来呢", "下一步呢", "did that", "did it", "tried it", "tried that",
             "what's next", "what next", "then what", "and then", "看了", "看过了", "核对了", "核对过了", "检查了", "检查过了", "问了",
             "问过了", "确认了", "确认过了", "记下了", "记好了", "知道了", "明白了", "了解了", "收到", "没问题", "没毛病",
             "checked", "checked it", "looked", "asked", "noted", "understood", "got that", "no problem"),
    "failed": ("不行", "没用", "还是不行", "没有用", "不管用", "试了不行", "没效果", "失败了", "还是一样", "没解决",
               "还是查不到", "还是打不开", "还是登不上", "还是报错", "不起作用", "不好使", "didn't work", "did not work",
               "doesn't work", "does not work", "no luck", "still failing", "still not working", "no change",
               "same problem", "still can't", "still cannot", "still the same", "didn't help"),
    "solved": ("解决了", "好了", "已解决", "搞定了", "可以了", "能查到了", "正常了", "恢复了", "没问题了", "ok了", "solved",
               "fixed", "it works", "works now", "all good", "resolved", "sorted", "能用了", "能开了", "能登了", "能打开了", "好啦",
               "查到了"),
    "partly": ("部分解决", "一部分", "部分", "解决了一部分", "好了一半", "有些好了", "partly", "partially", "some of it",
               "half", "sort of", "有些好了", "有的好了", "有的能", "有些能", "some work", "some of them"),
    "not_solved": ("没解决", "还没解决", "没有解决", "还是不行", "不行", "没用", "还是查不到", "依旧", "还是一样", "not solved",
                   "not fixed", "still broken", "still not", "didn't help", "did not help", "no", "依然", "仍然", "依旧不行",
                   "依然查不到", "还是没好", "没好"),
    "forget_yes": ("确认", "确定", "删除", "删吧", "删掉", "是", "是的", "对", "yes", "delete", "confirm", "sure"),
    "forget_no": ("不删", "不要删", "不用", "取消", "算了", "保留", "不", "no", "keep", "cancel", "keep it"),
    "keep_asking": ("继续问", "不太对", "不对", "不是这个", "继续回答", "继续", "keep asking", "doesn't fit",
                    "does not fit", "not it", "go on"),
}  # fmt: skip

# Phrases (the playbook's `says` syntax, "*" a gap within a clause) for mixed results: a reply that
# names some things working means partly, though it also holds a word for solved.
ANSWER_SAYS: dict[str, tuple[str, ...]] = {
    "partly": ("有些*能", "有的*能", "有些*好了", "有的*好了", "一部分*好了", "部分*能", "一些*能", "some*work", "some of them*work",
               "some*fine"),
}  # fmt: skip

# An answer that includes another: a step that "didn't work" was done; "partly solved" says solved.
# When both fit equally, the one that says more is meant.
IMPLIES: dict[str, str] = {"failed": "done", "partly": "solved", "not_solved": "solved"}


_PERFECTIVE = re.compile(r"(?:了|过|完|好)(?:吧|啊|呀|哦|的|啦)?$")
DONE_REPORT_MAX = 16  # characters: a longer message is more than a report that something was done


def reports_done(text: str | None) -> bool:
    """A short reply reporting an action finished, and nothing denied: "插拔过了", "核对了，确实错了"."""
    if not text:
        return False
    folded = fold(text).strip(" 。.!！~～")
    return (
        len(folded) <= DONE_REPORT_MAX and bool(_PERFECTIVE.search(folded)) and not any(n in folded for n in NEGATORS)
    )
