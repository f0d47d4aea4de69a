"""OpenMeter event ingest and listing through the generated client (and raw HTTP), on every backend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from generated.runtime import BadRequestError, NotFoundError
from tests.conftest import OPENMETER_KEY

UTC = dt.timezone.utc


def ev(n, *, minutes_ago: float = 1, subject="alice", type_="prompt", source="tests", **data) -> dict:
    at = dt.datetime.now(UTC) - dt.timedelta(minutes=minutes_ago)
    event = {"id": f"ev-{n}", "source": source, "specversion": "1.0", "type": type_, "subject": subject,
             "time": at.isoformat(), "data": data}  # fmt: skip
    return event


def count(om, slug="calls") -> Decimal:
    rows = om.query_meter(meter_id_or_slug=slug).data
    return rows[0].value if rows else Decimal(0)


@pytest.fixture
def calls(om):
    return om.create_meter(body={"slug": "calls", "aggregation": "COUNT", "eventType": "prompt"})


def test_every_content_type_and_dedupe(om, calls):
    om.ingest_events(body=ev(1), content_type="application/cloudevents+json")
    om.ingest_events(body=[ev(2), ev(3), ev(2)], content_type="application/cloudevents-batch+json")
    om.ingest_events(body=ev(4), content_type="application/json")
    om.ingest_events(body=[ev(5), ev(1)], content_type="application/json")
    om.ingest_events(body=[], content_type="application/cloudevents-batch+json")
    assert count(om) == 5
    # Same id, other source: a different event.
    om.ingest_events(body=ev(1, source="elsewhere"), content_type="application/cloudevents+json")
    assert count(om) == 6


def test_dedupe_first_wins_like_the_e2e_suite(om, calls):
    om.ingest_events(body=[ev(7, minutes_ago=i) for i in range(1000)], content_type="application/cloudevents-batch+json")
    assert count(om) == 1


def test_one_invalid_event_rejects_the_batch(om, calls):
    bad = ev(2)
    bad["data"] = "not an object"
    with pytest.raises(BadRequestError):
        om.ingest_events(body=[ev(1), bad], content_type="application/cloudevents-batch+json")
    with pytest.raises(BadRequestError):
        om.ingest_events(body=[], content_type="application/json")
    with pytest.raises(BadRequestError):
        om.ingest_events(body={**ev(3), "time": "yesterday"}, content_type="application/cloudevents+json")
    assert count(om) == 0


def test_missing_time_is_now_and_listing(om, calls):
    event = ev(1, subject="bob", tokens=3)
    del event["time"]
    before = dt.datetime.now(UTC).replace(microsecond=0)
    om.ingest_events(body=event, content_type="application/cloudevents+json")
    om.ingest_events(body=[ev(2, minutes_ago=10, subject="alice"), ev(3, minutes_ago=5, type_="other")],
                     content_type="application/json")  # fmt: skip
    listed = om.list_events()
    assert [item.event.id for item in listed] == ["ev-1", "ev-3", "ev-2"]  # newest first
    assert listed[0].event.time >= before and listed[0].event.data == {"tokens": 3}
    assert listed[1].validation_error.startswith("no meter found for event type: other")
    assert [item.event.id for item in om.list_events(subject="bo")] == ["ev-1"]  # partial match
    assert [item.event.id for item in om.list_events(id="v-2")] == ["ev-2"]
    assert [item.event.id for item in om.list_events(limit=1)] == ["ev-1"]
    old = om.list_events(to=dt.datetime.now(UTC) - dt.timedelta(minutes=7))
    assert [item.event.id for item in old] == ["ev-2"]
    with pytest.raises(NotFoundError):
        om.list_events(customer_id=["01G65Z755AFWAKHE12NY0CQ9FH"])


def test_list_v2_cursor_and_filters(om, calls):
    om.ingest_events(body=[ev(i, minutes_ago=i, subject=f"s{i % 2}") for i in range(5)], content_type="application/json")
    first = om.list_events_v2(limit=2)
    assert [item.event.id for item in first.items] == ["ev-0", "ev-1"]
    second = om.list_events_v2(limit=2, cursor=first.next_cursor)
    assert [item.event.id for item in second.items] == ["ev-2", "ev-3"]
    third = om.list_events_v2(limit=2, cursor=second.next_cursor)
    assert [item.event.id for item in third.items] == ["ev-4"]
    assert om.list_events_v2(cursor=third.next_cursor).items == []
    filtered = om.list_events_v2(filter={"subject": {"$eq": "s1"}})
    assert [item.event.id for item in filtered.items] == ["ev-1", "ev-3"]
    recent = om.list_events_v2(filter={"time": {"$gte": (dt.datetime.now(UTC) - dt.timedelta(minutes=2.5)).isoformat()}})
    assert [item.event.id for item in recent.items] == ["ev-0", "ev-1", "ev-2"]
    assert om.list_events_v2(cursor="not-a-cursor").items == []


def test_content_type_not_json_is_refused(clean_server, calls):
    response = httpx.post(f"{clean_server.url}/api/v1/events", content=b"<xml/>",
                          headers={"Authorization": f"Bearer {OPENMETER_KEY}", "Content-Type": "application/xml"})  # fmt: skip
    assert 400 <= response.status_code < 500


def test_debug_metrics(om, clean_server, calls):
    om.ingest_events(body=[ev(1, subject="a"), ev(2, subject="a"), ev(3, subject="b")], content_type="application/json")
    text = httpx.get(f"{clean_server.url}/api/v1/debug/metrics", headers={"Authorization": f"Bearer {OPENMETER_KEY}"}).text
    assert 'openmeter_events_total{subject="a"} 2' in text and 'openmeter_events_total{subject="b"} 1' in text
