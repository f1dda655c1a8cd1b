"""The long connection to WeCom's intelligent-bot server: one WebSocket, JSON frames.

Subscribe with the bot's id and secret, ping every 30 s (two unanswered pings: the connection is
dead), reconnect with exponential backoff and jitter (1 s .. 30 s). Every frame we send is answered
by a frame echoing its req_id, which resolves the request's future. A second connection for the same
bot replaces this one: the server says so with a disconnected_event, and then reconnecting would
only kick the other one in turn, so we stop and say why. Callbacks go to `on_callback` in the order
they arrive, from a task of their own, so that handling one may send frames and await their acks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from bot import metrics

log = logging.getLogger(__name__)

CHANNEL = "wecom_bot"  # for the metrics' label
HEARTBEAT_S = 30.0
MISSED_PINGS = 2
ACK_TIMEOUT_S = 5.0
BACKOFF_MIN_S, BACKOFF_MAX_S = 1.0, 30.0
MAX_FRAME_BYTES = 4 * 1024 * 1024  # a callback is small; anything bigger is not one
OPEN_TIMEOUT_S = 10.0


class NotConnected(Exception):
    """No subscribed connection right now; try later."""


class AckTimeout(Exception):
    """The frame went out but no answer came: the server may have acted on it."""


class Refused(Exception):
    def __init__(self, cmd: str, errcode: int, errmsg: str):
        super().__init__(f"{cmd}: errcode {errcode}: {errmsg}")
        self.cmd, self.errcode, self.errmsg = cmd, errcode, errmsg


Callback = Callable[[dict[str, Any]], Awaitable[None]]


class LongConnection:
    def __init__(self, url: str, bot_id: str, secret: str, on_callback: Callback):
        self.url, self.bot_id, self.secret, self.on_callback = url, bot_id, secret, on_callback
        self.connection_id: str | None = None  # a new one each time a subscription succeeds
        self.stopped_because: str | None = None  # set when we give up for good (kicked, refused)
        self._ws: ClientConnection | None = None
        self._acks: dict[str, asyncio.Future] = {}
        self._send_lock = asyncio.Lock()
        self._callbacks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._subscribed = asyncio.Event()
        self._reader: asyncio.Task | None = None
        self.reconnects = 0

    @property
    def up(self) -> bool:
        return self._subscribed.is_set()

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and subscribe once (wrong credentials fail here, loudly), then keep it up."""
        await self._open()
        self._tasks = [
            asyncio.create_task(self._keep_up(), name="wecom-bot-connection"),
            asyncio.create_task(self._deliver_callbacks(), name="wecom-bot-callbacks"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    async def _open(self) -> None:
        ws = await connect(self.url, max_size=MAX_FRAME_BYTES, open_timeout=OPEN_TIMEOUT_S, ping_interval=None)
        self._ws = ws
        reader = asyncio.create_task(self._read(ws), name="wecom-bot-reader")
        try:
            body = {"bot_id": self.bot_id, "secret": self.secret}
            await self.request("aibot_subscribe", body, subscribing=True)
        except BaseException:
            reader.cancel()
            await ws.close()
            raise
        self._reader = reader
        self.connection_id = uuid.uuid4().hex
        self._subscribed.set()
        metrics.CONNECTIONS_UP.labels(CHANNEL).set(1)
        log.info("wecom_bot: subscribed as %s", self.bot_id)

    async def _close(self) -> None:
        self._subscribed.clear()
        metrics.CONNECTIONS_UP.labels(CHANNEL).set(0)
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        for future in self._acks.values():
            if not future.done():
                future.set_exception(NotConnected("connection closed"))
        self._acks.clear()

    async def _keep_up(self) -> None:
        """Heartbeats while up; when the connection dies, reconnect with backoff until stopped."""
        while True:
            beat = asyncio.create_task(self._heartbeat())
            await asyncio.wait({self._reader, beat}, return_when=asyncio.FIRST_COMPLETED)
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
            log.warning("wecom_bot: connection lost; reconnecting")
            await self._close()
            if not await self._reconnect():
                return

    async def _reconnect(self) -> bool:
        delay = BACKOFF_MIN_S
        while True:
            await asyncio.sleep(random.uniform(0, delay))  # full jitter: many bots don't return in step
            try:
                await self._open()
                self.reconnects += 1
                metrics.RECONNECTS.labels(CHANNEL).inc()
                return True
            except Refused as exc:
                self.stopped_because = f"subscribe refused: {exc} (check WECOM_BOT_ID and WECOM_BOT_SECRET)"
                log.error("wecom_bot: %s", self.stopped_because)
                return False
            except (NotConnected, AckTimeout, websockets.WebSocketException, OSError, TimeoutError) as exc:
                log.warning("wecom_bot: reconnect failed (%s); next try within %.0f s", type(exc).__name__, delay)
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def _heartbeat(self) -> None:
        missed = 0
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self.request("ping", None)
                missed = 0
            except AckTimeout:
                missed += 1
                if missed >= MISSED_PINGS:
                    raise

    # ---- frames --------------------------------------------------------------------------------

    async def request(
        self, cmd: str, body: dict[str, Any] | None, req_id: str | None = None, subscribing: bool = False
    ) -> dict[str, Any]:
        """Send a frame and wait for its answer; Refused when errcode isn't 0."""
        ws = self._ws
        if ws is None or not (subscribing or self.up):
            raise NotConnected("not subscribed")
        req_id = req_id or uuid.uuid4().hex
        while (pending := self._acks.get(req_id)) is not None:  # one frame per req_id in flight:
            await asyncio.wait({pending})  # its answer must be unambiguous
        future = asyncio.get_running_loop().create_future()
        self._acks[req_id] = future
        frame = {"cmd": cmd, "headers": {"req_id": req_id}}
        if body is not None:
            frame["body"] = body
        try:
            async with self._send_lock:
                await ws.send(json.dumps(frame, ensure_ascii=False))
            async with asyncio.timeout(ACK_TIMEOUT_S):
                answer = await future
        except TimeoutError:
            raise AckTimeout(f"{cmd}: no answer in {ACK_TIMEOUT_S:g} s") from None
        except websockets.ConnectionClosed:
            raise NotConnected("connection closed while sending") from None
        finally:
            if self._acks.get(req_id) is future:
                del self._acks[req_id]
        errcode = answer.get("errcode", 0)
        if errcode:
            raise Refused(cmd, int(errcode), str(answer.get("errmsg", "")))
        return answer

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                frame = _frame(raw)
                if frame is None:
                    log.warning("wecom_bot: ignored a frame that is not a JSON object")
                    continue
                req_id = str((frame.get("headers") or {}).get("req_id", ""))
                if "cmd" not in frame:  # an answer to one of ours
                    future = self._acks.get(req_id)
                    if future is not None and not future.done():
                        future.set_result(frame)
                    continue
                self._callbacks.put_nowait(frame)
        except websockets.ConnectionClosed:
            pass
        finally:
            self._subscribed.clear()
            for future in self._acks.values():
                if not future.done():
                    future.set_exception(NotConnected("connection closed"))

    async def _deliver_callbacks(self) -> None:
        while True:
            frame = await self._callbacks.get()
            if _is_kick(frame):
                self._kicked()
                continue
            try:
                await self.on_callback(frame)
            except Exception:
                # not committed: the server may deliver it again; the connection stays up
                log.exception("wecom_bot: a callback failed")

    def _kicked(self) -> None:
        for task in self._tasks:
            if task.get_name() == "wecom-bot-connection" and not task.done():
                task.cancel()
        self.stopped_because = (
            "another connection subscribed as this bot (WECOM_BOT_ID) and replaced this one; "
            "not reconnecting, so the two don't take turns kicking each other"
        )
        log.error("wecom_bot: %s", self.stopped_because)
        self._subscribed.clear()
        self._closing = asyncio.create_task(self._close())  # not awaited here: this task reads callbacks


def _frame(raw: str | bytes) -> dict[str, Any] | None:
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return frame if isinstance(frame, dict) else None


def _is_kick(frame: dict[str, Any]) -> bool:
    body = frame.get("body") or {}
    event = body.get("event") if isinstance(body, dict) else None
    return (
        frame.get("cmd") == "aibot_event_callback"
        and isinstance(event, dict)
        and (event.get("eventtype") == "disconnected_event")
    )
