"""Webhook signatures in the Svix / Standard Webhooks scheme (DECISIONS.md ruling 9).

A secret is `whsec_` + base64 of random bytes; the HMAC key is the base64-decoded part. The signature
of a message is `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`; the receiver gets it in
`webhook-signature` (and `svix-signature`) beside `webhook-id` and `webhook-timestamp`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

PREFIX = "whsec_"
# Stricter than the upstream pattern (documented in the overlay): whole base64 quanta, so every
# accepted secret decodes to a key.
SECRET_PATTERN = r"^(whsec_)?(?:[A-Za-z0-9+/]{4}){8,24}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
_SECRET = re.compile(SECRET_PATTERN)


def generate_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def is_valid_secret(secret: str) -> bool:
    if not _SECRET.search(secret):
        return False
    try:
        return bool(secret_key(secret))
    except ValueError:
        return False


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret (the prefix is optional)."""
    encoded = secret[len(PREFIX):] if secret.startswith(PREFIX) else secret
    try:
        return base64.b64decode(encoded.strip())
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"signing secret is not valid base64: {error}") from None


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    sig = signature(secret, message_id, timestamp, body)
    headers = {}
    for prefix in ("webhook", "svix"):
        headers[f"{prefix}-id"] = message_id
        headers[f"{prefix}-timestamp"] = str(timestamp)
        headers[f"{prefix}-signature"] = sig
    return headers


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """True when one of the `v1,` signatures in `webhook-signature` matches (what a receiver does)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id, timestamp = lowered.get("webhook-id", ""), lowered.get("webhook-timestamp", "")
    if not message_id or not timestamp.isdigit():
        return False
    expected = signature(secret, message_id, int(timestamp), body)
    return any(hmac.compare_digest(candidate, expected) for candidate in lowered.get("webhook-signature", "").split())
