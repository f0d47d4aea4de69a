"""The runtime every generated client shares: parameter styles, exact decimals, typed errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import httpx
import pytest

from generated import runtime
from generated.runtime import QueryParam


def test_query_styles_follow_the_spec():
    pairs = runtime.encode_query(
        [
            QueryParam("subject", ["a", "b"], explode=True),
            QueryParam("groupBy", ["x", "y"], explode=False),
            QueryParam("filterGroupBy", {"model": "gpt-4"}, style="deepObject"),
            QueryParam("from", dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)),
            QueryParam("includeDeleted", True),
            QueryParam("filter", {"subject": {"$eq": "a"}}, json_content=True),
            QueryParam("skipped", None),
        ]
    )
    assert pairs == [
        ("subject", "a"),
        ("subject", "b"),
        ("groupBy", "x,y"),
        ("filterGroupBy[model]", "gpt-4"),
        ("from", "2024-01-01T00:00:00Z"),
        ("includeDeleted", "true"),
        ("filter", '{"subject":{"$eq":"a"}}'),
    ]


def test_decimals_round_trip_exactly_as_json_numbers():
    assert runtime.dumps({"amount": Decimal("0.1") + Decimal("0.2")}) == '{"amount":0.3}'
    assert runtime.loads('{"v": 123.45678901234567890123}')["v"] == Decimal("123.45678901234567890123")


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        runtime.format_datetime(dt.datetime(2024, 1, 1))


def _client(handler) -> runtime.BaseClient:
    return runtime.BaseClient("http://api.test", http_client=httpx.Client(transport=httpx.MockTransport(handler)),
                              retry=runtime.RetryPolicy(max_retries=2, backoff=0))  # fmt: skip


def test_errors_are_typed_and_carry_the_body():
    client = _client(lambda request: httpx.Response(404, json={"detail": "meter not found"}))
    with pytest.raises(runtime.NotFoundError) as error:
        client._request("getMeter", "GET", "/x", responses={200: dict})
    assert error.value.status == 404
    assert error.value.message == "meter not found"
    assert error.value.body == {"detail": "meter not found"}


def test_idempotent_calls_are_retried_and_others_are_not():
    calls = []

    def flaky(request):
        calls.append(request.method)
        return httpx.Response(503 if len(calls) < 3 else 200, json={})

    assert _client(flaky)._request("op", "GET", "/x", responses={200: dict}) == {}
    assert calls == ["GET", "GET", "GET"]
    calls.clear()
    with pytest.raises(runtime.ServerError):
        _client(flaky)._request("op", "POST", "/x", responses={200: dict})
    assert calls == ["POST"]


def test_pages_are_followed_until_the_total():
    class Page:
        def __init__(self, items, total):
            self.items, self.total_count = items, total

    data = list(range(7))

    def call(page, page_size):
        return Page(data[(page - 1) * page_size : page * page_size], len(data))

    assert list(runtime.iter_pages(call, page_size=3)) == data
