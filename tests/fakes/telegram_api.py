"""A local fake of the Telegram Bot API: enough of it for the real python-telegram-bot.

It keeps updates for getUpdates (with offset confirmation and long polling), records every call,
answers sendMessage with real-looking Message objects, and can answer with 429 on demand.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.http_server import wait_until

BOT = {
    "id": 777000,
    "is_bot": True,
    "first_name": "Outage",
    "username": "outage_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class FakeTelegram:
    def __init__(self, token: str = "123456:TEST-token"):
        self.token = token
        self.lock = threading.Lock()
        self.updates: list[dict] = []  # not yet confirmed by an offset
        self.calls: list[tuple[str, dict]] = []
        self.sent: list[dict] = []
        self.fail_sends: list[int] = []  # retry_after seconds for each of the next sendMessage calls
        self.holding = False  # while True, sendMessage calls wait (a send in flight)
        self.drop_held = False  # when released, held calls fail without being delivered
        # what Telegram would hold against the bot: a send before a 429's retry_after is over, more
        # than 30 messages in a second overall, more than 20 a minute to one group
        self.violations: list[str] = []
        self._quiet_until = 0.0
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self.files: dict[str, bytes] = {}  # file_id → content, served by getFile and /file/bot<token>/<path>
        self.download_delay = 0.0  # seconds a file download takes
        self.app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._dispatch, methods=["POST", "GET"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            ]
        )

    # ---- what tests do ------------------------------------------------------------------------

    def unconfirmed(self) -> int:
        """Updates the bot has not yet confirmed it has (getUpdates with a later offset)."""
        with self.lock:
            return len(self.updates)

    def push(self, update: dict) -> dict:
        with self.lock:
            update.setdefault("update_id", next(self._update_ids))
            self.updates.append(update)
        return update

    def message(
        self,
        text: str,
        user: int = 42,
        chat: int | None = None,
        lang: str = "zh-hans",
        chat_type: str | None = None,
        **extra: Any,
    ) -> dict:
        chat = user if chat is None else chat
        return {
            "update_id": next(self._update_ids),
            "message": {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "text": text,
                "from": {"id": user, "is_bot": False, "first_name": f"User{user}", "language_code": lang},
                "chat": {
                    "id": chat,
                    "type": chat_type or ("private" if chat > 0 else "supergroup"),
                    "title": "Finance",
                },
                **extra,
            },
        }

    def photo(self, data: bytes, user: int = 42, chat: int | None = None, **extra: Any) -> dict:
        """A photo message: Telegram lists the sizes it made, the largest last."""
        file_id = f"photo{next(self._message_ids)}"
        with self.lock:
            self.files[file_id] = data
        small = {"file_id": file_id + "-s", "file_unique_id": "s", "width": 90, "height": 60, "file_size": 900}
        large = {"file_id": file_id, "file_unique_id": "l", "width": 1280, "height": 853, "file_size": len(data)}
        update = self.message("", user=user, chat=chat, photo=[small, large], **extra)
        del update["message"]["text"]
        return update

    def document(self, data: bytes, name: str, user: int = 42, chat: int | None = None, **extra: Any) -> dict:
        file_id = f"doc{next(self._message_ids)}"
        with self.lock:
            self.files[file_id] = data
        document = {"file_id": file_id, "file_unique_id": file_id, "file_name": name, "file_size": len(data)}
        update = self.message("", user=user, chat=chat, document=document, **extra)
        del update["message"]["text"]
        return update

    def press(self, button: dict, sent: dict, user: int = 42, lang: str = "zh-hans") -> dict:
        return {
            "update_id": next(self._update_ids),
            "callback_query": {
                "id": f"cq{next(self._message_ids)}",
                "chat_instance": "ci",
                "data": button["callback_data"],
                "from": {"id": user, "is_bot": False, "first_name": f"User{user}", "language_code": lang},
                "message": sent["message"],
            },
        }

    def calls_to(self, method: str) -> list[dict]:
        with self.lock:
            return [params for name, params in self.calls if name == method]

    def wait_sent(self, count: int, timeout: float = 15) -> list[dict]:
        def enough():
            with self.lock:
                return list(self.sent) if len(self.sent) >= count else None

        return wait_until(enough, timeout, f"{count} sent messages (have {len(self.sent)}: {self.sent})")

    # ---- the API ------------------------------------------------------------------------------

    async def _dispatch(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        method = request.path_params["method"]
        params = await _params(request)
        with self.lock:
            self.calls.append((method, params))
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return JSONResponse({"ok": False, "error_code": 404, "description": f"Not Found: {method}"}, 404)
        return await handler(params)

    @staticmethod
    def _ok(result: Any) -> JSONResponse:
        return JSONResponse({"ok": True, "result": result})

    async def _getMe(self, params: dict) -> JSONResponse:
        return self._ok(BOT)

    async def _setMyCommands(self, params: dict) -> JSONResponse:
        return self._ok(True)

    async def _setWebhook(self, params: dict) -> JSONResponse:
        return self._ok(True)

    async def _deleteWebhook(self, params: dict) -> JSONResponse:
        return self._ok(True)

    async def _answerCallbackQuery(self, params: dict) -> JSONResponse:
        return self._ok(True)

    async def _getUpdates(self, params: dict) -> JSONResponse:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)  # keep tests quick
        while True:
            with self.lock:
                if offset:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]  # confirmed
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline:
                return self._ok(ready)
            await asyncio.sleep(0.02)

    async def _sendMessage(self, params: dict) -> JSONResponse:
        if self.holding:
            while self.holding:
                await asyncio.sleep(0.02)
            if self.drop_held:
                return JSONResponse({"ok": False, "error_code": 500, "description": "lost"}, status_code=500)
        with self.lock:
            now = time.monotonic()
            if now < self._quiet_until:
                self.violations.append(f"sendMessage {self._quiet_until - now:.2f}s before retry_after was over")
            if self.fail_sends:
                retry_after = self.fail_sends.pop(0)
                self._quiet_until = now + retry_after
                return JSONResponse(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {retry_after}",
                        "parameters": {"retry_after": retry_after},
                    },
                    status_code=429,
                )
            chat = int(params["chat_id"])
            message = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "text": params["text"],
                "from": BOT,
                "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"},
            }
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            self.sent.append({"params": params, "message": message, "at": now})
            self._count_against_limits(chat, now)
        return self._ok(message)

    def _count_against_limits(self, chat: int, now: float) -> None:
        last_second = sum(1 for m in self.sent if now - m["at"] < 1.0)
        if last_second > 30:
            self.violations.append(f"{last_second} messages within one second")
        if chat < 0:
            last_minute = sum(1 for m in self.sent if m["message"]["chat"]["id"] == chat and now - m["at"] < 60.0)
            if last_minute > 20:
                self.violations.append(f"{last_minute} messages to group {chat} within one minute")

    async def _editMessageText(self, params: dict) -> JSONResponse:
        return self._ok(True)

    async def _getFile(self, params: dict) -> JSONResponse:
        file_id = str(params.get("file_id"))
        with self.lock:
            data = self.files.get(file_id)
        if data is None:
            return JSONResponse({"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}, 400)
        return self._ok({"file_id": file_id, "file_unique_id": file_id, "file_size": len(data),
                         "file_path": f"documents/{file_id}"})  # fmt: skip

    async def _download(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return Response(status_code=401)
        await asyncio.sleep(self.download_delay)
        with self.lock:
            data = self.files.get(request.path_params["path"].rsplit("/", 1)[-1])
        return Response(data, media_type="application/octet-stream") if data is not None else Response(status_code=404)


async def _params(request: Request) -> dict:
    """PTB posts form fields whose values are JSON (numbers, objects) or plain strings."""
    if request.headers.get("content-type", "").startswith("application/json"):
        return await request.json()
    params = {}
    for key, value in parse_qsl((await request.body()).decode(), keep_blank_values=True):
        try:
            params[key] = json.loads(value)
        except (TypeError, ValueError):
            params[key] = value
    return params
