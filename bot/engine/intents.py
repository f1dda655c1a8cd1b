"""Things people say at any point of a conversation: asking for a person, thanks, a greeting,
"who are you", going back, starting over, stopping, asking for help or the contacts; and the words
that mark a correction ("不对，是昨天开的").

An intent counts when it is (nearly) the whole message once politeness is stripped ("请帮我转人工",
"can I talk to a person please"), or, for the unmistakable ones, anywhere in it ("我要转人工，
这个太复杂了"). "客服说发票无效" mentions support but does not ask for it.
"""

from __future__ import annotations

import re

from bot.engine.clauses import clauses
from bot.engine.normalize import fold, normalize

# intent → (whole-message phrases, phrases that count anywhere in the message)
INTENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "human": (
        ("人工", "人工客服", "客服", "真人", "找人", "找个人", "人工服务", "接人工", "有人吗", "活人", "找客服", "联系客服",
         "human", "a person", "person", "agent", "operator", "representative", "someone", "a human", "real person",
         "support", "customer service", "staff", "live agent"),
        ("转人工", "人工客服", "找真人", "真人客服", "和人说", "跟人说", "找个真人", "人工服务", "找人工", "要人工", "找个人工",
         "真人说话", "真人聊", "人工处理", "人工吧", "talk to a person",
         "speak to a person", "talk to a human", "speak to a human", "real person", "talk to someone",
         "speak to someone", "live agent", "human agent", "connect me to"),
    ),
    "thanks": (
        ("谢谢", "多谢", "感谢", "谢了", "辛苦了", "谢谢你", "谢谢啦", "非常感谢", "太感谢了", "thx", "3q", "thanks",
         "thank you", "thank you very much", "thanks a lot", "cheers", "ty", "many thanks", "好的谢谢", "ok thanks"),
        (),
    ),
    "greeting": (
        ("你好", "您好", "在吗", "嗨", "哈喽", "早上好", "下午好", "晚上好", "你好啊", "hello", "hi", "hey", "good morning",
         "good afternoon", "hi there", "hello there", "在不在"),
        (),
    ),
    "who": (
        ("你是谁", "你是机器人吗", "你是什么", "你能做什么", "你会什么", "你是人吗", "你叫什么", "你是ai吗", "你是真人吗",
         "who are you", "what are you", "are you a bot", "are you human", "what can you do", "are you a robot",
         "are you real"),
        ("你是谁", "你是机器人", "who are you", "are you a bot"),
    ),
    "restart": (
        ("重新开始", "从头开始", "重来", "从头来", "重新来", "再来一次", "重新问", "从头再来", "start over", "restart",
         "start again", "from the beginning", "begin again", "reset"),
        ("重新开始", "从头开始", "从头来", "重来一遍", "重新来一遍", "start over", "start again"),
    ),
    "back": (
        ("返回", "上一步", "返回上一步", "回到上一步", "退回", "后退", "回去", "上一个问题", "go back", "back", "previous",
         "previous question", "undo"),
        ("返回上一步", "回到上一步", "go back"),
    ),
    "cancel": (
        ("取消", "算了", "不用了", "结束", "退出", "停止", "不弄了", "不查了", "先这样", "没事了", "cancel", "never mind",
         "nevermind", "stop", "quit", "exit", "forget it", "that's all", "end"),
        (),
    ),
    "help": (
        ("帮助", "怎么用", "使用说明", "说明", "菜单", "help", "how does this work", "what do i do", "menu", "commands"),
        (),
    ),
    "contacts": (
        ("联系方式", "电话", "热线", "打谁电话", "找谁", "电话多少", "客服电话", "热线电话", "联系谁", "contacts", "contact",
         "phone number", "hotline", "who do i call", "who should i call", "phone"),
        ("联系方式", "热线电话", "客服电话", "打什么电话", "phone number", "who do i call", "who should i call"),
    ),
}  # fmt: skip

_POLITE = re.compile(
    r"^(?:请|麻烦|麻烦你|帮我|给我|我要|我想|想|要|能不能|可以|可不可以|我需要|需要|那就|那|就|还是|直接|please|pls|can i|"
    r"could i|could you|can you|i want to|i'd like to|i would like to|i need to|i need|let me|just|ok|okay)\s*"
)
_POLITE_END = re.compile(r"\s*(?:一下|吧|啊|呀|呢|吗|哦|了|的|please|pls|now|thanks|thank you)$")
_CORRECTION = re.compile(
    r"^(?:不对|不是的|错了|说错了|我说错了|我是说|我的意思是|应该是|其实是|更正一下|更正|改一下|搞错了|刚才说错了|刚才错了|纠正一下|"
    r"sorry i meant|i meant|i mean|actually|correction|wait|no wait|sorry)\s*(?:[，,:：]\s*)?"
)


def _bare(text: str) -> str:
    norm = normalize(text)
    for _ in range(3):  # "请帮我转人工吧", "can i just talk to a person please"
        norm = _POLITE_END.sub("", _POLITE.sub("", norm)).strip()
    return norm


def intent_of(text: str | None) -> str | None:
    """The intent a message expresses, if any."""
    if not text or len(text) > 200:
        return None
    candidates = (normalize(text), _bare(text))
    for name, (whole, _) in INTENTS.items():
        if any(c in whole for c in candidates):
            return name
    parts = clauses(text)
    for name, (_, anywhere) in INTENTS.items():
        if any(clause.said(normalize(p)) for clause in parts for p in anywhere):
            return name
    return None


def correction(text: str | None) -> str | None:
    """The rest of a message that opens as a correction ("不对，是昨天开的" → "是昨天开的"), or None."""
    if not text:
        return None
    folded = fold(text.strip())
    m = _CORRECTION.match(folded)
    if m is None or m.end() == 0:
        return None
    return folded[m.end() :].strip(" ，,:：") or None
