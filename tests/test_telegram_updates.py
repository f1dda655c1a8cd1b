"""A webhook's plain text message in a one-to-one chat is read straight from its JSON, without
python-telegram-bot's objects: what it reads must be exactly what to_inbound reads from them, and
anything else must be left to to_inbound."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.channels.telegram.channel import TelegramChannel
from bot.config import Settings
from bot.ports import ChannelHost
from bot.runtime.clock import ManualClock

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


async def _nothing(*_):
    return None


def channel() -> TelegramChannel:
    settings = Settings(TELEGRAM_BOT_TOKEN="123456:fast-path")
    return TelegramChannel(settings, ChannelHost(settings, ManualClock(NOW), None, _nothing))


ids = st.integers(min_value=1, max_value=2**52)
words = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
users = st.fixed_dictionaries(
    {"id": ids, "is_bot": st.just(False), "first_name": words},
    optional={"last_name": words, "language_code": st.sampled_from(["zh-hans", "zh-hant", "en", "en-US", "de", ""])},
)
texts = st.one_of(
    st.sampled_from(["发票查不到", "1", "跳过", "/start", "转人工", "不对，是昨天开的"]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=5000),
)


@st.composite
def private_texts(draw) -> dict:
    user = draw(users)
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    message = {"message_id": draw(ids), "date": 1_764_000_000, "chat": chat, "from": user, "text": draw(texts)}
    if draw(st.booleans()):
        message["reply_to_message"] = {"message_id": draw(ids), "date": 1_764_000_000, "chat": chat}
    if draw(st.booleans()):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": 1}]
    return {"update_id": draw(ids), "message": message}


@settings(max_examples=300, deadline=None)
@given(private_texts())
def test_a_plain_private_text_is_read_as_from_ptbs_objects(data):
    telegram = channel()
    fast = telegram._private_text(data)
    slow, _ = telegram.to_inbound(Update.de_json(data, telegram.bot))
    assert fast is not None
    assert fast == slow


def _private(**message) -> dict:
    user = {"id": 7, "is_bot": False, "first_name": "李"}
    base = {"message_id": 1, "date": 1, "chat": {"id": 7, "type": "private"}, "from": user, "text": "1"}
    return {"update_id": 1, "message": {**base, **message}}


def test_everything_else_is_left_to_ptb():
    telegram = channel()
    photo = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    others = [
        _private(chat={"id": -100, "type": "supergroup", "title": "财务"}),  # groups: mentions, commands
        _private(photo=photo, text=None, caption="发票"),
        _private(document={"file_id": "f", "file_unique_id": "u"}, text=None),
        _private(**{"from": {"id": 7, "is_bot": True, "first_name": "bot"}}),
        _private(forward_origin={"type": "hidden_user", "date": 1, "sender_user_name": "x"}),
        _private(text=None, sticker={"file_id": "s"}),
        _private(message_id="1"),  # not what Telegram sends: PTB decides
        {"update_id": 1, "callback_query": {"id": "q", "from": {"id": 7, "is_bot": False, "first_name": "李"}}},
        {"update_id": 1, "edited_message": _private()["message"]},
        {"update_id": 1, "message": _private()["message"], "extra": 1},
        [],
        "not an update",
    ]
    for data in others:
        assert telegram._private_text(data) is None, data
