"""GET /status and /status.json: what is broken where, since when, what is expected, and the last
30 days, for anyone (no personal data: declared outages only). Server-rendered (Jinja2), readable
on a phone, no JavaScript; Chinese, or English with ?lang=en (or a browser that prefers it)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from bot.engine.texts import ui_texts
from bot.i18n import LANGS, pick
from bot.playbook.catalog import Catalog
from bot.store.base import Maintenance, Outage

HISTORY_DAYS = 30
CACHE_S = 5.0  # a public page: at most one database read per this many seconds, however many readers
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")), autoescape=select_autoescape(["html"])
)


def texts(lang: str) -> dict[str, str]:
    """The page's words (ui.yaml's status_* texts), by their name without the prefix."""
    return {k.removeprefix("status_"): v[lang] for k, v in ui_texts().items() if k.startswith("status_")}


class StatusPage:
    def __init__(self, store, catalog: Catalog, tz: ZoneInfo, clock):
        self.store, self.catalog, self.tz, self.clock = store, catalog, tz, clock
        self._cached: tuple[float, tuple[list[Outage], list[Maintenance]]] = (0.0, ([], []))

    def routes(self) -> list[Route]:
        return [Route("/status", self.page, methods=["GET"]), Route("/status.json", self.json, methods=["GET"])]

    async def _outages(self) -> tuple[list[Outage], list[Maintenance]]:
        read_at, read = self._cached
        if time.monotonic() - read_at > CACHE_S:
            since = self.clock.now() - timedelta(days=HISTORY_DAYS)
            read = (await self.store.outages_since(since), await self.store.maintenance_ahead())
            self._cached = (time.monotonic(), read)
        return read

    def _parts(self, system: str, components: tuple[str, ...], lang: str) -> list[dict]:
        book = self.catalog.by_system(system)
        parts = [c for c in book.components if c.id in components] if book else []
        return [{"id": c.id, "title": pick(c.title, lang)} for c in parts]

    def _window(self, window: Maintenance, lang: str) -> dict:
        return {
            "system": window.system,
            "title": self._system(window.system, lang),
            "summary": window.summary,
            "region": window.region,
            "components": self._parts(window.system, window.components, lang),
            "starts_at": self._local(window.starts_at),
            "ends_at": self._local(window.ends_at),
        }

    def _system(self, system: str, lang: str) -> str:
        book = self.catalog.by_system(system)
        return pick(book.title, lang) if book else system

    def _local(self, moment: datetime | None) -> str | None:
        return moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") if moment else None

    def _entry(self, outage: Outage, lang: str) -> dict:
        lasted = ((outage.resolved_at or self.clock.now()) - outage.started_at).total_seconds()
        return {
            "system": outage.system,
            "title": self._system(outage.system, lang),
            "summary": outage.summary,
            "region": outage.region,
            "components": self._parts(outage.system, outage.components, lang),
            "started_at": self._local(outage.started_at),
            "updated_at": self._local(outage.updated_at),
            "expected_back": outage.until,
            "next_update_by": self._local(outage.next_update_at) if outage.resolved_at is None else None,
            "resolved_at": self._local(outage.resolved_at),
            "lasted_minutes": round(lasted / 60),
            "link": outage.link,
        }

    async def snapshot(self, lang: str) -> dict:
        outages, windows = await self._outages()
        return {
            "scheduled": [self._window(w, lang) for w in windows if w.outage_id is None],
            "generated_at": self._local(self.clock.now()),
            "time_zone": str(self.tz),
            "current": [self._entry(o, lang) for o in outages if o.resolved_at is None],
            "history": [self._entry(o, lang) for o in outages if o.resolved_at is not None],
        }

    async def json(self, request: Request) -> JSONResponse:
        return JSONResponse(await self.snapshot(_lang(request)), headers={"Cache-Control": f"max-age={CACHE_S:.0f}"})

    async def page(self, request: Request) -> HTMLResponse:
        lang = _lang(request)
        html = _TEMPLATES.get_template("status.html").render(
            lang=lang, t=texts(lang), other="en" if lang == "zh" else "zh", **await self.snapshot(lang)
        )
        return HTMLResponse(html, headers={"Cache-Control": f"max-age={CACHE_S:.0f}"})


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    accepted = request.headers.get("accept-language", "").lower()
    return "en" if accepted.startswith("en") else "zh"
