"""Reading files off the event loop, in worker processes with a time and a memory limit.

A crafted PDF or image can spin or allocate inside native code, where a thread can't be stopped:
a process can be killed. A few long-lived workers (`python -m bot.invoices.worker`, each with the
readers imported once) take one file at a time; one over its time limit is killed and replaced,
and a worker is replaced after READS_PER_WORKER files so no decoder's leak grows without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from dataclasses import dataclass

from bot.invoices.model import Invoice, unreadable
from bot.invoices.reader import MAX_FILE_BYTES
from bot.invoices.worker import HEADER

log = logging.getLogger(__name__)
TIME_LIMIT_S = 10.0  # per file, download excluded
MEMORY_LIMIT = 2 * 1024 * 1024 * 1024  # bytes of address space per worker
READS_PER_WORKER = 200
MAX_ANSWER = 1024 * 1024


def too_complex() -> Invoice:
    return unreadable(
        "文件太复杂，无法在限定时间和内存内读取：请发送发票原始的 PDF/OFD 文件，或一张清晰的照片。",
        "The file is too complex to read within the time and memory allowed: send the original PDF/OFD "
        "file, or a sharp photo.",
    )


@dataclass
class Outcome:
    invoice: Invoice
    seconds: float
    stopped: bool = False  # over the time limit, or the worker died


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process):
        self.process, self.reads = process, 0

    @classmethod
    async def start(cls, memory: int) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.invoices.worker", str(memory),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        return cls(process)

    async def read(self, data: bytes) -> Invoice:
        self.reads += 1
        self.process.stdin.write(HEADER.pack(len(data)) + data)
        await self.process.stdin.drain()
        (size,) = HEADER.unpack(await self.process.stdout.readexactly(HEADER.size))
        if size > MAX_ANSWER:
            raise ValueError("answer too large")
        return Invoice.from_dict(json.loads(await self.process.stdout.readexactly(size)))

    async def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        await self.process.wait()


class InvoiceReader:
    """`await reader.read(data)`; `await reader.close()` when done."""

    def __init__(self, time_limit_s: float = TIME_LIMIT_S, memory: int = MEMORY_LIMIT, parallel: int = 2):
        self.time_limit_s, self.memory, self.parallel = time_limit_s, memory, parallel
        self._idle: asyncio.Queue[_Worker | None] = asyncio.Queue()
        for _ in range(parallel):
            self._idle.put_nowait(None)  # a slot whose worker starts when first needed
        self._workers: set[_Worker] = set()

    async def read(self, data: bytes) -> Outcome:
        started = time.perf_counter()
        if len(data) > MAX_FILE_BYTES:  # refused here, before it is copied to a worker
            from bot.invoices.reader import read_bytes

            return Outcome(read_bytes(data), time.perf_counter() - started)
        worker = await self._idle.get()
        try:
            if worker is None:
                worker = await _Worker.start(self.memory)
                self._workers.add(worker)
            invoice = await asyncio.wait_for(worker.read(data), self.time_limit_s)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError, OSError) as exc:
            log.warning("invoice reader: %s; worker replaced", type(exc).__name__ if str(exc) == "" else exc)
            await self._retire(worker)
            self._idle.put_nowait(None)
            return Outcome(too_complex(), time.perf_counter() - started, stopped=True)
        except BaseException:
            await self._retire(worker)
            self._idle.put_nowait(None)
            raise
        if worker.reads >= READS_PER_WORKER:
            await self._retire(worker)
            worker = None
        self._idle.put_nowait(worker)
        return Outcome(invoice, time.perf_counter() - started)

    async def _retire(self, worker: _Worker | None) -> None:
        if worker is not None:
            self._workers.discard(worker)
            await worker.stop()

    async def close(self) -> None:
        for worker in list(self._workers):
            await self._retire(worker)
