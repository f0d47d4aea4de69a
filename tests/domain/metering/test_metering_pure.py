"""Pure metering rules: JSONPath values, event validation, filters, windows (no database)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from domain.errors import ValidationError
from domain.metering.events import ceil_seconds, dedupe, epoch_seconds, validate_events
from domain.metering.jsonpath import extract_text, is_valid_path, numeric, parse_path
from domain.metering.query import _local_starts, time_zone, validate_filter

NOW = dt.datetime(2024, 1, 1, 12, 0, 0, 500000, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("data", "path", "text"), [
    ({"a": {"b": 5}}, "$.a.b", "5"), ({"a": "100"}, "$.a", "100"), ({"a": None}, "$.a", None),
    ({"a": {"b": 1}}, "$.a", ""), ({}, "$.a", ""), ({"a": [1, 2]}, "$.a[1]", "2"), ({"a": True}, "$.a", "true"),
    ({"a": 0.1}, "$.a", "0.1"),
])  # fmt: skip
def test_json_value_semantics(data, path, text):
    assert extract_text(data, parse_path(path)) == text


def test_numbers_are_exact_and_non_numbers_are_null():
    assert numeric("0.4567890123456789") == Decimal("0.4567890123456789")
    assert numeric("123456789012345678901234567890.000000001") == Decimal("123456789012345678901234567890.000000001")
    assert numeric("-0") == 0 and numeric("1e3") == 1000
    for text in ("", "abc", "NaN", "Infinity", "true", None, "1e999"):
        assert numeric(text) is None
    assert is_valid_path("$.a.b") and not is_valid_path("a.b") and not is_valid_path("$")


def test_event_validation_collects_every_problem_and_defaults_time():
    good = {"id": "1", "source": "s", "specversion": "1.0", "type": "t", "subject": "x"}
    [event] = validate_events([good], now=NOW)
    assert event.time == epoch_seconds(NOW) and event.data is None
    with pytest.raises(ValidationError) as error:
        validate_events([good, {**good, "id": ""}, {**good, "data": []}, {**good, "time": "nope"}], now=NOW)
    assert [p.field for p in error.value.problems] == ["[1].id", "[2].data", "[3].time"]
    first, second = validate_events([good, {**good, "time": "2024-01-01T01:00:00.9+01:00"}], now=NOW)
    assert second.time == epoch_seconds(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))  # sub-seconds dropped
    assert dedupe([first, first, second]) == [first]


def test_second_rounding_keeps_ranges_half_open():
    assert ceil_seconds(NOW) == epoch_seconds(NOW) + 1
    assert ceil_seconds(NOW.replace(microsecond=0)) == epoch_seconds(NOW)


def test_filters_and_time_zones():
    assert validate_filter({"$eq": "a", "$ne": None, "other": 1}, "f") == {"$eq": "a"}
    assert validate_filter({"$or": [{"$in": ["a"]}, {"$like": "b%"}]}, "f") == {"$or": [{"$in": ["a"]}, {"$like": "b%"}]}
    with pytest.raises(ValidationError):
        validate_filter({"$in": "a"}, "f")
    with pytest.raises(ValidationError):
        time_zone("Mars/Olympus")
    assert time_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")


def test_local_days_and_months_follow_daylight_saving():
    berlin = ZoneInfo("Europe/Berlin")
    first = epoch_seconds(dt.datetime(2024, 3, 30, 12, tzinfo=berlin))
    last = epoch_seconds(dt.datetime(2024, 4, 1, 12, tzinfo=berlin))
    starts = _local_starts(first, last, "DAY", berlin)
    assert [b - a for a, b in zip(starts, starts[1:])] == [86400, 82800, 86400]
    months = _local_starts(first, last, "MONTH", berlin)
    assert [dt.datetime.fromtimestamp(s, berlin).date().isoformat() for s in months] == ["2024-03-01", "2024-04-01", "2024-05-01"]


@pytest.mark.parametrize("raw", [
    "2024-05-01T10:00:00Z", "2024-02-29T23:59:59z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
    "2023-02-29T10:00:00Z", "0000-01-01T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T10:60:00Z", "2024-05-01T10:00:60Z",
    "2024-13-01T10:00:00Z", "2024-05-01T1\uff10:00:00Z", "2024-05-01 10:00:00Z", "2024-05-01T10:00:00Z\n",
    "2024-05-01T10:00:00.999Z", "2024-05-01T10:00:00-02:30",
])  # fmt: skip
def test_batch_times_read_like_single_times(raw):
    """The whole-second UTC shortcut of batch validation gives what a lone event's time gives."""
    many = validate_events([{"id": str(i), "source": "s", "specversion": "1.0", "type": "t", "subject": "u", "time": raw} for i in range(2)],
                           now=NOW) if _valid(raw) else None  # fmt: skip
    if many is None:
        with pytest.raises(ValidationError, match="RFC 3339"):
            validate_events([{"id": "1", "source": "s", "specversion": "1.0", "type": "t", "subject": "u", "time": raw}] * 2, now=NOW)
    else:
        parsed = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        assert [e.time for e in many] == [epoch_seconds(parsed)] * 2


def _valid(raw: str) -> bool:
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return raw[10] in "Tt" and value.tzinfo is not None and raw.isascii() and not raw.endswith("\n")
