"""Where WeCom's intelligent bot keeps the photos and files users send: a URL per file whose
content is AES-256-CBC encrypted, the key (base64, the IV its first 16 bytes) given in the message,
padded PKCS#7 to 32 bytes, as WecomTeam/aibot-node-sdk decrypts it."""

from __future__ import annotations

import base64
import os
import threading
import uuid

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def encrypt(data: bytes, key: bytes) -> bytes:
    pad = 32 - len(data) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()


class FileHost:
    def __init__(self):
        self.lock = threading.Lock()
        self.files: dict[str, bytes] = {}
        self.downloads = 0
        self.base_url = ""  # set once served
        self.app = Starlette(routes=[Route("/file/{name}", self._get, methods=["GET"])])

    def put(self, data: bytes, key: bytes | None = None) -> dict[str, str]:
        """Keep a file encrypted; returns the message's {"url", "aeskey"}."""
        key = key or os.urandom(32)
        name = uuid.uuid4().hex
        with self.lock:
            self.files[name] = encrypt(data, key)
        return {"url": f"{self.base_url}/file/{name}", "aeskey": base64.b64encode(key).decode()}

    async def _get(self, request: Request) -> Response:
        with self.lock:
            data = self.files.get(request.path_params["name"])
            self.downloads += 1
        return Response(data, media_type="application/octet-stream") if data else Response(status_code=404)
