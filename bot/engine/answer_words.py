"""Everyday words for answers that mean the same at any question: yes, no, not sure, skip, and the
engine's own options (a step done, solved or not). An option with one of these keys understands
them without its playbook listing them."""

from __future__ import annotations

ANSWER_WORDS: dict[str, tuple[str, ...]] = {
    "yes": ("是", "是的", "对", "对的", "对啊", "嗯", "嗯嗯", "有", "有的", "没错", "确实", "是啊", "对呀", "yes", "yeah",
            "yep", "yup", "y", "correct", "right", "sure", "it was", "that's right", "indeed", "true"),
    "no": ("不是", "没有", "否", "不", "没", "并没有", "不对", "都没有", "没有的", "no", "nope", "n", "not really", "it wasn't",
           "never", "nah", "none"),
    "not_sure": ("不清楚", "不知道", "不确定", "不太清楚", "不记得", "不记得了", "忘了", "说不好", "不好说", "不晓得", "没注意",
                 "没看", "没留意", "搞不清", "搞不清楚", "不太确定", "不懂", "不明白", "不了解", "not sure", "don't know",
                 "do not know", "no idea", "dunno", "unsure", "can't remember", "cannot remember", "i forget",
                 "not certain", "no clue", "unknown", "idk"),
    "skip": ("跳过", "不方便", "不想说", "没有号码", "略过", "先跳过", "不提供", "不给", "算了跳过", "以后再说", "手边没有",
             "手头没有", "找不到号码", "skip", "pass", "rather not", "skip it", "skip this", "don't have it",
             "not handy", "later"),
    "done": ("好了", "好的", "好", "做完了", "做好了", "完成", "完成了", "已完成", "下一步", "下一个", "继续", "搞定", "搞定了",
             "弄好了", "弄完了", "处理好了", "ok", "okay", "ok了", "行", "可以", "done", "next", "finished", "did it",
             "completed", "go on", "continue", "got it", "next step"),
    "failed": ("不行", "没用", "还是不行", "没有用", "不管用", "试了不行", "没效果", "失败了", "还是一样", "没解决",
               "didn't work", "did not work", "doesn't work", "does not work", "no luck", "still failing",
               "still not working", "no change", "same problem"),
    "solved": ("解决了", "好了", "已解决", "搞定了", "可以了", "能查到了", "正常了", "恢复了", "没问题了", "ok了", "solved",
               "fixed", "it works", "works now", "all good", "resolved", "sorted"),
    "partly": ("部分解决", "一部分", "部分", "解决了一部分", "好了一半", "有些好了", "partly", "partially", "some of it",
               "half", "sort of"),
    "not_solved": ("没解决", "还没解决", "没有解决", "还是不行", "不行", "没用", "还是查不到", "依旧", "还是一样", "not solved",
                   "not fixed", "still broken", "still not", "didn't help", "did not help", "no"),
    "forget_yes": ("确认", "确定", "删除", "删吧", "删掉", "是", "是的", "对", "yes", "delete", "confirm", "sure"),
    "forget_no": ("不删", "不要删", "不用", "取消", "算了", "保留", "不", "no", "keep", "cancel", "keep it"),
    "keep_asking": ("继续问", "不太对", "不对", "不是这个", "继续回答", "继续", "keep asking", "doesn't fit",
                    "does not fit", "not it", "go on"),
}  # fmt: skip
