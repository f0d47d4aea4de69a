"""OpenMeter meters and usage queries through the generated client, on every backend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from generated.runtime import BadRequestError, ConflictError, NotFoundError
from tests.conftest import OPENMETER_KEY

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 3, 1, tzinfo=UTC)


def ev(n: int, at: dt.datetime, subject: str = "alice", type_: str = "prompt", **data) -> dict:
    return {"id": f"ev-{n}", "source": "tests", "specversion": "1.0", "type": type_, "subject": subject,
            "time": at.isoformat().replace("+00:00", "Z"), "data": data}  # fmt: skip


def meter(om, slug="tokens", aggregation="SUM", value="$.tokens", group_by=None, **extra):
    body = {"slug": slug, "aggregation": aggregation, "eventType": "prompt", **extra}
    if aggregation != "COUNT":
        body["valueProperty"] = value
    if group_by:
        body["groupBy"] = group_by
    return om.create_meter(body=body)


def test_create_get_list_update_delete(om):
    created = meter(om, group_by={"model": "$.model"}, description="AI tokens")
    assert created.slug == "tokens" and created.name == "tokens" and created.group_by == {"model": "$.model"}
    assert om.get_meter(meter_id_or_slug="tokens").id == created.id
    assert om.get_meter(meter_id_or_slug=created.id).slug == "tokens"
    with pytest.raises(ConflictError):
        meter(om)

    updated = om.update_meter(meter_id_or_slug="tokens", body={"name": "Tokens", "groupBy": {"model": "$.model", "type": "$.type"}})
    assert updated.name == "Tokens" and updated.description == "AI tokens"
    assert updated.group_by == {"model": "$.model", "type": "$.type"}
    # PUT semantics: an omitted name becomes the slug, an omitted groupBy is cleared.
    replaced = om.update_meter(meter_id_or_slug=created.id, body={})
    assert replaced.name == "tokens" and replaced.group_by is None and replaced.aggregation == "SUM"

    om.delete_meter(meter_id_or_slug="tokens")
    with pytest.raises(NotFoundError):
        om.get_meter(meter_id_or_slug="tokens")
    assert om.get_meter(meter_id_or_slug=created.id).deleted_at is not None
    om.delete_meter(meter_id_or_slug=created.id)  # already deleted: no-op
    assert om.list_meters() == []
    assert [m.id for m in om.list_meters(include_deleted=True)] == [created.id]
    assert meter(om).id != created.id  # the slug is free again
    with pytest.raises(NotFoundError):
        om.update_meter(meter_id_or_slug="nope", body={})


def test_create_validation(om):
    with pytest.raises(BadRequestError):
        om.create_meter(body={"slug": "c", "aggregation": "COUNT", "eventType": "x", "valueProperty": "$.v"})
    with pytest.raises(BadRequestError):
        om.create_meter(body={"slug": "s", "aggregation": "SUM", "eventType": "x"})
    with pytest.raises(BadRequestError):
        om.create_meter(body={"slug": "s", "aggregation": "SUM", "eventType": "x", "valueProperty": "tokens"})
    with pytest.raises(BadRequestError):
        om.create_meter(body={"slug": "s", "aggregation": "SUM", "eventType": "x", "valueProperty": "$.v", "groupBy": {"v": "$.v"}})
    assert om.list_meters() == []


def test_list_meters_paginates_and_orders(om):
    for slug in ("c", "a", "b"):
        meter(om, slug=slug, aggregation="COUNT")
    assert [m.slug for m in om.list_meters()] == ["a", "b", "c"]
    assert [m.slug for m in om.list_meters(page=2, page_size=2)] == ["c"]
    assert [m.slug for m in om.list_meters(order="DESC")] == ["c", "b", "a"]


def test_every_aggregation_matches_the_reference_example(om):
    # openmeter-core.md 3.4: three events, then SUM/COUNT/AVG/MIN/MAX/UNIQUE_COUNT/LATEST.
    for aggregation in ("SUM", "COUNT", "AVG", "MIN", "MAX", "LATEST"):
        meter(om, slug=aggregation.lower(), aggregation=aggregation, value="$.value")
    meter(om, slug="unique_count", aggregation="UNIQUE_COUNT", value="$.name")
    om.ingest_events(body=[
        ev(1, T0, value=123, name=1), ev(2, T0 + dt.timedelta(minutes=1), value="0.4567890123456789", name="a"),
        ev(3, T0 + dt.timedelta(minutes=2), value=None, name=None),
    ], content_type="application/cloudevents-batch+json")  # fmt: skip
    expected = {"sum": "123.4567890123456789", "count": "3", "avg": "61.72839450617283945", "min": "0.4567890123456789",
                "max": "123", "latest": "0.4567890123456789", "unique_count": "2"}  # fmt: skip
    for slug, value in expected.items():
        result = om.query_meter(meter_id_or_slug=slug, from_=T0, to=T0 + dt.timedelta(hours=1))
        assert [row.value for row in result.data] == [Decimal(value)], slug
        row = result.data[0]
        assert (row.window_start, row.window_end, row.subject) == (T0, T0 + dt.timedelta(hours=1), None)


def test_windows_groups_filters_and_half_open_ranges(om):
    meter(om, group_by={"model": "$.model"})
    om.ingest_events(body=[
        ev(1, T0, tokens=10, model="gpt-4"), ev(2, T0 + dt.timedelta(minutes=59, seconds=59), tokens=5, model="gpt-3"),
        ev(3, T0 + dt.timedelta(hours=1), subject="bob", tokens=7, model="gpt-4"),
        ev(4, T0 + dt.timedelta(hours=2), tokens=1, model="gpt-4"),
    ], content_type="application/json")  # fmt: skip
    hourly = om.query_meter(meter_id_or_slug="tokens", window_size="HOUR", from_=T0, to=T0 + dt.timedelta(hours=2))
    assert [(r.window_start.hour, r.value) for r in hourly.data] == [(0, 15), (1, 7)]  # the event at `to` is out
    by_model = om.query_meter(meter_id_or_slug="tokens", group_by=["model"])
    assert sorted((r.group_by["model"], r.value) for r in by_model.data) == [("gpt-3", 5), ("gpt-4", 18)]
    # Without from/to the window is the minute-floor of the first and last events.
    assert by_model.data[0].window_start == T0
    by_subject = om.query_meter(meter_id_or_slug="tokens", subject=["bob", "alice"], window_size="DAY")
    assert [(r.subject, r.value) for r in by_subject.data] == [("alice", 16), ("bob", 7)]
    filtered = om.query_meter(meter_id_or_slug="tokens", filter_group_by={"model": "gpt-4"})
    assert [r.value for r in filtered.data] == [18]
    posted = om.query_meter_post(meter_id_or_slug="tokens", body={"filterGroupBy": {"model": ["gpt-3", "gpt-4"]},
                                                                    "groupBy": ["subject"], "windowSize": "MINUTE"})  # fmt: skip
    assert [(r.subject, r.window_start, r.value) for r in posted.data] == [
        ("alice", T0, 10), ("alice", T0 + dt.timedelta(minutes=59), 5), ("bob", T0 + dt.timedelta(hours=1), 7),
        ("alice", T0 + dt.timedelta(hours=2), 1),
    ]  # fmt: skip
    advanced = om.query_meter(meter_id_or_slug="tokens", advanced_meter_group_by_filters={"model": {"$ne": "gpt-4"}})
    assert [r.value for r in advanced.data] == [5]


def test_days_follow_the_time_zone_including_daylight_saving(om):
    meter(om, aggregation="COUNT")
    # Europe/Berlin switches to summer time on 2024-03-31: that day is 23 hours long.
    times = [dt.datetime(2024, 3, 30, 23, 30, tzinfo=UTC), dt.datetime(2024, 3, 31, 21, 59, tzinfo=UTC),
             dt.datetime(2024, 3, 31, 22, 0, tzinfo=UTC)]  # fmt: skip
    om.ingest_events(body=[ev(i, t) for i, t in enumerate(times)], content_type="application/cloudevents-batch+json")
    result = om.query_meter(meter_id_or_slug="tokens", window_size="DAY", window_time_zone="Europe/Berlin")
    rows = [(r.window_start, r.window_end - r.window_start, r.value) for r in result.data]
    assert rows == [
        (dt.datetime(2024, 3, 30, 23, tzinfo=UTC), dt.timedelta(hours=23), 2),
        (dt.datetime(2024, 3, 31, 22, tzinfo=UTC), dt.timedelta(hours=24), 1),
    ]
    assert result.data[0].window_start.utcoffset() == dt.timedelta(hours=1)
    monthly = om.query_meter(meter_id_or_slug="tokens", window_size="MONTH", window_time_zone="Europe/Berlin")
    assert [(r.window_start.month, r.value) for r in monthly.data] == [(3, 2), (4, 1)]


def test_empty_results(om):
    meter(om, slug="count", aggregation="COUNT")
    meter(om, slug="sum")
    only = om.query_meter(meter_id_or_slug="count")
    assert [(r.value, r.window_start) for r in only.data] == [(0, dt.datetime(1970, 1, 1, tzinfo=UTC))]
    assert om.query_meter(meter_id_or_slug="count", window_size="HOUR").data == []
    assert om.query_meter(meter_id_or_slug="sum").data == []


def test_query_errors(om):
    meter(om)
    with pytest.raises(NotFoundError):
        om.query_meter(meter_id_or_slug="missing")
    for kwargs in ({"from_": T0, "to": T0}, {"from_": T0, "to": T0 - dt.timedelta(hours=1)}, {"group_by": ["nope"]},
                   {"window_time_zone": "Mars/Olympus"}, {"filter_group_by": {"nope": "x"}}):  # fmt: skip
        with pytest.raises(BadRequestError):
            om.query_meter(meter_id_or_slug="tokens", **kwargs)


def test_csv(om, clean_server):
    meter(om)
    om.ingest_events(body=[ev(1, T0, tokens=300), ev(2, T0 + dt.timedelta(minutes=5), subject="s2", tokens=1)], content_type="application/json")
    text = om.query_meter(meter_id_or_slug="tokens", window_size="HOUR", subject=["alice"], accept="text/csv")
    assert text == "window_start,window_end,subject,value\n2024-03-01T00:00:00Z,2024-03-01T01:00:00Z,alice,300.000000\n"
    response = httpx.get(f"{clean_server.url}/api/v1/meters/tokens/query", headers={"Authorization": f"Bearer {OPENMETER_KEY}", "Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]


def test_subjects_and_group_by_values(om):
    meter(om, group_by={"model": "$.model"})
    om.ingest_events(body=[ev(1, T0, subject="b", model="x"), ev(2, T0, subject="a", model="y"), ev(3, T0, subject="b")], content_type="application/json")
    assert om.list_meter_subjects(meter_id_or_slug="tokens") == ["a", "b"]
    assert om.list_meter_subjects(meter_id_or_slug="tokens", from_=T0 + dt.timedelta(seconds=1)) == []
    values = om.list_meter_group_by_values(meter_id_or_slug="tokens", group_by_key="model", from_=T0 - dt.timedelta(days=1))
    assert values == ["", "x", "y"]
    with pytest.raises(NotFoundError):
        om.list_meter_group_by_values(meter_id_or_slug="tokens", group_by_key="nope")


def test_update_group_by_rederives_usage(om):
    meter(om)
    om.ingest_events(body=[ev(1, T0, tokens=1, model="a"), ev(2, T0, tokens=2, model="b")], content_type="application/json")
    om.update_meter(meter_id_or_slug="tokens", body={"groupBy": {"model": "$.model"}})
    rows = om.query_meter(meter_id_or_slug="tokens", group_by=["model"]).data
    assert sorted((r.group_by["model"], r.value) for r in rows) == [("a", 1), ("b", 2)]


def test_the_official_openmeter_sdk_creates_meters_ingests_and_queries(clean_server):
    from openmeter import Client

    with Client(endpoint=clean_server.url, token=OPENMETER_KEY) as client:
        created = client.meters.create({"slug": "sdk_tokens", "aggregation": "SUM", "eventType": "prompt",
                                        "valueProperty": "$.tokens", "groupBy": {"model": "$.model"}})  # fmt: skip
        assert created.slug == "sdk_tokens"
        assert [m.slug for m in client.meters.list()] == ["sdk_tokens"]
        client.events.ingest_event(ev(1, T0, subject="sdk", tokens=2, model="a"))
        client.events.ingest_events([ev(2, T0 + dt.timedelta(hours=1), subject="sdk", tokens="0.5", model="b"),
                                     ev(3, T0, subject="other", tokens=4, model="a")])  # fmt: skip
        result = client.meters.query_json("sdk_tokens", subject=["sdk"], window_size="HOUR",
                                          from_parameter=T0, to=T0 + dt.timedelta(days=1))  # fmt: skip
        assert [(row.subject, Decimal(str(row.value))) for row in result.data] == [("sdk", Decimal(2)), ("sdk", Decimal("0.5"))]
        assert client.meters.list_subjects("sdk_tokens") == ["other", "sdk"]
        assert sorted(e.event.id for e in client.events.list(from_parameter=T0 - dt.timedelta(days=1))) == ["ev-1", "ev-2", "ev-3"]
        client.meters.delete("sdk_tokens")
        assert client.meters.list() == []


def test_live_features_block_deleting_the_meter_and_removing_their_group_by(om):
    meter(om, group_by={"model": "$.model", "region": "$.region"})
    om.create_feature(body={"key": "gpt4", "name": "GPT-4", "meterSlug": "tokens", "meterGroupByFilters": {"model": "gpt-4"}})
    with pytest.raises(ConflictError):
        om.delete_meter(meter_id_or_slug="tokens")
    with pytest.raises(ConflictError):
        om.update_meter(meter_id_or_slug="tokens", body={"groupBy": {"region": "$.region"}})
    assert om.update_meter(meter_id_or_slug="tokens", body={"groupBy": {"model": "$.model"}}).group_by == {"model": "$.model"}
    om.delete_feature(feature_id="gpt4")
    om.delete_meter(meter_id_or_slug="tokens")
    assert om.list_meters() == []


def test_customer_filter_uses_subject_keys_and_the_customer_key(om):
    meter(om)
    acme = om.create_customer(body={"name": "Acme", "key": "acme", "usageAttribution": {"subjectKeys": ["acme-a", "acme-b"]}})
    beta = om.create_customer(body={"name": "Beta", "usageAttribution": {"subjectKeys": ["beta-1"]}})
    om.ingest_events(body=[ev(1, T0, subject="acme-a", tokens=1), ev(2, T0, subject="acme-b", tokens=2),
                           ev(3, T0, subject="acme", tokens=4), ev(4, T0, subject="beta-1", tokens=8),
                           ev(5, T0, subject="nobody", tokens=16)], content_type="application/json")  # fmt: skip
    result = om.query_meter(meter_id_or_slug="tokens", filter_customer_id=[acme.id, beta.id])
    assert sorted((row.customer_id, row.value) for row in result.data) == sorted([(acme.id, 7), (beta.id, 8)])
    grouped = om.query_meter_post(meter_id_or_slug="tokens", body={"filterCustomerId": [acme.id], "groupBy": ["customer_id", "subject"]})
    assert sorted((row.customer_id, row.subject, row.value) for row in grouped.data) == [
        (acme.id, "acme", 4), (acme.id, "acme-a", 1), (acme.id, "acme-b", 2)]
    with pytest.raises(NotFoundError):
        om.query_meter(meter_id_or_slug="tokens", filter_customer_id=["01G65Z755AFWAKHE12NY0CQ9FH"])
    with pytest.raises(BadRequestError):
        om.query_meter(meter_id_or_slug="tokens", group_by=["customer_id"])
    listed = om.list_events(customer_id=[acme.id], from_=T0 - dt.timedelta(days=1))
    assert sorted(item.event.subject for item in listed) == ["acme", "acme-a", "acme-b"]
    assert {item.customer_id for item in listed} == {acme.id}
