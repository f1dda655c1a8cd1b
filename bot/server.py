"""`outage-bot run`: every configured channel, the worker, the senders and one HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from bot.app import open_app
from bot.channels import registry
from bot.config import Settings
from bot.http_guard import GuardedHttpProtocol
from bot.runtime.sender import Sender
from bot.runtime.worker import Worker
from bot.web import build_web

log = logging.getLogger(__name__)
STOP_GRACE_S = 10.0


class NoChannelConfigured(Exception):
    def __str__(self) -> str:
        wanted = "\n".join(f"  {p.title}: set {p.needs}" for p in registry.PLATFORMS.values() if p.needs)
        return (
            "no channel is configured, so there is nothing to run. Set at least one of:\n"
            f"{wanted}\n(see .env.example; for a chat in this terminal, use `outage-bot chat`)"
        )


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop; SIGINT/SIGTERM are ours, for an orderly stop of everything."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    if not registry.configured(settings):
        raise NoChannelConfigured()
    stop = stop or asyncio.Event()
    first_run = not settings.database_is_postgres and not settings.OUTAGE_BOT_DB.exists()
    app = await open_app(settings, role="run")
    if first_run:
        log.warning("outage-bot: a new database at %s; `outage-bot --help` lists the commands", settings.OUTAGE_BOT_DB)
    senders: list[Sender] = []
    worker = Worker(app.store, app.dispatcher, app.clock, lambda: [s.wake.set() for s in senders], app.calendar)
    worker.retention = (settings.RETENTION_DAYS_QUEUE, settings.RETENTION_DAYS_LOG)
    channels = registry.connect(settings, app.host(worker.wake.set))
    senders.extend(Sender(app.store, app.clock, channel) for channel in channels)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    http = _EmbeddedServer(
        uvicorn.Config(
            build_web(app.store, channels),
            host=settings.HTTP_HOST,
            port=settings.HTTP_PORT,
            log_level="warning",
            lifespan="off",
            access_log=False,
            http=GuardedHttpProtocol.configured(
                settings.HTTP_HEADER_TIMEOUT_S, settings.HTTP_BODY_TIMEOUT_S, settings.HTTP_MAX_CONNECTIONS
            ),
        )
    )
    tasks: list[asyncio.Task] = []
    started = []
    try:
        await app.dispatcher.drain()  # finish what a previous run accepted but didn't process
        for channel in channels:
            await channel.start()
            started.append(channel)
        tasks = [asyncio.create_task(worker.run(), name="worker")]
        tasks += [asyncio.create_task(s.run(), name=f"sender-{s.channel.name}") for s in senders]
        tasks.append(asyncio.create_task(http.serve(), name="http"))
        for s in senders:
            s.wake.set()  # deliver what a previous run left in the outbox
        log.info("outage-bot: serving on %s:%s", settings.HTTP_HOST, settings.HTTP_PORT)
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception() is not None:
                raise task.exception()
    finally:
        http.should_exit = True
        # stop taking work, then let the worker finish its turn and the senders their sends
        for loop_ in (worker, *senders):
            loop_.stop()
        _, unfinished = await asyncio.wait(tasks, timeout=STOP_GRACE_S) if tasks else (set(), set())
        for task in unfinished:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in started:
            await channel.stop()
        await app.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        log.info("outage-bot: stopped")
