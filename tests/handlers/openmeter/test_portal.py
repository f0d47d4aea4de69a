"""OpenMeter consumer portal tokens through the generated client, on every backend."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest

from generated.runtime import BadRequestError, NotFoundError
from tests.conftest import PORTAL_SECRET


def _claims(token: str) -> dict:
    return jwt.decode(token, PORTAL_SECRET, algorithms=["HS256"], issuer="openmeter")


def test_create_signs_a_token_for_the_subject(om):
    before = dt.datetime.now(dt.timezone.utc)
    created = om.create_portal_token(body={"subject": "customer-1"})
    assert len(created.id) == 26 and created.subject == "customer-1"
    assert created.allowed_meter_slugs is None and not created.expired
    # Default lifetime: one hour.
    assert dt.timedelta(minutes=59) < created.expires_at - before <= dt.timedelta(hours=1, seconds=1)
    claims = _claims(created.token)
    assert claims["sub"] == "customer-1" and claims["Id"] == created.id
    assert claims["exp"] == int(created.expires_at.timestamp())
    assert claims["AllowedMeterSlugs"] == []


def test_create_honours_expires_at_and_refuses_the_past(om):
    expires = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)).replace(microsecond=0)
    created = om.create_portal_token(body={"subject": "s", "expiresAt": expires.isoformat()})
    assert created.expires_at == expires
    with pytest.raises(BadRequestError):
        om.create_portal_token(body={"subject": "s", "expiresAt": "2020-01-01T00:00:00Z"})


def test_create_refuses_an_empty_subject_or_meter_list(om):
    with pytest.raises(BadRequestError):
        om.create_portal_token(body={"subject": ""})
    with pytest.raises(BadRequestError):
        om.create_portal_token(body={"subject": "s", "allowedMeterSlugs": []})
    assert om.list_portal_tokens() == []


def test_list_is_newest_first_without_invalidated_tokens(om):
    tokens = [om.create_portal_token(body={"subject": subject}) for subject in ("a", "b", "c", "a")]
    listed = om.list_portal_tokens()
    assert [t.id for t in listed] == [t.id for t in reversed(tokens)]
    assert all(t.token is None for t in listed)  # the token itself is only shown at creation
    assert [t.id for t in om.list_portal_tokens(limit=2)] == [tokens[3].id, tokens[2].id]

    om.invalidate_portal_tokens(body={"subject": "a"})
    assert [t.subject for t in om.list_portal_tokens()] == ["c", "b"]
    om.invalidate_portal_tokens(body={"id": tokens[1].id})
    assert [t.subject for t in om.list_portal_tokens()] == ["c"]
    # Invalidating again is harmless.
    om.invalidate_portal_tokens(body={"id": tokens[1].id})


def test_invalidate_needs_a_known_id_or_a_subject(om):
    token = om.create_portal_token(body={"subject": "a"})
    with pytest.raises(BadRequestError):
        om.invalidate_portal_tokens(body={})
    with pytest.raises(NotFoundError):
        om.invalidate_portal_tokens(body={"id": "01J0000000000000000000000Z"})
    with pytest.raises(NotFoundError):  # the token is not that subject's
        om.invalidate_portal_tokens(body={"id": token.id, "subject": "b"})
    om.invalidate_portal_tokens(body={"subject": "nobody"})  # no tokens: nothing to do
    assert [t.id for t in om.list_portal_tokens()] == [token.id]
