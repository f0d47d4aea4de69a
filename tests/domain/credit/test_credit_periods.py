"""Calendar arithmetic: intervals, recurrences, Go AddDate, truncation, history windows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.credit import (
    UTC,
    ErrorCode,
    ExpirationDuration,
    HistoryRequestError,
    Interval,
    InvalidDatetimeError,
    InvalidIntervalError,
    Period,
    Recurrence,
    WindowSize,
    add_date,
    ceil_to_minute,
    ensure_utc,
    expiration_time,
    history_windows,
    truncate_to_minute,
    window_start,
)


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ------------------------------------------------------------------ intervals


@pytest.mark.parametrize(
    ("text", "expected", "iso", "name"),
    [
        ("DAY", Interval(days=1), "P1D", "DAY"),
        ("WEEK", Interval(weeks=1), "P1W", "WEEK"),
        ("MONTH", Interval(months=1), "P1M", "MONTH"),
        ("YEAR", Interval(years=1), "P1Y", "YEAR"),
        ("P2W", Interval(weeks=2), "P2W", None),
        ("P1M", Interval(months=1), "P1M", "MONTH"),
        ("PT6H", Interval(hours=6), "PT6H", None),
        ("P1Y2M3DT4H5M6S", Interval(years=1, months=2, days=3, hours=4, minutes=5, seconds=6), "P1Y2M3DT4H5M6S", None),
        ("p3d", Interval(days=3), "P3D", None),
    ],
)
def test_interval_parse_and_render(text, expected, iso, name):
    parsed = Interval.parse(text)
    assert parsed == expected
    assert parsed.iso == iso
    assert parsed.name == name


@pytest.mark.parametrize("text", ["", "P", "PT", "P1", "P1DT", "P0D", "PT0S", "-P1D", "P1.5D", "P1H", "HOUR", "1 day"])
def test_interval_rejects_invalid_text(text):
    with pytest.raises(InvalidIntervalError) as info:
        Interval.parse(text)
    assert info.value.code == ErrorCode.INVALID_INTERVAL


def test_interval_rejects_negative_components():
    with pytest.raises(InvalidIntervalError):
        Interval(days=-1, hours=30)


# ------------------------------------------------------------------ recurrences


def test_month_end_anchor_clamps_per_month_from_the_anchor_not_chained():
    rec = Recurrence("MONTH", T("2024-01-31T10:00:00+00:00"))
    boundaries = list(rec.occurrences(T("2024-01-01T00:00:00+00:00"), T("2024-07-01T00:00:00+00:00")))
    assert [b.date().isoformat() for b in boundaries] == [
        "2024-01-31",
        "2024-02-29",  # leap year
        "2024-03-31",  # back to the 31st: computed from the anchor, not from Feb 29
        "2024-04-30",
        "2024-05-31",
        "2024-06-30",
    ]
    assert all(b.hour == 10 for b in boundaries)


def test_month_end_clamping_in_a_common_year():
    rec = Recurrence("MONTH", T("2023-01-31T00:00:00+00:00"))
    assert rec.boundary(1) == T("2023-02-28T00:00:00+00:00")
    assert rec.boundary(2) == T("2023-03-31T00:00:00+00:00")


def test_leap_day_yearly_anchor():
    rec = Recurrence("YEAR", T("2024-02-29T00:00:00+00:00"))
    assert rec.boundary(1) == T("2025-02-28T00:00:00+00:00")
    assert rec.boundary(4) == T("2028-02-29T00:00:00+00:00")
    assert rec.boundary(-1) == T("2023-02-28T00:00:00+00:00")
    assert rec.period_at(T("2026-06-01T00:00:00+00:00")) == Period(
        T("2026-02-28T00:00:00+00:00"), T("2027-02-28T00:00:00+00:00")
    )


def test_period_containing_an_instant_before_the_anchor():
    rec = Recurrence("MONTH", T("2024-03-31T00:00:00+00:00"))
    assert rec.period_at(T("2024-02-15T12:00:00+00:00")) == Period(
        T("2024-01-31T00:00:00+00:00"), T("2024-02-29T00:00:00+00:00")
    )
    assert rec.period_at(T("2023-03-31T00:00:00+00:00")) == Period(
        T("2023-03-31T00:00:00+00:00"), T("2023-04-30T00:00:00+00:00")
    )


def test_period_boundaries_are_half_open():
    rec = Recurrence("DAY", T("2024-01-01T06:00:00+00:00"))
    assert rec.period_at(T("2024-01-05T06:00:00+00:00")).from_ == T("2024-01-05T06:00:00+00:00")
    assert rec.period_at(T("2024-01-05T05:59:59+00:00")).to == T("2024-01-05T06:00:00+00:00")


def test_iso_durations_p2w_and_pt6h():
    two_weeks = Recurrence("P2W", T("2024-01-01T00:00:00+00:00"))
    assert two_weeks.period_at(T("2024-01-20T00:00:00+00:00")) == Period(
        T("2024-01-15T00:00:00+00:00"), T("2024-01-29T00:00:00+00:00")
    )
    six_hours = Recurrence("PT6H", T("2024-01-01T03:00:00+00:00"))
    assert six_hours.period_at(T("2023-12-31T23:00:00+00:00")) == Period(
        T("2023-12-31T21:00:00+00:00"), T("2024-01-01T03:00:00+00:00")
    )


def test_next_and_previous_boundary():
    rec = Recurrence("MONTH", T("2024-01-15T00:00:00+00:00"))
    on = T("2024-03-15T00:00:00+00:00")
    assert rec.next_after(on) == T("2024-04-15T00:00:00+00:00")
    assert rec.next_after(on, inclusive=True) == on
    assert rec.previous_before(on) == on
    assert rec.previous_before(on, inclusive=False) == T("2024-02-15T00:00:00+00:00")
    assert rec.next_after(T("2023-11-20T00:00:00+00:00")) == T("2023-12-15T00:00:00+00:00")


def test_recurrence_far_from_anchor_is_exact():
    rec = Recurrence("MONTH", T("2000-01-31T00:00:00+00:00"))
    assert rec.period_at(T("2100-03-01T00:00:00+00:00")).from_ == T("2100-02-28T00:00:00+00:00")
    assert rec.period_at(T("1950-03-30T00:00:00+00:00")).from_ == T("1950-02-28T00:00:00+00:00")


def test_occurrences_bounds_flags():
    rec = Recurrence("DAY", T("2024-01-01T00:00:00+00:00"))
    start, end = T("2024-01-02T00:00:00+00:00"), T("2024-01-04T00:00:00+00:00")
    assert len(list(rec.occurrences(start, end))) == 2
    assert len(list(rec.occurrences(start, end, include_start=True))) == 3
    assert len(list(rec.occurrences(start, end, include_end=False))) == 1


# ------------------------------------------------------------------ Go AddDate / expiration


@pytest.mark.parametrize(
    ("start", "kwargs", "expected"),
    [
        ("2024-01-31T00:00:00+00:00", {"months": 1}, "2024-03-02T00:00:00+00:00"),
        ("2023-01-31T00:00:00+00:00", {"months": 1}, "2023-03-03T00:00:00+00:00"),
        ("2024-02-29T00:00:00+00:00", {"years": 1}, "2025-03-01T00:00:00+00:00"),
        ("2024-12-31T23:59:00+00:00", {"days": 1}, "2025-01-01T23:59:00+00:00"),
        ("2024-03-31T00:00:00+00:00", {"months": -1}, "2024-03-02T00:00:00+00:00"),
        ("2024-05-15T08:00:00+00:00", {"months": 13}, "2025-06-15T08:00:00+00:00"),
    ],
)
def test_add_date_overflows_like_go(start, kwargs, expected):
    assert add_date(T(start), **kwargs) == T(expected)


@pytest.mark.parametrize(
    ("duration", "count", "expected"),
    [
        (ExpirationDuration.HOUR, 5, "2024-01-31T15:00:00+00:00"),
        (ExpirationDuration.DAY, 1, "2024-02-01T10:00:00+00:00"),
        (ExpirationDuration.WEEK, 2, "2024-02-14T10:00:00+00:00"),
        (ExpirationDuration.MONTH, 1, "2024-03-02T10:00:00+00:00"),
        ("YEAR", 1, "2025-01-31T10:00:00+00:00"),
    ],
)
def test_grant_expiration_uses_add_date(duration, count, expected):
    assert expiration_time(T("2024-01-31T10:00:00+00:00"), duration, count) == T(expected)


def test_expiration_rejects_unknown_unit():
    with pytest.raises(InvalidIntervalError):
        expiration_time(T("2024-01-31T10:00:00+00:00"), "FORTNIGHT", 1)


# ------------------------------------------------------------------ truncation and UTC


def test_minute_truncation_and_ceiling():
    assert truncate_to_minute(T("2024-01-01T12:00:59.9+00:00")) == T("2024-01-01T12:00:00+00:00")
    assert ceil_to_minute(T("2024-01-01T12:00:00+00:00")) == T("2024-01-01T12:00:00+00:00")
    assert ceil_to_minute(T("2024-01-01T12:00:00.000001+00:00")) == T("2024-01-01T12:01:00+00:00")
    assert ceil_to_minute(T("2024-01-01T23:59:30+00:00")) == T("2024-01-02T00:00:00+00:00")


def test_offsets_are_normalised_to_utc():
    value = ensure_utc(T("2024-01-01T12:00:00+05:30"))
    assert value.tzinfo is UTC
    assert value == T("2024-01-01T06:30:00+00:00")
    assert truncate_to_minute(T("2024-01-01T12:00:30+05:30")).tzinfo is UTC


def test_naive_datetimes_are_rejected_with_a_clear_error():
    with pytest.raises(InvalidDatetimeError, match="timezone-aware") as info:
        Recurrence("DAY", datetime(2024, 1, 1))
    assert info.value.code == ErrorCode.NAIVE_DATETIME
    with pytest.raises(InvalidDatetimeError):
        truncate_to_minute(datetime(2024, 1, 1, 12, 0))
    with pytest.raises(InvalidDatetimeError):
        ensure_utc("2024-01-01")  # type: ignore[arg-type]


# ------------------------------------------------------------------ history windows


def test_day_windows_follow_dst_in_new_york():
    zone = "America/New_York"
    spring = history_windows(T("2024-03-09T05:00:00+00:00"), T("2024-03-12T04:00:00+00:00"), "DAY", zone)
    assert [w.duration for w in spring] == [timedelta(hours=24), timedelta(hours=23), timedelta(hours=24)]
    assert spring[1].from_ == T("2024-03-10T05:00:00+00:00")  # local midnight EST
    assert spring[1].to == T("2024-03-11T04:00:00+00:00")  # local midnight EDT

    autumn = history_windows(T("2024-11-03T04:00:00+00:00"), T("2024-11-04T05:00:00+00:00"), "DAY", zone)
    assert [w.duration for w in autumn] == [timedelta(hours=25)]


def test_hour_windows_across_the_repeated_hour_are_each_one_hour():
    zone = "America/New_York"
    windows = history_windows(T("2024-11-03T04:00:00+00:00"), T("2024-11-04T05:00:00+00:00"), "HOUR", zone)
    assert len(windows) == 25  # the local day has 25 hours
    assert all(w.duration == timedelta(hours=1) for w in windows)
    assert all(a.to == b.from_ for a, b in zip(windows, windows[1:]))
    local_starts = [w.from_.astimezone(ZoneInfo(zone)).hour for w in windows]
    assert local_starts.count(1) == 2  # 01:00 EDT and 01:00 EST


def test_hour_windows_in_a_half_hour_offset_zone():
    windows = history_windows(T("2024-01-01T00:10:00+00:00"), T("2024-01-01T02:00:00+00:00"), "HOUR", "Asia/Kolkata")
    assert [w.from_ for w in windows] == [
        T("2023-12-31T23:30:00+00:00"),
        T("2024-01-01T00:30:00+00:00"),
        T("2024-01-01T01:30:00+00:00"),
    ]


def test_month_windows_in_a_zone():
    windows = history_windows(
        T("2024-01-15T00:00:00+00:00"), T("2024-03-02T00:00:00+00:00"), "MONTH", "Europe/Budapest"
    )
    assert [w.from_ for w in windows] == [
        T("2023-12-31T23:00:00+00:00"),
        T("2024-01-31T23:00:00+00:00"),
        T("2024-02-29T23:00:00+00:00"),
    ]
    assert windows[-1].to == T("2024-03-31T22:00:00+00:00")  # DST started on Mar 31


def test_minute_windows_and_window_start():
    assert window_start(T("2024-01-01T10:15:42+00:00"), WindowSize.MINUTE) == T("2024-01-01T10:15:00+00:00")
    assert len(history_windows(T("2024-01-01T10:00:00+00:00"), T("2024-01-01T11:00:00+00:00"), "MINUTE")) == 60


def test_windows_accept_tzinfo_objects_and_reject_unknown_zones():
    fixed = timezone(timedelta(hours=2))
    assert window_start(T("2024-01-01T23:30:00+00:00"), "DAY", fixed) == T("2024-01-01T22:00:00+00:00")
    with pytest.raises(HistoryRequestError) as info:
        history_windows(T("2024-01-01T00:00:00+00:00"), T("2024-01-02T00:00:00+00:00"), "DAY", "Mars/Olympus")
    assert info.value.code == ErrorCode.INVALID_TIME_ZONE
    with pytest.raises(HistoryRequestError) as info:
        window_start(T("2024-01-01T00:00:00+00:00"), "WEEK")
    assert info.value.code == ErrorCode.INVALID_WINDOW_SIZE


def test_window_count_limit():
    with pytest.raises(HistoryRequestError) as info:
        history_windows(T("2024-01-01T00:00:00+00:00"), T("2024-01-02T00:00:00+00:00"), "MINUTE", max_windows=100)
    assert info.value.code == ErrorCode.HISTORY_TOO_MANY_WINDOWS
