"""The child process that reads files for sandbox.py: `python -m bot.invoices.worker`.

Protocol on stdin/stdout: the parent writes a 4-byte big-endian length and the file's bytes; the
worker answers with a 4-byte length and the Invoice as JSON. It limits its own address space
first, so a file that makes a decoder allocate without end fails here, not in the bot.
"""

from __future__ import annotations

import json
import resource
import struct
import sys

from bot.invoices.model import unreadable
from bot.invoices.reader import MAX_FILE_BYTES, read_bytes

HEADER = struct.Struct(">I")


def _read_exactly(stream, size: int) -> bytes | None:
    data = stream.read(size)
    return data if len(data) == size else None


def serve(memory: int) -> None:
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (header := _read_exactly(stdin, HEADER.size)) is not None:
        (size,) = HEADER.unpack(header)
        if size > MAX_FILE_BYTES + 1:
            return  # the parent never sends more: a confused stream, start afresh
        data = _read_exactly(stdin, size)
        if data is None:
            return
        try:
            result = read_bytes(data)
        except MemoryError:
            result = unreadable("文件太复杂，无法读取。", "The file is too complex to read.")
        except Exception as exc:  # a reader's bug: this file is unread, the next one is read
            result = unreadable("文件无法读取。", f"The file can't be read ({type(exc).__name__}).")
        answer = json.dumps(result.to_dict(), ensure_ascii=False).encode()
        stdout.write(HEADER.pack(len(answer)) + answer)
        stdout.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
