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


# --- the portal meter query -----------------------------------------------------------------------


def _meter_and_usage(om, slug: str = "tokens") -> None:
    om.create_meter(body={"slug": slug, "aggregation": "SUM", "eventType": slug, "valueProperty": "$.tokens",
                          "groupBy": {"model": "$.model"}})  # fmt: skip
    events = [
        ("alice", "2025-01-01T10:00:00Z", 5, "a"),
        ("alice", "2025-01-01T11:30:00Z", 7, "b"),
        ("alice", "2025-01-02T09:00:00Z", 1, "a"),
        ("bob", "2025-01-01T10:00:00Z", 100, "a"),
    ]
    om.ingest_events(body=[
        {"specversion": "1.0", "id": f"{slug}-{index}", "source": "tests", "type": slug, "subject": subject, "time": time,
         "data": {"tokens": tokens, "model": model}}
        for index, (subject, time, tokens, model) in enumerate(events)
    ], content_type="application/cloudevents-batch+json")  # fmt: skip


def _portal(clean_server, token: str):
    from generated.openmeter.client import OpenMeterClient
    from generated.runtime import NO_RETRY

    return OpenMeterClient(clean_server.url, token=token, retry=NO_RETRY)


def test_portal_query_serves_only_the_token_subject(om, clean_server):
    _meter_and_usage(om)
    token = om.create_portal_token(body={"subject": "alice", "allowedMeterSlugs": ["tokens"]}).token
    with _portal(clean_server, token) as portal:
        total = portal.query_portal_meter(meter_slug="tokens")
        assert [(row.subject, row.value) for row in total.data] == [("alice", 13)]

        daily = portal.query_portal_meter(meter_slug="tokens", window_size="DAY", from_=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
                                          to=dt.datetime(2025, 1, 3, tzinfo=dt.timezone.utc))  # fmt: skip
        assert [(row.window_start.day, row.value) for row in daily.data] == [(1, 12), (2, 1)]

        by_model = portal.query_portal_meter(meter_slug="tokens", group_by=["model"])
        assert sorted((row.group_by["model"], row.value) for row in by_model.data) == [("a", 6), ("b", 7)]

        # The customer filter is ignored: the token's subject is the whole scope.
        bob = om.create_customer(body={"name": "Bob", "key": "bob", "usageAttribution": {"subjectKeys": ["bob"]}})
        ignored = portal.query_portal_meter(meter_slug="tokens", filter_customer_id=[bob.id])
        assert [row.value for row in ignored.data] == [13]


def test_portal_query_refuses_other_meters_bad_tokens_and_invalidated_tokens(om, clean_server):
    from generated.runtime import UnauthorizedError

    _meter_and_usage(om, "tokens")
    _meter_and_usage(om, "other")
    scoped = om.create_portal_token(body={"subject": "alice", "allowedMeterSlugs": ["tokens"]})
    unscoped = om.create_portal_token(body={"subject": "alice"})

    with _portal(clean_server, scoped.token) as portal:
        assert portal.query_portal_meter(meter_slug="tokens").data[0].value == 13
        with pytest.raises(UnauthorizedError):
            portal.query_portal_meter(meter_slug="other")
    with _portal(clean_server, unscoped.token) as portal:
        assert portal.query_portal_meter(meter_slug="other").data[0].value == 13
        with pytest.raises(NotFoundError):
            portal.query_portal_meter(meter_slug="nothing_here")

    forged = jwt.encode({"iss": "openmeter", "sub": "bob", "exp": 4102444800, "Id": scoped.id}, "wrong-secret", algorithm="HS256")
    expired = jwt.encode({"iss": "openmeter", "sub": "alice", "exp": 1_600_000_000, "Id": scoped.id}, PORTAL_SECRET, algorithm="HS256")
    # Signed correctly but never issued (no record): refused too.
    unknown = jwt.encode({"iss": "openmeter", "sub": "alice", "exp": 4102444800, "Id": "01J0000000000000000000000Z"},
                         PORTAL_SECRET, algorithm="HS256")  # fmt: skip
    for bad in (forged, expired, unknown, "not-a-jwt"):
        with _portal(clean_server, bad) as portal, pytest.raises(UnauthorizedError):
            portal.query_portal_meter(meter_slug="tokens")
    # The admin API key is not a portal token.
    with pytest.raises(UnauthorizedError):
        om.query_portal_meter(meter_slug="tokens")

    om.invalidate_portal_tokens(body={"id": scoped.id})
    with _portal(clean_server, scoped.token) as portal, pytest.raises(UnauthorizedError):
        portal.query_portal_meter(meter_slug="tokens")
    om.invalidate_portal_tokens(body={"subject": "alice"})
    with _portal(clean_server, unscoped.token) as portal, pytest.raises(UnauthorizedError):
        portal.query_portal_meter(meter_slug="other")


def test_portal_token_for_unknown_meter_is_404(om):
    _meter_and_usage(om)
    with pytest.raises(NotFoundError):
        om.create_portal_token(body={"subject": "alice", "allowedMeterSlugs": ["tokens", "missing"]})
    om.delete_meter(meter_id_or_slug="tokens")
    with pytest.raises(NotFoundError):
        om.create_portal_token(body={"subject": "alice", "allowedMeterSlugs": ["tokens"]})


def test_portal_query_with_client_id_records_progress(om, clean_server):
    _meter_and_usage(om)
    token = om.create_portal_token(body={"subject": "alice"}).token
    with _portal(clean_server, token) as portal:
        portal.query_portal_meter(meter_slug="tokens", window_size="DAY", client_id="dashboard-1")
    progress = om.get_progress(id="dashboard-1")
    assert (progress.success, progress.failed, progress.total) == (2, 0, 2)


def test_the_official_openmeter_sdk_issues_uses_and_invalidates_portal_tokens(om, clean_server):
    from corehttp.exceptions import HttpResponseError
    from openmeter import Client

    from tests.conftest import OPENMETER_KEY

    _meter_and_usage(om)
    with Client(endpoint=clean_server.url, token=OPENMETER_KEY) as admin:
        issued = admin.portal.portal_tokens.create({"subject": "alice", "allowedMeterSlugs": ["tokens"]})
        assert issued.subject == "alice" and list(issued.allowed_meter_slugs) == ["tokens"] and issued.token
        assert [t.id for t in admin.portal.portal_tokens.list()] == [issued.id]
        assert any(c.code == "USD" for c in admin.currencies.list_currencies())

        with Client(endpoint=clean_server.url, token=issued.token) as consumer:
            result = consumer.portal.portal_meters.query_json("tokens", window_size="DAY")
            assert [(row.subject, row.value) for row in result.data] == [("alice", 12), ("alice", 1)]

            admin.portal.portal_tokens.invalidate({"id": issued.id})
            with pytest.raises(HttpResponseError) as error:
                consumer.portal.portal_meters.query_json("tokens")
            assert error.value.status_code == 401
        assert admin.portal.portal_tokens.list() == []


def test_portal_query_refuses_bad_parameters_with_400(om, clean_server):
    _meter_and_usage(om)
    token = om.create_portal_token(body={"subject": "alice"}).token
    later, earlier = dt.datetime(2025, 1, 2, tzinfo=dt.timezone.utc), dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    with _portal(clean_server, token) as portal:
        for bad in ({"window_time_zone": "Mars/Olympus_Mons"}, {"from_": later, "to": earlier}, {"group_by": ["nope"]},
                    {"filter_group_by": {"nope": "x"}}):  # fmt: skip
            with pytest.raises(BadRequestError):
                portal.query_portal_meter(meter_slug="tokens", **bad)
        csv = portal.query_portal_meter(meter_slug="tokens", window_size="DAY", accept="text/csv")
        assert csv.splitlines()[0].startswith("window_start") and len(csv.strip().splitlines()) == 3
