"""A local fake of WeCom's intelligent-bot long-connection server (wss://openws.work.weixin.qq.com),
written from the documented protocol (see the WeCom intelligent bot section of the README):

- aibot_subscribe with bot_id + secret (a wrong pair: errcode 853000, the socket stays open); one live
  connection per bot: a new subscription sends the old one a disconnected_event, then closes it;
- ping answered; a connection that stops pinging is closed (after `idle_close_s`);
- callbacks pushed to the bot: aibot_msg_callback (text, in groups with the @mention kept),
  aibot_event_callback (enter_chat, template_card_event, feedback_event);
- aibot_respond_msg only on a message callback's req_id (else 846605), streams/markdown <= 20480 bytes;
  aibot_respond_welcome_msg only for enter_chat within 5 s; aibot_respond_update_msg only for a card
  event within 5 s; aibot_send_msg only to a chat that messaged the bot;
- cards checked against the button_interaction rules (title, 1-6 buttons, unique keys <= 1024 bytes,
  task_id); replies + pushes per conversation counted against 30/min.

Anything the bot does against these rules is a violation, which the tests assert never happens.
It runs on 127.0.0.1 in a thread of its own; the test calls it from the outside, thread-safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
import time
import uuid
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from tests.fakes.http_server import wait_until

BOT_ID, SECRET = "aib-outage-0001", "bot-secret-0001"
TASK_ID = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
MAX_CONTENT = 20480
PER_MINUTE = 30


class FakeWeComBot:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.replies: list[dict[str, Any]] = []  # {"cmd", "req_id", "body", "chat", "at"}
        self.violations: list[str] = []
        self.subscribes = 0
        self.refused_subscribes = 0
        self.pings = 0
        self.answer_pings = True
        self.idle_close_s = 0.0  # close a connection that sent nothing for this long (0: never)
        self.fail_next: dict[str, int] = {}  # cmd → errcode for its next frame
        self.chats_seen: set[str] = set()  # chats (chatid or userid) that messaged the bot
        self._callbacks: dict[str, tuple[str, float, str]] = {}  # req_id → (kind, at, chat)
        self._sent_per_chat: dict[str, list[float]] = {}
        self._numbers = itertools.count(1)
        self._current: ServerConnection | None = None
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    # ---- running -------------------------------------------------------------------------------

    def start(self) -> FakeWeComBot:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._connection, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}"
            self._ready.set()
            await self._stop.wait()

    def _call(self, coroutine) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    # ---- the connection ------------------------------------------------------------------------

    async def _connection(self, ws: ServerConnection) -> None:
        subscribed = False
        while True:
            try:
                timeout = self.idle_close_s or None
                raw = await asyncio.wait_for(ws.recv(), timeout)
            except TimeoutError:
                await ws.close()
                self._gone(ws)
                return
            except Exception:  # closed by the bot (or cut)
                self._gone(ws)
                return
            frame = json.loads(raw)
            cmd, req_id = frame.get("cmd"), str((frame.get("headers") or {}).get("req_id", ""))
            if cmd == "aibot_subscribe":
                body = frame.get("body") or {}
                if body.get("bot_id") != BOT_ID or body.get("secret") != SECRET:
                    with self.lock:
                        self.refused_subscribes += 1
                    await self._answer(ws, req_id, 853000, "invalid bot_id or secret")
                    continue
                with self.lock:
                    self.subscribes += 1
                old, self._current = self._current, ws
                subscribed = True
                await self._answer(ws, req_id)
                if old is not None and old is not ws:
                    await self._kick(old)
                continue
            if not subscribed or ws is not self._current:
                await self._answer(ws, req_id, 846609, "not subscribed")
                continue
            if cmd == "ping":
                with self.lock:
                    self.pings += 1
                if self.answer_pings:
                    await self._answer(ws, req_id)
                continue
            errcode, errmsg = self._check_reply(cmd, req_id, frame.get("body") or {})
            await self._answer(ws, req_id, errcode, errmsg)

    def _gone(self, ws: ServerConnection) -> None:
        if self._current is ws:
            self._current = None

    async def _answer(self, ws: ServerConnection, req_id: str, errcode: int = 0, errmsg: str = "ok") -> None:
        with contextlib.suppress(Exception):
            await ws.send(json.dumps({"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg}))

    async def _kick(self, ws: ServerConnection) -> None:
        event = {"eventtype": "disconnected_event"}
        body = {"msgid": uuid.uuid4().hex, "create_time": int(time.time()), "aibotid": BOT_ID, "msgtype": "event"}
        with contextlib.suppress(Exception):  # it may be gone already
            await self._push(ws, "aibot_event_callback", body | {"event": event})
            await ws.close()

    def _check_reply(self, cmd: str, req_id: str, body: dict[str, Any]) -> tuple[int, str]:
        with self.lock:
            forced = self.fail_next.pop(cmd, None)
        if forced is not None:
            return forced, "forced by the test"
        now = time.time()
        origin = self._callbacks.get(req_id)
        if cmd == "aibot_respond_msg":
            if origin is None or origin[0] != "msg":
                return 846605, "invalid req_id"
            chat = origin[2]
        elif cmd == "aibot_respond_welcome_msg":
            if origin is None or origin[0] != "welcome" or now - origin[1] > 5:
                return 846605, "invalid req_id"
            chat = origin[2]
        elif cmd == "aibot_respond_update_msg":
            if origin is None or origin[0] != "card" or now - origin[1] > 5:
                return 846605, "invalid req_id"
            self._check_card(body.get("template_card") or {})
            self._record(cmd, req_id, body, origin[2], count=False)
            return 0, "ok"
        elif cmd == "aibot_send_msg":
            chat = str(body.get("chatid") or "")
            if chat not in self.chats_seen:
                return 846609, "no conversation with this chat"
        else:
            return 40058, f"unknown cmd {cmd}"
        self._check_message(body)
        self._record(cmd, req_id, body, chat)
        return 0, "ok"

    def _check_message(self, body: dict[str, Any]) -> None:
        kind = body.get("msgtype")
        if kind == "stream":
            content = (body.get("stream") or {}).get("content") or ""
        elif kind in ("markdown", "text"):
            content = (body.get(kind) or {}).get("content") or ""
        elif kind == "template_card":
            self._check_card(body.get("template_card") or {})
            return
        else:
            self._violation(f"msgtype {kind!r} not allowed here")
            return
        if len(content.encode()) > MAX_CONTENT:
            self._violation(f"{kind} content of {len(content.encode())} bytes")
        if not content.strip():
            self._violation(f"empty {kind}")

    def _check_card(self, card: dict[str, Any]) -> None:
        buttons = card.get("button_list") or []
        keys = [b.get("key", "") for b in buttons]
        problems = [
            card.get("card_type") != "button_interaction" and "card_type",
            not (card.get("main_title") or {}).get("title") and "main_title.title",
            not 1 <= len(buttons) <= 6 and "1-6 buttons",
            len(set(keys)) != len(keys) and "unique keys",
            any(len(k.encode()) > 1024 or not k for k in keys) and "keys of 1-1024 bytes",
            not TASK_ID.match(str(card.get("task_id") or "")) and "task_id",
        ]
        for problem in filter(None, problems):
            self._violation(f"card: {problem}: {card}")

    def _record(self, cmd: str, req_id: str, body: dict[str, Any], chat: str, count: bool = True) -> None:
        now = time.time()
        with self.lock:
            if count:
                recent = [t for t in self._sent_per_chat.get(chat, []) if t > now - 60]
                if len(recent) >= PER_MINUTE:
                    self.violations.append(f"more than {PER_MINUTE}/min to {chat}")
                self._sent_per_chat[chat] = [*recent, now]
            self.replies.append({"cmd": cmd, "req_id": req_id, "body": body, "chat": chat, "at": now})

    def _violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    async def _push(self, ws: ServerConnection, cmd: str, body: dict[str, Any], req_id: str | None = None) -> str:
        req_id = req_id or uuid.uuid4().hex
        await ws.send(json.dumps({"cmd": cmd, "headers": {"req_id": req_id}, "body": body}, ensure_ascii=False))
        return req_id

    # ---- what users do (called from the test's thread) -----------------------------------------

    def _base(self, user: str, chat: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"msgid": f"msg{next(self._numbers)}-{uuid.uuid4().hex[:6]}", "aibotid": BOT_ID}
        if chat is not None:
            body |= {"chatid": chat, "chattype": "group"}
        else:
            body |= {"chattype": "single"}
        return body | {"from": {"userid": user}, "response_url": "https://example.invalid/response"}

    def _deliver(self, cmd: str, kind: str, body: dict[str, Any], chat: str, req_id: str | None = None) -> str:
        async def go() -> str:
            if self._current is None:
                raise AssertionError("no subscribed connection")
            rid = req_id or uuid.uuid4().hex
            self._callbacks[rid] = (kind, time.time(), chat)
            return await self._push(self._current, cmd, body, rid)

        return self._call(go())

    def say(self, user: str, text: str, chat: str | None = None, mention: str = "@发票助手") -> dict[str, Any]:
        """A user's message: in a group (chat given) it is an @-mention and keeps the mention."""
        body = self._base(user, chat) | {"msgtype": "text", "text": {"content": f"{mention} {text}" if chat else text}}
        where = chat or user
        with self.lock:
            self.chats_seen.add(where)
        body["req_id"] = self._deliver("aibot_msg_callback", "msg", body, where)
        return body

    def send_file(self, user: str, item: dict[str, str], msgtype: str = "image") -> dict[str, Any]:
        """A photo or file in a one-to-one chat: its download URL and key (FileHost.put)."""
        body = self._base(user, None) | {"msgtype": msgtype, msgtype: item}
        with self.lock:
            self.chats_seen.add(user)
        body["req_id"] = self._deliver("aibot_msg_callback", "msg", body, user)
        return body

    def redeliver(self, body: dict[str, Any]) -> None:
        """The same callback again ("可能因为网络等原因重复回调"), with a new req_id."""
        clean = {k: v for k, v in body.items() if k != "req_id"}
        self._deliver("aibot_msg_callback", "msg", clean, clean.get("chatid") or clean["from"]["userid"])

    def enter_chat(self, user: str) -> None:
        body = {"msgid": uuid.uuid4().hex, "create_time": int(time.time()), "aibotid": BOT_ID,
                "from": {"userid": user}, "msgtype": "event", "event": {"eventtype": "enter_chat"}}  # fmt: skip
        with self.lock:
            self.chats_seen.add(user)
        self._deliver("aibot_event_callback", "welcome", body, user)

    def press(self, user: str, card: dict[str, Any], label: str, chat: str | None = None) -> None:
        """A button press on a card the bot sent: the event carries the button's key and the task_id."""
        button = next(b for b in card["button_list"] if b["text"] == label)
        event = {"card_type": "button_interaction", "event_key": button["key"], "task_id": card["task_id"]}
        body = self._base(user, chat) | {"msgtype": "event", "create_time": int(time.time())}
        body["event"] = {"eventtype": "template_card_event", "template_card_event": event}
        self._deliver("aibot_event_callback", "card", body, chat or user)

    def feedback(self, user: str, stream_id: str, kind: int) -> None:
        body = self._base(user, None) | {"msgtype": "event", "create_time": int(time.time())}
        body["event"] = {"eventtype": "feedback_event", "feedback_event": {"id": stream_id, "type": kind}}
        self._deliver("aibot_event_callback", "feedback", body, user)

    def drop(self) -> None:
        """The connection dies without a close frame (a network cut)."""

        async def go() -> None:
            if self._current is not None:
                self._current.transport.abort()
                self._current = None

        self._call(go())

    def kick(self) -> None:
        """Another client subscribes as this bot: the current connection is told, then closed."""

        async def go() -> None:
            old, self._current = self._current, None
            if old is not None:
                await self._kick(old)

        self._call(go())

    # ---- what the test reads -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._current is not None

    def texts(self, chat: str) -> list[str]:
        """What the bot said to a chat, as text, in order (stream, markdown, welcome text, card titles)."""
        with self.lock:
            replies = [r for r in self.replies if r["chat"] == chat and r["cmd"] != "aibot_respond_update_msg"]
        out = []
        for r in replies:
            body = r["body"]
            kind = body.get("msgtype")
            if kind == "template_card":
                out.append("[card] " + " | ".join(b["text"] for b in body["template_card"]["button_list"]))
            else:
                out.append((body.get(kind) or {}).get("content", ""))
        return out

    def cards(self, chat: str) -> list[dict[str, Any]]:
        with self.lock:
            return [
                r["body"]["template_card"]
                for r in self.replies
                if r["chat"] == chat and r["body"].get("msgtype") == "template_card"
            ]

    def wait_for(self, chat: str, predicate, timeout: float = 15, what: str = "a reply") -> list[str]:
        return wait_until(lambda: (lambda t: t if predicate(t) else None)(self.texts(chat)), timeout, what)
