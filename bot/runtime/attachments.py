"""Photos and files people send: fetched from their platform, read, and handed to the engine.

A channel accepts a file message into the inbox as an Inbound whose payload names the attachment
(platform ids, never the bytes), so the webhook is answered at once and a worker that dies while
reading loses nothing. The dispatcher then resolves it here: the channel's fetch downloads the
bytes (bounded), the invoice reader reads them in a worker process (bounded), and the payload
gets the reading ("invoice") that the engine answers from.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from bot import metrics
from bot.engine.types import Inbound
from bot.invoices.model import unreadable
from bot.invoices.reader import MAX_FILE_BYTES
from bot.invoices.sandbox import InvoiceReader

log = logging.getLogger(__name__)
Fetch = Callable[[Mapping[str, Any]], Awaitable[bytes]]
FETCH_TIMEOUT_S = 30.0


class FetchFailed(Exception):
    """The file could not be fetched; the message is for the log, `said` (zh, en) for the person."""

    def __init__(self, reason: str, said: tuple[str, str] | None = None):
        super().__init__(reason)
        self.said = said


class FileTooLarge(FetchFailed):
    pass


async def read_at_most(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """A download's body, refused (FileTooLarge) as soon as it passes `limit` bytes."""
    data = bytearray()
    async for chunk in chunks:
        data += chunk
        if len(data) > limit:
            raise FileTooLarge(f"more than {limit} bytes")
    return bytes(data)


def pending(inbound: Inbound) -> bool:
    payload = inbound.payload or {}
    return isinstance(payload.get("attachment"), dict) and "invoice" not in payload


class Attachments:
    def __init__(self, reader: InvoiceReader | None = None):
        self.reader = reader
        self.fetchers: dict[str, Fetch] = {}  # by channel name: set by the channels that receive files

    async def resolve(self, channel: str, inbound: Inbound) -> Inbound:
        """The inbound with the reading of its attachment (or why there is none) in its payload."""
        attachment = dict(inbound.payload["attachment"])
        started = time.perf_counter()
        invoice, outcome = await self._read(channel, attachment)
        seconds = time.perf_counter() - started
        metrics.INVOICE_READS.labels(channel, outcome).inc()
        metrics.INVOICE_READ_SECONDS.observe(seconds)
        log.info(
            "attachment read: %s in %.2f s (%s)",
            outcome,
            seconds,
            invoice.input or "unknown input",
            extra={"channel": channel, "conversation": str(inbound.key)},
        )
        payload = {**inbound.payload, "invoice": invoice.to_dict()}
        return dataclasses.replace(inbound, payload=payload)

    async def _read(self, channel: str, attachment: dict[str, Any]):
        fetch = self.fetchers.get(channel)
        if fetch is None or self.reader is None:
            return _not_fetched(), "failed"
        try:
            data = await asyncio.wait_for(fetch(attachment), FETCH_TIMEOUT_S)
        except FileTooLarge:
            return _too_large(), "failed"
        except (FetchFailed, TimeoutError, OSError) as exc:
            log.warning("attachment fetch failed on %s: %s", channel, exc or type(exc).__name__)
            said = getattr(exc, "said", None)
            return (unreadable(*said) if said else _not_fetched()), "failed"
        if len(data) > MAX_FILE_BYTES:
            return _too_large(), "failed"
        read = await self.reader.read(data)
        outcome = "failed" if read.stopped else "read" if read.invoice.found() else "unread"
        return read.invoice, outcome

    async def close(self) -> None:
        if self.reader is not None:
            await self.reader.close()


def _not_fetched():
    return unreadable(
        "没能取到这个文件（下载失败或链接已过期）：请再发送一次。",
        "The file could not be fetched (the download failed or its link expired): please send it again.",
    )


def _too_large():
    mb = MAX_FILE_BYTES // (1024 * 1024)
    return unreadable(
        f"文件太大：最多 {mb} MB。请发送发票原始的 PDF/OFD 文件或一张照片。",
        f"The file is too large: at most {mb} MB. Send the invoice's original PDF/OFD file or a photo.",
    )
