"""Photos and files sent to the intelligent bot: a download URL (valid five minutes) whose content
is encrypted with AES-256-CBC. The key is the message's own `aeskey` on the long connection, the
bot's EncodingAESKey in callback mode; the IV is the key's first 16 bytes and the padding is
PKCS#7 to a 32-byte block (WecomTeam/aibot-node-sdk, src/crypto.ts)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.runtime.attachments import FetchFailed, FileTooLarge, read_at_most

DOWNLOAD_TIMEOUT_S = 20.0
BLOCK = 32


def attachment_of(body: Mapping[str, Any], msgtype: str) -> dict[str, Any] | None:
    """What to fetch for an image or file message (or a mixed one's first image), or None."""
    item = body.get(msgtype) if msgtype in ("image", "file") else None
    if msgtype == "mixed":
        items = (body.get("mixed") or {}).get("msg_item") or []
        item = next((i.get("image") for i in items if isinstance(i, dict) and i.get("msgtype") == "image"), None)
    if not isinstance(item, dict) or not isinstance(item.get("url"), str):
        return None
    url = item["url"][:2048]
    if not url.startswith(("https://", "http://")):
        return None
    aeskey = item.get("aeskey")
    return {"url": url, "aeskey": aeskey[:64] if isinstance(aeskey, str) else None, "type": msgtype}


def decrypt(data: bytes, aeskey: str) -> bytes:
    try:
        key = base64.b64decode(aeskey + "=" * (-len(aeskey) % 4))
    except (binascii.Error, ValueError):
        raise FetchFailed("the file's aeskey is no base64") from None
    if len(key) != 32 or not data or len(data) % 16:
        raise FetchFailed("the file is not AES-256-CBC encrypted with this key")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise FetchFailed("wrong padding after decryption (a wrong key?)")
    return plain[:-pad]


async def download(attachment: Mapping[str, Any], fallback_key: str | None, limit: int) -> bytes:
    key = attachment.get("aeskey") or fallback_key
    if not key:
        raise FetchFailed("no aeskey for the file")
    timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(str(attachment["url"])) as response:
            response.raise_for_status()
            if (response.content_length or 0) > limit + BLOCK:
                raise FileTooLarge(f"{response.content_length} bytes")
            data = await read_at_most(response.content.iter_any(), limit + BLOCK)  # padding adds up to a block
    except (aiohttp.ClientError, KeyError) as exc:
        raise FetchFailed(f"download: {exc}") from None
    return decrypt(data, key)
