"""Webhook signing in the Svix / Standard Webhooks scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac

from domain.notifications import signing


def test_signature_is_base64_hmac_sha256_of_id_timestamp_body_with_decoded_secret():
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"id":"evt","type":"invoice.created"}'
    expected = base64.b64encode(hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()).decode()
    assert signing.signature(secret, "msg_1", 1700000000, body) == "v1," + expected
    # The whsec_ prefix is optional.
    assert signing.signature(base64.b64encode(key).decode(), "msg_1", 1700000000, body) == "v1," + expected


def test_signed_headers_verify_and_tampering_does_not():
    secret = signing.generate_secret()
    headers = signing.signed_headers(secret, "01J2KNP1YTXQRXHTDJ4KPR7PZ0", 1700000000, b"{}")
    assert headers["webhook-id"] == headers["svix-id"] == "01J2KNP1YTXQRXHTDJ4KPR7PZ0"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"].startswith("v1,")
    assert signing.verify(secret, headers, b"{}")
    assert not signing.verify(secret, headers, b"{ }")
    assert not signing.verify(signing.generate_secret(), headers, b"{}")


def test_generated_secrets_are_whsec_and_32_random_bytes():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(signing.secret_key(secret)) == 32
    assert signing.generate_secret() != secret
    assert signing.is_valid_secret(secret)


def test_secret_validation():
    assert signing.is_valid_secret("whsec_S6g2HLnTwd9AhHwUIMFggVS9OfoPafN8")
    assert not signing.is_valid_secret("whsec_short")
    assert not signing.is_valid_secret("whsec_" + "=" * 40)  # not base64
    assert not signing.is_valid_secret("whsec_" + "A" * 33)  # not whole base64 quanta
