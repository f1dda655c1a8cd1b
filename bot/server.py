"""`outage-bot run`: every configured channel, the worker, the senders and one HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

from bot import metrics
from bot.app import open_app
from bot.channels import registry
from bot.config import Settings
from bot.features.crowd import CrowdWatch, crowd_rule
from bot.features.maintenance import MaintenanceWindows
from bot.features.outages import Outages
from bot.http_guard import GuardedHttpProtocol
from bot.runtime.heap import started_objects_frozen
from bot.runtime.leadership import Leadership
from bot.runtime.sender import Sender
from bot.runtime.worker import Worker
from bot.status_page import StatusPage
from bot.web import build_web

log = logging.getLogger(__name__)
STOP_GRACE_S = 10.0


async def _finish(tasks: list[asyncio.Task]) -> None:
    """Let stopped loops end their turn for up to STOP_GRACE_S, then cancel what is still running."""
    if not tasks:
        return
    _, unfinished = await asyncio.wait(tasks, timeout=STOP_GRACE_S)
    for task in unfinished:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


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
    worker = Worker(app.store, app.dispatcher, app.clock, lambda: lead.wake_senders(), app.calendar)
    worker.retention = (settings.RETENTION_DAYS_QUEUE, settings.RETENTION_DAYS_LOG)
    outages = Outages(app.store, app.catalog, app.calendar, settings.PUBLIC_BASE_URL)
    worker.duties.append(lambda now: outages.tell_overdue(now, app.platforms.admin_chats()))
    worker.duties.append(MaintenanceWindows(outages).tick)
    crowd = CrowdWatch(outages, crowd_rule(settings), app.platforms.admin_chats, app.platforms.presses_anywhere)
    worker.duties.append(crowd.tick)
    channels = registry.connect(settings, app.host(worker.wake.set))
    for channel in channels:  # whichever worker reads a file downloads it: every one can
        if (fetch := getattr(channel, "fetch", None)) is not None:
            app.dispatcher.attachments.fetchers[channel.name] = fetch
    lead = LeaderDuties(app, channels)
    leadership = Leadership(app.store.leader_lock(), app.store.worker, lead.take_up, lead.hand_over)
    worker.leading = lambda: leadership.leading

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def status() -> dict:
        return {"worker": app.store.worker, "leader": leadership.leading, "standby": lead.standby()}

    http = _EmbeddedServer(
        uvicorn.Config(
            build_web(app.store, channels, status, StatusPage(app.store, app.catalog, settings.tz, app.clock).routes()),
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
    heap = contextlib.ExitStack()
    try:
        await app.dispatcher.drain()  # finish what a previous run accepted but didn't process
        for channel in lead.everywhere:  # webhooks may arrive at any worker
            await channel.start()
            started.append(channel)
        if not await leadership.try_lead():
            log.warning("outage-bot: worker %s follows; it leads when the leader is gone", app.store.worker)
        heap.enter_context(started_objects_frozen())
        tasks = [
            asyncio.create_task(worker.run(), name="worker"),
            asyncio.create_task(leadership.run(), name="leadership"),
            asyncio.create_task(http.serve(), name="http"),
        ]
        log.info("outage-bot: worker %s serving on %s:%s", app.store.worker, settings.HTTP_HOST, settings.HTTP_PORT)
        metrics.LEADER.labels(app.store.worker).set(1 if leadership.leading else 0)
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiter and task.exception() is not None:
                raise task.exception()
    finally:
        http.should_exit = True
        # stop taking work, then let the worker finish its turn and the leader its sends
        worker.stop()
        leadership.stop()
        await _finish(tasks)
        for channel in started:
            await channel.stop()
        await app.close()
        heap.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        log.info("outage-bot: stopped")


class LeaderDuties:
    """What the leading worker does beside every worker's: the channels only one process may hold
    (long polling, long connections) and the senders."""

    def __init__(self, app, channels: list):
        self.app = app
        self.channels = channels
        self.everywhere = [c for c in channels if not getattr(c, "exclusive", False)]
        self.exclusive = [c for c in channels if getattr(c, "exclusive", False)]
        self.senders: list[Sender] = []
        self._tasks: list[asyncio.Task] = []
        self._started: list = []

    def standby(self) -> list[str]:
        return [c.name for c in self.exclusive if c not in self._started]

    def wake_senders(self) -> None:
        for sender in self.senders:
            sender.wake.set()

    async def take_up(self) -> None:
        for channel in self.exclusive:
            await channel.start()
            self._started.append(channel)
        self.senders = [Sender(self.app.store, self.app.clock, channel) for channel in self.channels]
        self._tasks = [asyncio.create_task(s.run(), name=f"sender-{s.channel.name}") for s in self.senders]
        await self.app.store.watch_outbox(self.wake_senders)  # what other workers queue
        self.wake_senders()  # deliver what is waiting in the outbox

    async def hand_over(self) -> None:
        await self.app.store.unwatch_outbox()
        for sender in self.senders:
            sender.stop()
        await _finish(self._tasks)
        self.senders, self._tasks = [], []
        for channel in self._started:
            await channel.stop()
        self._started = []
