"""The worked examples of openmeter-core.md section 7.8 (A-H), at engine level."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from domain.credit import (
    ExpirationDuration,
    InMemoryUsageSource,
    MeterAggregation,
    Recurrence,
    Reset,
    WindowSize,
    add_date,
    expiration_time,
    truncate_to_minute,
)

D = Decimal
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --------------------------------------------------------------------------- A


def test_a_count_meter_with_feature_filter_value_two_minutes_after_creation(make_grant, make_engine):
    # e2e TestCredit: MONTH usage period anchored 2024-01-01, entitlement created "now"
    created = T("2025-03-10T12:00:20+00:00")
    measure_from = truncate_to_minute(created)
    effective = truncate_to_minute(created + timedelta(seconds=10))
    grant = make_grant(
        "g1",
        100,
        effective,
        priority=1,
        expires_at=expiration_time(effective, ExpirationDuration.MONTH, 1),
        max_rollover=100,
        min_rollover=0,
        recurrence=Recurrence("YEAR", T("2024-01-01T00:00:00+00:00")),
    )
    event_time = created + timedelta(seconds=15)
    raw_events = [(event_time, {"model": "gpt-4"}), (event_time, {"model": "gpt-3"})]

    # the meter itself (no feature filter) sees both events
    meter = InMemoryUsageSource(raw_events, MeterAggregation.COUNT)
    assert meter.usage_between([measure_from, measure_from + HOUR]) == [D(2)]

    # the feature's meterGroupByFilters {model: gpt-4} narrows what the entitlement sees
    feature_events = [(t, data) for t, data in raw_events if data["model"] == "gpt-4"]
    engine = make_engine(
        feature_events,
        measure_from,
        grants=[grant],
        period=Recurrence("MONTH", T("2024-01-01T00:00:00+00:00")),
        aggregation=MeterAggregation.COUNT,
    )
    value = engine.value_at(created + 2 * MIN)

    assert value.has_access is True
    assert value.balance == D(99)
    assert value.usage == D(1)
    assert value.overage == D(0)
    assert value.total_available_grant_amount == D(100)


# --------------------------------------------------------------------------- B


def test_b_unique_count_then_reset_rolls_over_balance(make_grant, make_engine):
    created = T("2025-03-10T12:00:00+00:00")
    grant = make_grant(
        "g1",
        100,
        created,
        expires_at=expiration_time(created, "MONTH", 1),
        max_rollover=100,
        recurrence=Recurrence("YEAR", T("2024-01-01T00:00:00+00:00")),
    )
    usage_at = created + 2 * MIN
    events = [(usage_at + timedelta(milliseconds=40 * i), str(i // 2)) for i in range(20)]
    period = Recurrence("MONTH", T("2024-01-01T00:00:00+00:00"))
    meter = InMemoryUsageSource(events, MeterAggregation.UNIQUE_COUNT)
    assert meter.usage_between([created, created + HOUR]) == [D(10)]

    before = make_engine(events, created, grants=[grant], period=period, aggregation=MeterAggregation.UNIQUE_COUNT)
    value = before.value_at(usage_at + MIN)
    assert value.balance == D(90)
    assert value.usage == D(10)

    reset_at = truncate_to_minute(usage_at) + 2 * MIN
    after = make_engine(
        events,
        created,
        grants=[grant],
        period=period,
        aggregation=MeterAggregation.UNIQUE_COUNT,
        resets=[Reset(reset_at)],
    )
    value = after.value_at(reset_at + timedelta(seconds=30))
    assert value.usage == D(0)
    assert value.balance == D(90)  # the 90 rolls over (maxRollover 100)


# --------------------------------------------------------------------------- C


def test_c_latest_aggregation_burns_latest_value_from_full_grant(make_grant, make_engine):
    t = T("2025-03-10T12:00:00+00:00")
    start = t - 10 * MIN
    grant = make_grant("g1", 1000, start)
    events = [(t - 5 * MIN, 100), (t - 3 * MIN, 200), (t - 1 * MIN, 150)]

    engine = make_engine(events, start, grants=[grant], aggregation=MeterAggregation.LATEST)
    value = engine.value_at(t)
    assert (value.balance, value.usage) == (D(850), D(150))

    later = make_engine([*events, (t + MIN, 300)], start, grants=[grant], aggregation=MeterAggregation.LATEST)
    value = later.value_at(t + 2 * MIN)
    assert (value.balance, value.usage) == (D(700), D(300))


# --------------------------------------------------------------------------- D, E


def _reset_test_grants(make_grant, start, g2_min, g2_max):
    g1 = make_grant("g1", 1000, start, priority=1, max_rollover=1000)
    g2 = make_grant("g2", 1000, start, priority=3, min_rollover=g2_min, max_rollover=g2_max)
    return [g1, g2]


def test_d_reset_rolls_each_grant_over_within_its_bounds(make_grant, make_engine):
    start = T("2024-06-01T00:00:00+00:00")
    reset_at = start + 2 * HOUR
    grants = _reset_test_grants(make_grant, start, 0, 100)
    events = [(start + HOUR, 600)]

    before = make_engine(events, start, grants=grants)
    assert before.grant_balances_at(reset_at - MIN) == {"g1": D(400), "g2": D(1000)}

    after = make_engine(events, start, grants=grants, resets=[Reset(reset_at)]).value_at(reset_at)
    assert after.grant_balances == {"g1": D(400), "g2": D(100)}
    assert (after.balance, after.usage, after.overage) == (D(500), D(0), D(0))


def test_e_reset_with_preserved_overage_burns_it_from_rolled_over_balances(make_grant, make_engine):
    start = T("2024-06-01T00:00:00+00:00")
    reset_at = start + 2 * HOUR
    grants = _reset_test_grants(make_grant, start, 500, 500)

    events = [(start + HOUR, 2100)]
    before = make_engine(events, start, grants=grants).value_at(reset_at - MIN)
    assert before.grant_balances == {"g1": D(0), "g2": D(0)}
    assert before.overage == D(100)

    reset = Reset(reset_at, preserve_overage=True)
    after = make_engine(events, start, grants=grants, resets=[reset]).value_at(reset_at)
    assert after.grant_balances == {"g1": D(0), "g2": D(400)}
    assert (after.balance, after.overage, after.usage) == (D(400), D(0), D(0))

    heavy = make_engine([(start + HOUR, 2600)], start, grants=grants, resets=[reset]).value_at(reset_at)
    assert (heavy.balance, heavy.overage) == (D(0), D(100))


def test_e_without_preserved_overage_the_overage_is_forgiven(make_grant, make_engine):
    start = T("2024-06-01T00:00:00+00:00")
    reset_at = start + 2 * HOUR
    grants = _reset_test_grants(make_grant, start, 500, 500)
    after = make_engine(
        [(start + HOUR, 2600)], start, grants=grants, resets=[Reset(reset_at, preserve_overage=False)]
    ).value_at(reset_at)
    assert (after.balance, after.overage) == (D(500), D(0))


# --------------------------------------------------------------------------- F

T1 = T("2024-01-01T00:00:00+00:00")


def test_f_lower_priority_number_burns_first(make_grant, make_engine):
    grants = [make_grant("g1", 100, T1, priority=1), make_grant("g2", 100, T1, priority=2)]
    engine = make_engine([(T1 + HOUR, 120)], T1, grants=grants)
    assert engine.grant_balances_at(T1 + timedelta(days=1)) == {"g1": D(0), "g2": D(80)}


def test_f_equal_priority_earlier_expiry_burns_first(make_grant, make_engine):
    grants = [
        make_grant("late", 100, T1, expires_at=add_date(T1, months=2)),
        make_grant("early", 100, T1, expires_at=add_date(T1, months=1)),
    ]
    engine = make_engine([(T1 + HOUR, 120)], T1, grants=grants)
    assert engine.grant_balances_at(T1 + timedelta(days=1)) == {"early": D(0), "late": D(80)}


def test_f_no_grants_means_all_usage_is_overage(make_engine):
    value = make_engine([(T1 + HOUR, 50)], T1).value_at(T1 + timedelta(days=1))
    assert (value.balance, value.overage, value.usage, value.has_access) == (D(0), D(50), D(50), False)


def test_f_daily_recurring_grant_burns_carried_overage_after_refill(make_grant, make_engine):
    grant = make_grant("g1", 100, T1, recurrence=Recurrence("DAY", T1))
    engine = make_engine([(T1 + HOUR, 120)], T1, grants=[grant])
    value = engine.value_at(T1 + timedelta(days=1, hours=1))
    assert value.grant_balances == {"g1": D(80)}
    assert value.overage == D(0)


def test_f_usage_before_grant_becomes_effective_is_carried_into_it(make_grant, make_engine):
    grant = make_grant("g1", 100, T1, expires_at=T1 + timedelta(days=30))
    engine = make_engine(
        [(T1 + HOUR, 25), (T1 - HOUR, 25)],
        T1 - timedelta(days=1),
        grants=[grant],
        period=Recurrence("MONTH", T1 - timedelta(days=1)),
    )
    assert engine.grant_balances_at(T1 + timedelta(days=1)) == {"g1": D(50)}


# --------------------------------------------------------------------------- G


def test_g_future_grant_does_not_count_yet(make_grant, make_engine):
    start = T("2024-03-01T00:00:00+00:00")
    at = start + timedelta(hours=6)
    grants = [make_grant("now", 1000, start), make_grant("future", 1000, at + timedelta(days=1))]
    value = make_engine([(start + HOUR, 100)], start, grants=grants).value_at(at)
    assert (value.usage, value.balance, value.overage) == (D(100), D(900), D(0))
    assert value.grant_balances == {"now": D(900)}


def test_g_without_grants_usage_is_overage(make_engine):
    start = T("2024-03-01T00:00:00+00:00")
    value = make_engine([(start + HOUR, 100)], start).value_at(start + 6 * HOUR)
    assert (value.usage, value.overage, value.balance) == (D(100), D(100), D(0))


def test_g_usage_before_measure_usage_from_is_ignored(make_grant, make_engine):
    start = T("2024-03-01T00:00:00+00:00")
    grant = make_grant("g1", 1000, start - timedelta(days=1))
    value = make_engine([(start - HOUR, 100)], start, grants=[grant]).value_at(start + HOUR)
    assert (value.usage, value.balance) == (D(0), D(1000))


# --------------------------------------------------------------------------- H

H_START = T("2024-01-01T00:00:00+00:00")
H_QUERY = H_START + 12 * HOUR
H_EXPECTED = [10000, 9900, 9900, 19800, 19700, 19700, 29600, 29600, 29600, 28500, 28500, 28500]


def _history_engine(make_grant, make_engine):
    expires = add_date(H_START, days=3)
    grants = [
        make_grant("g1", 10000, H_START, expires_at=expires),
        make_grant("g2", 10000, H_START + 3 * HOUR, expires_at=expires),
        make_grant("g3", 10000, H_START + timedelta(hours=5, minutes=30), expires_at=expires),
    ]
    events = [
        (H_START + MIN, 100),
        (H_START + 2 * HOUR + MIN, 100),
        (H_START + 3 * HOUR + MIN, 100),
        (H_START + 5 * HOUR + MIN, 100),
        (H_START + 8 * HOUR + MIN, 1100),
        (H_QUERY - timedelta(seconds=1), 100),
    ]
    return make_engine(events, H_START, grants=grants, period=Recurrence("YEAR", H_START))


def test_h_hourly_history_over_twelve_hours(make_grant, make_engine):
    history = _history_engine(make_grant, make_engine).history(
        from_=H_START, to=H_QUERY, window_size=WindowSize.HOUR, time_zone="UTC"
    )
    assert len(history.windows) == 12
    assert [w.balance_at_start for w in history.windows] == [D(b) for b in H_EXPECTED]
    assert [w.usage for w in history.windows] == [D(u) for u in (100, 0, 100, 100, 0, 100, 0, 0, 1100, 0, 0, 100)]
    assert history.windows[1].period.from_ == H_START + HOUR

    # three burn-down segments: split where g2 and g3 become effective
    assert [(s.period.from_, s.period.to) for s in history.segments] == [
        (H_START, H_START + 3 * HOUR),
        (H_START + 3 * HOUR, H_START + timedelta(hours=5, minutes=30)),
        (H_START + timedelta(hours=5, minutes=30), H_QUERY),
    ]
    assert [s.balance_at_start for s in history.segments] == [D(10000), D(19800), D(29600)]
    assert [s.balance_at_end for s in history.segments] == [D(9800), D(19600), D(28400)]
    assert [s.usage for s in history.segments] == [D(200), D(200), D(1200)]


def test_h_unaligned_range_is_truncated_to_the_minute_and_windows(make_grant, make_engine):
    history = _history_engine(make_grant, make_engine).history(
        from_=H_START + timedelta(seconds=2), to=H_QUERY - timedelta(seconds=2), window_size="HOUR"
    )
    assert len(history.windows) == 12
    assert [w.balance_at_start for w in history.windows] == [D(b) for b in H_EXPECTED]
    assert history.windows[11].usage == D(100)
    assert len(history.segments) == 3


def test_h_history_not_on_a_breakpoint_starts_segments_at_from(make_grant, make_engine):
    history = _history_engine(make_grant, make_engine).history(from_=H_START + HOUR, to=H_QUERY, window_size="HOUR")
    assert len(history.windows) == 11
    assert history.windows[0].period.from_ == H_START + HOUR
    assert [w.balance_at_start for w in history.windows] == [D(b) for b in H_EXPECTED[1:]]
    assert len(history.segments) == 3
    assert history.segments[0].period.from_ == H_START + HOUR
    assert history.segments[0].balance_at_start == D(9900)
