"""WeCom's callback envelope, shared by both WeCom platforms: the msg_signature over token,
timestamp, nonce and ciphertext, checked before anything is decrypted; a timestamp near now; AES
with the EncodingAESKey (wechatpy's crypto); and the URL check WeCom makes when a callback URL is saved.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from wechatpy.enterprise.crypto import PrpCrypto

from bot.runtime.clock import Clock


class CallbackRejected(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    return base64.b64decode(encoding_aes_key + "=")  # EncodingAESKey is base64 without its "="


class Envelope:
    """One callback URL's keys: `receive_id` is the corp id for an app, "" for an intelligent bot."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str, clock: Clock, max_skew_s: int):
        self.token, self.receive_id, self.clock, self.max_skew_s = token, receive_id, clock, max_skew_s
        self.crypto = PrpCrypto(aes_key(encoding_aes_key))

    def check(self, request: Request, encrypted: str) -> None:
        params = request.query_params
        timestamp, nonce, given = params.get("timestamp", ""), params.get("nonce", ""), params.get("msg_signature", "")
        if not (timestamp.isdigit() and nonce and given):
            raise CallbackRejected(400, "msg_signature, timestamp and nonce are required")
        expected = signature(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode(), given.lower().encode()):  # bytes: str refuses non-ASCII
            raise CallbackRejected(403, "wrong signature")
        if self.max_skew_s and abs(self.clock.now().timestamp() - int(timestamp)) > self.max_skew_s:
            raise CallbackRejected(403, "timestamp too far from now (a replay?)")

    def decrypt(self, encrypted: str) -> str:
        try:
            return self.crypto.decrypt(encrypted, self.receive_id)
        except Exception as exc:  # bad base64, padding or receive id: wechatpy raises several kinds
            raise CallbackRejected(400, f"cannot decrypt: {type(exc).__name__}") from None

    def opened(self, request: Request, encrypted: str) -> str:
        """The plaintext of a signed ciphertext: the signature checked first, then decrypted."""
        self.check(request, encrypted)
        return self.decrypt(encrypted)

    async def verify_url(self, request: Request) -> Response:
        """WeCom's URL check when the callback is configured: answer the decrypted echostr exactly."""
        echo = request.query_params.get("echostr", "")
        try:
            if not echo:
                raise CallbackRejected(400, "echostr is required")
            return PlainTextResponse(self.opened(request, echo))
        except CallbackRejected as exc:
            return PlainTextResponse(exc.reason, status_code=exc.status)
