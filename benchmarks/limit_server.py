"""The limit reference: a server that does for each WeCom callback only the work no design of this
bot can skip, on the same parts, so that `pipeline ÷ limit` says how close the bot comes to it.

Per message: the signature checked, the ciphertext decrypted and both XML documents parsed (the
same keys, wechatpy's crypto and defusedxml); the inbound committed to SQLite (the bot's file
settings: WAL, synchronous=NORMAL), callers that arrive together sharing a commit as the bot's do;
HTTP 200; then one reply sent to the same fake API over the same client (aiohttp, one access token)
and one commit recording the send. The same HTTP server (uvicorn's httptools protocol with the
bot's guard, on uvloop) and Starlette routes. No engine, no conversation state, no outbox, no
transcript, no metrics, no deduplication.

    python benchmarks/limit_server.py --port 8081 --api http://127.0.0.1:9000/cgi-bin/ --db /tmp/limit.db
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hmac
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp
import aiosqlite
import uvicorn
import uvloop
from defusedxml.ElementTree import fromstring
from loadgen import AES_KEY, AGENT_ID, CORP_ID, SECRET, TOKEN
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.enterprise.crypto import PrpCrypto

from bot.channels.wecom_app.envelope import aes_key, signature
from bot.http_guard import GuardedHttpProtocol
from bot.runtime.group_commit import GroupCommit

REPLY = "请确认发票是在哪里查不到的：查验平台提示“查无此票”，还是电子税务局的发票查询里查不到？"  # as long as ours


class Limit:
    def __init__(self, db: aiosqlite.Connection, api: str, client: aiohttp.ClientSession):
        self.db, self.api, self.client = db, api.rstrip("/") + "/", client
        self.crypto = PrpCrypto(aes_key(AES_KEY))
        self.accepting = GroupCommit(self._insert)
        self.recording = GroupCommit(self._record)
        self.token: str | None = None
        self.lock = asyncio.Lock()
        self.sending: set[asyncio.Task] = set()

    async def _insert(self, rows: Sequence[tuple[str, str, float]]) -> list[int]:
        """One multi-row INSERT per group, as the bot's inbox takes them (at most 500 rows a statement)."""
        ids: list[int] = []
        async with self.transaction():
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                values = ", ".join(["(?, ?, ?)"] * len(chunk))
                found = await self.db.execute_fetchall(
                    f"INSERT INTO inbox (user, content, at) VALUES {values} RETURNING id",
                    [value for row in chunk for value in row],
                )
                ids.extend(sorted(r[0] for r in found))  # one statement, one connection: rowids in VALUES order
        return ids

    async def _record(self, rows: Sequence[tuple[float, int]]) -> list[None]:
        async with self.transaction():
            await self.db.executemany("UPDATE inbox SET sent_at = ? WHERE id = ?", rows)
        return [None] * len(rows)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One connection, one transaction at a time (as the bot's store)."""
        async with self.lock:
            await self.db.execute("BEGIN IMMEDIATE")
            yield
            await self.db.execute("COMMIT")

    async def callback(self, request: Request) -> Response:
        body = await request.body()
        encrypted = fromstring(body, forbid_dtd=True).findtext("Encrypt") or ""
        params = request.query_params
        expected = signature(TOKEN, params.get("timestamp", ""), params.get("nonce", ""), encrypted)
        if not hmac.compare_digest(expected.encode(), params.get("msg_signature", "").encode()):
            return PlainTextResponse("wrong signature", status_code=403)
        inner = fromstring(self.crypto.decrypt(encrypted, CORP_ID).encode(), forbid_dtd=True)
        user, content = inner.findtext("FromUserName") or "", inner.findtext("Content") or ""
        inbox_id = await self.accepting.add((user, content, time.time()))
        task = asyncio.create_task(self.reply(inbox_id, user))
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)
        return PlainTextResponse("")

    async def reply(self, inbox_id: int, user: str) -> None:
        if self.token is None:
            params = {"corpid": CORP_ID, "corpsecret": SECRET}
            async with self.client.get(self.api + "gettoken", params=params) as response:
                self.token = (await response.json())["access_token"]
        body = {"touser": user, "msgtype": "text", "agentid": AGENT_ID, "text": {"content": REPLY}}
        async with self.client.post(self.api + "message/send", params={"access_token": self.token}, json=body) as sent:
            await sent.json(content_type=None)
        await self.recording.add((time.time(), inbox_id))


async def serve(port: int, api: str, path: Path) -> None:
    db = await aiosqlite.connect(path, isolation_level=None)
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=NORMAL")
    await db.execute(
        "CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY, user TEXT, content TEXT, at REAL, sent_at REAL)"
    )
    async with aiohttp.ClientSession() as client:
        limit = Limit(db, api, client)

        async def healthz(request: Request) -> Response:
            return PlainTextResponse("ok")

        app = Starlette(routes=[Route("/healthz", healthz), Route("/wecom/callback", limit.callback, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                access_log=False, http=GuardedHttpProtocol)  # fmt: skip
        server = uvicorn.Server(config)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        await server.serve()
        await asyncio.gather(*limit.sending, return_exceptions=True)
    await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api", required=True, help="the fake WeCom API's base URL")
    parser.add_argument("--db", type=Path, required=True)
    args = parser.parse_args()
    try:
        uvloop.run(serve(args.port, args.api, args.db))
    except sqlite3.Error as exc:
        raise SystemExit(f"limit server: {exc}") from None


if __name__ == "__main__":
    main()
