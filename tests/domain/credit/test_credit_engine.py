"""Behaviour of the burn-down engine beyond the memo's worked examples."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from domain.credit import (
    CreditEngine,
    ErrorCode,
    Grant,
    HistoryRequestError,
    InMemoryUsageSource,
    InvalidDatetimeError,
    InvalidGrantError,
    MeterAggregation,
    MeteredEntitlement,
    Period,
    Recurrence,
    Reset,
    UsageSourceError,
)

D = Decimal
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


START = T("2024-01-01T00:00:00+00:00")


# ------------------------------------------------------------------ value basics


def test_query_time_is_rounded_up_to_the_next_minute(make_grant, make_engine):
    engine = make_engine([(START + timedelta(seconds=90), 7)], START, grants=[make_grant("g", 100, START)])
    value = engine.value_at(START + timedelta(seconds=61))
    assert value.at == START + 2 * MIN
    assert value.usage == D(7)  # the event at 01:30 is inside the rounded-up minute
    assert engine.value_at(START + MIN).usage == D(0)  # already on a minute: not rounded


def test_inactive_entitlement_has_no_access_and_zero_figures(make_grant, make_engine):
    engine = make_engine(
        [(START + HOUR, 5)],
        START,
        grants=[make_grant("g", 100, START)],
        active_from=START,
        active_to=START + DAY,
    )
    assert engine.value_at(START + 2 * HOUR).has_access is True
    gone = engine.value_at(START + 2 * DAY)
    assert (gone.active, gone.has_access, gone.balance, gone.usage, gone.overage) == (False, False, 0, 0, 0)
    assert gone.grant_balances == {}
    assert engine.value_at(START - HOUR).has_access is False


def test_has_access_requires_a_strictly_positive_balance(make_grant, make_engine):
    engine = make_engine([(START + HOUR, 100)], START, grants=[make_grant("g", 100, START)])
    value = engine.value_at(START + 2 * HOUR)
    assert (value.balance, value.overage, value.has_access) == (D(0), D(0), False)


def test_soft_limit_always_has_access(make_grant, make_engine):
    engine = make_engine([(START + HOUR, 150)], START, grants=[make_grant("g", 100, START)], is_soft_limit=True)
    value = engine.value_at(START + 2 * HOUR)
    assert (value.balance, value.overage, value.has_access) == (D(0), D(50), True)


def test_value_reports_the_current_usage_period(make_engine):
    engine = make_engine([], T("2024-01-10T08:00:00+00:00"), period=Recurrence("MONTH", START))
    assert engine.value_at(T("2024-01-20T00:00:00+00:00")).current_period == Period(
        T("2024-01-10T08:00:00+00:00"), T("2024-02-01T00:00:00+00:00")
    )
    assert engine.current_period(T("2024-02-20T00:00:00+00:00")).from_ == T("2024-02-01T00:00:00+00:00")


def test_value_before_measurement_shows_untouched_grants(make_grant, make_engine):
    engine = make_engine([(START - 2 * HOUR, 30)], START, grants=[make_grant("g", 100, START - DAY)])
    value = engine.value_at(START - HOUR)
    assert (value.balance, value.usage) == (D(100), D(0))


def test_decimal_amounts_stay_exact(make_grant, make_engine):
    events = [(START + i * MIN, "0.1") for i in range(1, 11)]
    engine = make_engine(events, START, grants=[make_grant("g", "1.05", START)])
    value = engine.value_at(START + HOUR)
    assert value.usage == D("1.0")
    assert value.balance == D("0.05")


# ------------------------------------------------------------------ grant lifecycle


def test_grant_activity_window_is_half_open_and_void_cuts_it(make_grant):
    grant = make_grant("g", 1, START, expires_at=START + DAY, voided_at=START + HOUR)
    assert grant.active_until == START + HOUR
    assert [grant.is_active_at(t) for t in (START - MIN, START, START + HOUR - MIN, START + HOUR)] == [
        False,
        True,
        True,
        False,
    ]
    expiring = make_grant("e", 1, START, expires_at=START + DAY)
    assert expiring.is_active_at(START + DAY - MIN) and not expiring.is_active_at(START + DAY)


def test_value_before_measurement_excludes_a_grant_expiring_at_that_instant(make_grant, make_engine):
    at = START - HOUR
    grants = [make_grant("ends", 5, START - DAY, expires_at=at), make_grant("runs", 7, START - DAY)]
    assert make_engine([], START, grants=grants).value_at(at).grant_balances == {"runs": D(7)}


def test_next_recurrence_is_at_or_after_the_instant(make_grant):
    grant = make_grant("g", 1, START, recurrence=Recurrence("P1W", START))
    assert grant.next_recurrence(START + 7 * DAY) == START + 7 * DAY
    assert grant.next_recurrence(START + 7 * DAY + MIN) == START + 14 * DAY
    assert make_grant("h", 1, START).next_recurrence(START) is None


def test_grant_counts_from_the_instant_it_becomes_effective(make_grant, make_engine):
    later = START + 3 * HOUR
    engine = make_engine([(START + HOUR, 10)], START, grants=[make_grant("g", 100, later)])
    assert engine.grant_balances_at(later - MIN) == {}
    at_effective = engine.value_at(later)
    assert at_effective.grant_balances == {"g": D(90)}  # overage carried from before is burnt at once
    assert at_effective.overage == D(0)


def test_expired_grant_drops_to_zero_and_leaves_the_balance(make_grant, make_engine):
    expiring = make_grant("short", 100, START, priority=5, expires_at=START + 2 * HOUR)
    lasting = make_grant("long", 100, START, priority=9)
    engine = make_engine([(START + HOUR, 30)], START, grants=[expiring, lasting])
    assert engine.grant_balances_at(START + 2 * HOUR - MIN) == {"short": D(70), "long": D(100)}
    value = engine.value_at(START + 2 * HOUR)  # expiry is exclusive
    assert value.grant_balances == {"long": D(100)}
    assert value.balance == D(100)
    assert value.total_available_grant_amount == D(130)  # 30 burnt from the expired grant + 100


def test_voiding_is_not_retroactive(make_grant, make_engine):
    void_at = START + 2 * HOUR
    grant = make_grant("g", 100, START, voided_at=void_at)
    engine = make_engine([(START + HOUR, 30), (START + 3 * HOUR, 50)], START, grants=[grant])
    assert engine.grant_balances_at(void_at - MIN) == {"g": D(70)}
    value = engine.value_at(START + 4 * HOUR)
    assert value.grant_balances == {}
    assert (value.balance, value.usage, value.overage) == (D(0), D(80), D(50))
    segments = engine.burndown(START, START + 4 * HOUR)
    assert [(s.period.to, [(u.grant_id, u.usage) for u in s.grant_usages]) for s in segments] == [
        (void_at, [("g", D(30))]),
        (START + 4 * HOUR, []),
    ]


def test_grant_voided_before_it_became_effective_never_counts(make_grant, make_engine):
    grant = make_grant("g", 100, START + 2 * HOUR, voided_at=START + HOUR)
    engine = make_engine([(START + 3 * HOUR, 10)], START, grants=[grant])
    value = engine.value_at(START + 4 * HOUR)
    assert (value.balance, value.overage) == (D(0), D(10))


def test_burn_order_ties_break_on_created_at_then_id(make_grant, make_engine):
    grants = [
        make_grant("b", 10, START, created_at=START),
        make_grant("a", 10, START, created_at=START),
        make_grant("z", 10, START, created_at=START - DAY),
    ]
    engine = make_engine([(START + HOUR, 15)], START, grants=grants)
    assert engine.grant_balances_at(START + 2 * HOUR) == {"z": D(0), "a": D(5), "b": D(10)}
    assert [g.id for g in engine.grants_in_burn_order] == ["z", "a", "b"]


def test_never_expiring_grant_burns_after_expiring_ones(make_grant, make_engine):
    grants = [make_grant("forever", 100, START), make_grant("expiring", 100, START, expires_at=START + 300 * DAY)]
    engine = make_engine([(START + HOUR, 50)], START, grants=grants)
    assert engine.grant_balances_at(START + 2 * HOUR) == {"expiring": D(50), "forever": D(100)}


def test_recurring_grant_refills_at_each_recurrence(make_grant, make_engine):
    grant = make_grant("g", 100, START, recurrence=Recurrence("DAY", START + 6 * HOUR))
    events = [(START + HOUR, 40), (START + 7 * HOUR, 30), (START + 8 * HOUR, 10)]
    engine = make_engine(events, START, grants=[grant])
    assert engine.grant_balances_at(START + 5 * HOUR) == {"g": D(60)}
    assert engine.grant_balances_at(START + 6 * HOUR) == {"g": D(100)}
    assert engine.grant_balances_at(START + 9 * HOUR) == {"g": D(60)}


def test_recurrence_does_not_refill_after_expiry(make_grant, make_engine):
    grant = make_grant("g", 100, START, expires_at=START + 2 * DAY, recurrence=Recurrence("DAY", START))
    engine = make_engine(
        [(START + HOUR, 100), (START + DAY + HOUR, 100), (START + 2 * DAY + HOUR, 5)], START, grants=[grant]
    )
    value = engine.value_at(START + 3 * DAY)
    assert (value.balance, value.overage) == (D(0), D(5))


def test_total_available_grant_amount_is_active_amounts_plus_burnt_from_inactive_grants(make_grant, make_engine):
    # spec: "the summed amount of all grant active at query time PLUS the used amount of since inactive grants"
    recurring = make_grant("daily", 100, START, recurrence=Recurrence("DAY", START))
    voided = make_grant("voided", 50, START, priority=0, voided_at=START + 2 * HOUR)
    engine = make_engine([(START + HOUR, 20), (START + 3 * HOUR, 150)], START, grants=[recurring, voided])
    value = engine.value_at(START + DAY + HOUR)
    # voided burnt 20 before its void; daily burnt 100 on day 1, refilled, then 50 carried overage
    assert value.grant_balances == {"daily": D(50)}
    assert value.total_available_grant_amount == D(100) + D(20)


def test_total_available_grant_amount_counts_only_the_current_period(make_grant, make_engine):
    expired = make_grant("old", 50, START, priority=0, expires_at=START + 20 * DAY)
    lasting = make_grant("new", 100, START, max_rollover=100)
    engine = make_engine([(START + HOUR, 30)], START, grants=[expired, lasting])
    assert engine.value_at(START + 25 * DAY).total_available_grant_amount == D(130)
    assert engine.value_at(T("2024-02-02T00:00:00+00:00")).total_available_grant_amount == D(100)


def test_negative_net_usage_of_a_phase_burns_nothing_and_refunds_nothing(make_grant, make_engine):
    # the phase boundary at 2h (second grant) separates +30 from -50
    grants = [make_grant("g", 100, START), make_grant("h", 5, START + 2 * HOUR, priority=9)]
    events = [(START + HOUR, 30), (START + 3 * HOUR, -50)]
    value = make_engine(events, START, grants=grants).value_at(START + 4 * HOUR)
    assert value.grant_balances == {"g": D(70), "h": D(5)}
    assert value.usage == D(-20)  # usage is still the meter's sum


# ------------------------------------------------------------------ resets


def test_period_boundary_resets_usage_and_forgives_overage(make_grant, make_engine):
    grant = make_grant("g", 100, START, max_rollover=100)
    engine = make_engine([(START + HOUR, 150), (START + 32 * DAY, 10)], START, grants=[grant])
    before = engine.value_at(START + 30 * DAY)
    assert (before.usage, before.overage, before.balance) == (D(150), D(50), D(0))
    boundary = T("2024-02-01T00:00:00+00:00")
    after = engine.value_at(boundary)
    assert (after.usage, after.overage, after.balance) == (D(0), D(0), D(0))
    assert after.current_period.from_ == boundary


def test_period_boundary_preserves_overage_when_the_entitlement_says_so(make_grant, make_engine):
    grant = make_grant("g", 100, START, min_rollover=100, max_rollover=100)
    engine = make_engine([(START + HOUR, 150)], START, grants=[grant], preserve_overage_at_reset=True)
    after = engine.value_at(T("2024-02-01T00:00:00+00:00"))
    assert (after.usage, after.overage, after.balance) == (D(0), D(0), D(50))
    assert after.total_available_grant_amount == D(100)  # 50 burnt by the preserved overage in this period


def test_default_grant_issued_after_reset_is_back_to_full_each_period(make_grant, make_engine):
    issue = make_grant("issue", 500, START, min_rollover=500, max_rollover=500)
    engine = make_engine([(START + HOUR, 400), (START + 40 * DAY, 100)], START, grants=[issue])
    assert engine.value_at(START + 30 * DAY).balance == D(100)
    assert engine.value_at(T("2024-02-01T00:00:00+00:00")).balance == D(500)
    assert engine.value_at(START + 41 * DAY).balance == D(400)


def test_manual_reset_with_and_without_retained_anchor(make_grant, make_engine):
    reset_at = T("2024-01-10T12:00:00+00:00")
    events = [(START + HOUR, 10), (T("2024-01-15T00:00:00+00:00"), 5), (T("2024-02-05T00:00:00+00:00"), 3)]
    grant = make_grant("g", 100, START, max_rollover=100)

    moved = make_engine(events, START, grants=[grant], resets=[Reset(reset_at)])
    assert moved.value_at(T("2024-02-05T00:01:00+00:00")).current_period == Period(
        reset_at, T("2024-02-10T12:00:00+00:00")
    )
    assert moved.value_at(T("2024-02-05T00:01:00+00:00")).usage == D(8)

    kept = make_engine(events, START, grants=[grant], resets=[Reset(reset_at, retain_anchor=True)])
    assert kept.value_at(T("2024-01-20T00:00:00+00:00")).current_period == Period(
        reset_at, T("2024-02-01T00:00:00+00:00")
    )
    assert kept.value_at(T("2024-02-05T00:01:00+00:00")).usage == D(3)
    assert kept.last_reset(T("2024-02-05T00:00:00+00:00")) == T("2024-02-01T00:00:00+00:00")


def test_recurring_grant_at_a_reset_is_refilled_before_preserved_overage_is_burnt(make_grant, make_engine):
    # rollover lifts the exhausted grant to 50, the recurrence refills it to 100,
    # then the preserved overage of 30 is burnt from the refilled amount
    grant = make_grant("g", 100, START, min_rollover=50, max_rollover=100, recurrence=Recurrence("MONTH", START))
    engine = make_engine([(START + HOUR, 130)], START, grants=[grant], preserve_overage_at_reset=True)
    value = engine.value_at(T("2024-02-01T00:00:00+00:00"))
    assert (value.balance, value.overage, value.usage) == (D(70), D(0), D(0))


def test_unique_count_counts_each_value_once_per_period(make_grant, make_engine):
    events = [
        (START + HOUR, "a"),
        (START + 2 * HOUR, "b"),
        (START + 5 * HOUR, "a"),  # seen earlier in the period: free
        (START + 6 * HOUR, "c"),
        (T("2024-02-01T01:00:00+00:00"), "a"),  # new period: counts again
    ]
    grants = [make_grant("g1", 10, START), make_grant("g2", 10, START + 3 * HOUR, priority=0)]
    engine = make_engine(events, START, grants=grants, aggregation=MeterAggregation.UNIQUE_COUNT)
    value = engine.value_at(START + 7 * HOUR)
    assert value.usage == D(3)
    assert value.grant_balances == {"g2": D(9), "g1": D(8)}
    assert engine.value_at(T("2024-02-01T02:00:00+00:00")).usage == D(1)


def test_latest_treats_grants_as_limits_and_phases_independently(make_grant, make_engine):
    # OpenMeter engine run_test "Should use latest aggregation correctly"
    grants = [
        make_grant("grant-1-expired", 50, START, priority=1, expires_at=START + HOUR),
        make_grant("grant-2-active", 100, START, priority=2, expires_at=START + 30 * DAY),
        make_grant("grant-3-later", 75, START + HOUR, priority=3, expires_at=START + HOUR + 30 * DAY),
        make_grant("grant-4-future", 200, START + 4 * HOUR, priority=4, expires_at=START + 4 * HOUR + 30 * DAY),
    ]
    events = [(START - MIN, 0), (START, 15), (START + HOUR, 30), (START + 2 * HOUR, 10), (START + 3 * HOUR, 20)]
    engine = make_engine(events, START, grants=grants, aggregation=MeterAggregation.LATEST)
    value = engine.value_at(START + 3 * HOUR)
    assert value.balance == D(165)  # 175 active - latest 10
    assert value.usage == D(25)  # phases add up: 15 + 10
    assert value.total_available_grant_amount == D(190)
    segments = engine.burndown(START, START + 3 * HOUR)
    assert [s.usage for s in segments] == [D(15), D(10)]
    assert [s.balance_at_start for s in segments] == [D(150), D(175)]


def test_latest_overage_is_not_carried_between_phases(make_grant, make_engine):
    grants = [make_grant("a", 100, START), make_grant("b", 10, START + 2 * HOUR)]
    events = [(START + HOUR, 130), (START + 3 * HOUR, 100)]
    engine = make_engine(events, START, grants=grants, aggregation=MeterAggregation.LATEST)
    assert engine.value_at(START + 2 * HOUR - MIN).overage == D(30)
    value = engine.value_at(START + 4 * HOUR)
    assert (value.balance, value.overage) == (D(10), D(0))


# ------------------------------------------------------------------ burndown segments


def test_carried_overage_is_reported_separately_from_segment_start_balance(make_grant, make_engine):
    # OpenMeter engine run_test "Burns down grant that becomes active during phase"
    grant = make_grant("g", 100, START, expires_at=START + 30 * DAY)
    engine = make_engine(
        [(START + HOUR, 25), (START - HOUR, 25)], START - DAY, grants=[grant], period=Recurrence("MONTH", START - DAY)
    )
    first, second = engine.burndown(START - DAY, START + DAY)
    assert first.grant_balances_at_start == {}
    assert (first.usage, first.overage) == (D(25), D(25))
    assert second.grant_balances_at_start == {"g": D(100)}  # overage not yet deducted
    assert second.overage_at_start == D(25)
    assert [(u.grant_id, u.usage) for u in second.grant_usages] == [("g", D(50))]
    assert second.grant_balances_at_end == {"g": D(50)}


def test_segments_split_at_resets_and_flag_them(make_grant, make_engine):
    grant = make_grant("g", 100, START, max_rollover=40)
    engine = make_engine([(START + HOUR, 70)], START, grants=[grant], period=Recurrence("DAY", START))
    segments = engine.burndown(START, START + 2 * DAY)
    assert [s.period for s in segments] == [Period(START, START + DAY), Period(START + DAY, START + 2 * DAY)]
    assert [s.reset_at_start for s in segments] == [False, True]
    assert segments[0].balance_at_end == D(30)
    assert segments[1].balance_at_start == D(30)  # min(40, 30)


def test_burndown_does_not_split_at_recurrences_of_inactive_grants(make_grant, make_engine):
    grant = make_grant("g", 100, START + 10 * DAY, recurrence=Recurrence("DAY", START))
    engine = make_engine([], START, grants=[grant])
    assert len(engine.burndown(START, START + 5 * DAY)) == 1


def test_burndown_rejects_bad_ranges(make_engine):
    engine = make_engine([], START)
    with pytest.raises(HistoryRequestError):
        engine.burndown(START - HOUR, START + HOUR)
    with pytest.raises(HistoryRequestError):
        engine.burndown(START + HOUR, START + HOUR)


# ------------------------------------------------------------------ history


def test_history_balances_match_the_value_at_each_window_start(make_grant, make_engine):
    grants = [
        make_grant("g1", 50, START, recurrence=Recurrence("PT5H", START + HOUR)),
        make_grant("g2", 30, START + 150 * MIN, expires_at=START + 9 * HOUR),
    ]
    events = [(START + i * 37 * MIN, 7) for i in range(1, 30)]
    engine = make_engine(events, START, grants=grants, period=Recurrence("PT8H", START))
    history = engine.history(from_=START, to=START + 16 * HOUR, window_size="HOUR")
    assert len(history.windows) == 16
    for window in history.windows:
        assert window.balance_at_start == engine.value_at(window.period.from_).balance


def test_history_day_windows_in_a_dst_zone_include_empty_windows(make_grant, make_engine):
    measure = T("2024-11-02T04:00:00+00:00")  # local midnight in New York (EDT)
    events = [(T("2024-11-03T05:30:00+00:00"), 4), (T("2024-11-04T06:00:00+00:00"), 1)]
    engine = make_engine(events, measure, grants=[make_grant("g", 10, measure)])
    history = engine.history(
        from_=measure, to=T("2024-11-05T05:00:00+00:00"), window_size="DAY", time_zone="America/New_York"
    )
    assert [w.period.duration for w in history.windows] == [DAY, DAY + HOUR, DAY]
    assert [w.usage for w in history.windows] == [D(0), D(4), D(1)]
    assert [w.balance_at_start for w in history.windows] == [D(10), D(10), D(6)]
    assert history.time_zone == "America/New_York"


def test_history_drops_windows_before_measure_usage_from_and_clips_usage(make_grant, make_engine):
    measure = T("2024-01-01T10:30:00+00:00")
    events = [
        (T("2024-01-01T10:10:00+00:00"), 100),
        (T("2024-01-01T10:45:00+00:00"), 1),
        (T("2024-01-01T12:40:00+00:00"), 2),
    ]
    engine = make_engine(events, measure, grants=[make_grant("g", 10, measure)])
    history = engine.history(from_=measure, to=T("2024-01-01T12:30:00+00:00"), window_size="HOUR")
    # 10:00 window starts before measurement: dropped; last window clipped at `to`
    assert [w.period.from_ for w in history.windows] == [T("2024-01-01T11:00:00+00:00"), T("2024-01-01T12:00:00+00:00")]
    assert [w.usage for w in history.windows] == [D(0), D(0)]
    assert history.windows[0].balance_at_start == D(9)
    assert history.segments[0].period.from_ == measure


def test_history_window_usage_counts_only_from_the_requested_start(make_grant, make_engine):
    events = [(START + 10 * MIN, 5), (START + 40 * MIN, 3)]
    engine = make_engine(events, START, grants=[make_grant("g", 100, START)])
    history = engine.history(from_=START + 30 * MIN, to=START + 2 * HOUR, window_size="HOUR")
    assert history.windows[0].period.from_ == START
    assert history.windows[0].usage == D(3)
    assert history.windows[0].balance_at_start == D(100)
    assert history.segments[0].period.from_ == START


def test_history_defaults_from_to_the_last_reset(make_grant, make_engine):
    engine = make_engine([], START, grants=[make_grant("g", 1, START)], period=Recurrence("DAY", START))
    history = engine.history(to=START + 2 * DAY + 3 * HOUR, window_size="HOUR")
    assert history.from_ == START + 2 * DAY
    assert len(history.windows) == 3


def test_history_rejects_from_before_measurement_and_empty_ranges(make_engine):
    engine = make_engine([], START)
    with pytest.raises(HistoryRequestError) as info:
        engine.history(from_=START - MIN, to=START + HOUR, window_size="HOUR")
    assert info.value.code == ErrorCode.HISTORY_FROM_BEFORE_MEASUREMENT
    with pytest.raises(HistoryRequestError) as info:
        engine.history(from_=START + HOUR, to=START + HOUR, window_size="HOUR")
    assert info.value.code == ErrorCode.HISTORY_EMPTY_RANGE
    with pytest.raises(HistoryRequestError) as info:
        engine.history(from_=START, to=START + 365 * DAY, window_size="MINUTE", max_windows=1000)
    assert info.value.code == ErrorCode.HISTORY_TOO_MANY_WINDOWS


# ------------------------------------------------------------------ usage source batching


def test_sum_value_makes_a_single_usage_query(make_grant, make_engine):
    grants = [make_grant(f"g{i}", 10, START + i * HOUR, recurrence=Recurrence("PT3H", START)) for i in range(5)]
    engine = make_engine([(START + i * MIN, 1) for i in range(300)], START, grants=grants, record=True)
    engine.value_at(START + 2 * DAY)
    calls = engine.usage.calls
    assert [name for name, _ in calls] == ["usage_between"]
    assert len(calls[0][1]) > 10  # one query, many phases


def test_sum_history_makes_two_usage_queries(make_grant, make_engine):
    engine = make_engine([], START, grants=[make_grant("g", 10, START)], record=True)
    engine.history(from_=START, to=START + DAY, window_size="HOUR")
    assert [name for name, _ in engine.usage.calls] == ["usage_between", "usage_between"]


def test_unique_count_queries_once_per_usage_period(make_grant, make_engine):
    engine = make_engine(
        [],
        START,
        grants=[make_grant("g", 10, START, max_rollover=10, recurrence=Recurrence("PT7H", START))],
        period=Recurrence("DAY", START),
        aggregation=MeterAggregation.UNIQUE_COUNT,
        record=True,
    )
    engine.value_at(START + 3 * DAY + HOUR)
    calls = engine.usage.calls
    assert [name for name, _ in calls] == ["cumulative_usage"] * 4
    assert [args[0] for _, args in calls] == [START + i * DAY for i in range(4)]


def test_periods_settled_by_a_reset_are_not_recomputed(make_grant, make_engine):
    # min_rollover == max_rollover and overage forgiven: the state after each
    # daily reset is known without looking back, so only the last day is burnt
    grants = [make_grant("issue", 10, START, min_rollover=10, max_rollover=10)]
    events = [(START + i * HOUR, 1) for i in range(100)]
    engine = make_engine(events, START, grants=grants, period=Recurrence("DAY", START), record=True)
    value = engine.value_at(START + 3 * DAY + 5 * HOUR)
    assert (value.balance, value.usage) == (D(5), D(5))
    assert engine.usage.calls[0][1][0] == START + 3 * DAY


def test_a_reset_preserving_overage_is_not_a_settled_starting_point(make_grant, make_engine):
    grants = [make_grant("issue", 10, START, min_rollover=10, max_rollover=10)]
    events = [(START + HOUR, 25)]
    engine = make_engine(
        events, START, grants=grants, period=Recurrence("DAY", START), preserve_overage_at_reset=True, record=True
    )
    value = engine.value_at(START + 2 * DAY + HOUR)
    assert (value.balance, value.overage) == (D(5), D(0))  # 15 overage: 10 burnt on day 2, 5 on day 3
    assert engine.usage.calls[0][1][0] == START


class _BrokenSource:
    def __init__(self, result):
        self.result = result

    def usage_between(self, boundaries):
        return self.result

    def cumulative_usage(self, start, ends):
        return self.result


@pytest.mark.parametrize("result", [[], [1.5], ["3"], [Decimal("NaN")], None])
def test_a_usage_source_breaking_its_contract_is_a_server_fault(result):
    entitlement = MeteredEntitlement(usage_period=Recurrence("DAY", START), measure_usage_from=START)
    with pytest.raises(UsageSourceError):
        CreditEngine(entitlement, _BrokenSource(result)).value_at(START + HOUR)


# ------------------------------------------------------------------ input validation


def test_grant_rejects_float_non_positive_and_naive_inputs():
    with pytest.raises(InvalidGrantError):
        Grant(id="g", amount=1.5, priority=1, effective_at=START, created_at=START)  # type: ignore[arg-type]
    with pytest.raises(InvalidGrantError) as info:
        Grant(id="g", amount=D(0), priority=1, effective_at=START, created_at=START)
    assert info.value.code == ErrorCode.GRANT_AMOUNT_MUST_BE_POSITIVE
    with pytest.raises(InvalidGrantError):
        Grant(id="g", amount=D(1), priority=-1, effective_at=START, created_at=START)
    with pytest.raises(InvalidGrantError):
        Grant(id="g", amount=D(1), priority=1, effective_at=START, created_at=START, max_rollover=D(-1))
    with pytest.raises(InvalidDatetimeError):
        Grant(id="g", amount=D(1), priority=1, effective_at=datetime(2024, 1, 1), created_at=START)


def test_entitlement_rejects_duplicate_grant_ids(make_grant):
    with pytest.raises(InvalidGrantError) as info:
        MeteredEntitlement(
            usage_period=Recurrence("DAY", START),
            measure_usage_from=START,
            grants=(make_grant("g", 1, START), make_grant("g", 2, START)),
        )
    assert info.value.code == ErrorCode.DUPLICATE_GRANT_ID


def test_engine_rejects_naive_query_times(make_engine):
    with pytest.raises(InvalidDatetimeError):
        make_engine([], START).value_at(datetime(2024, 1, 2))


def test_in_memory_source_aggregations():
    events = [(START + MIN, 5), (START + 2 * MIN, None), (START + 3 * MIN, 2), (START + 4 * MIN, 5)]
    bounds = [START, START + 150 * timedelta(seconds=1), START + 10 * MIN]
    assert InMemoryUsageSource(events, "SUM").usage_between(bounds) == [D(5), D(7)]
    assert InMemoryUsageSource(events, "COUNT").usage_between(bounds) == [D(2), D(2)]  # nulls count
    assert InMemoryUsageSource(events, "UNIQUE_COUNT").usage_between(bounds) == [D(1), D(2)]
    assert InMemoryUsageSource(events, "LATEST").usage_between(bounds) == [D(5), D(5)]
    assert InMemoryUsageSource(events, "LATEST").usage_between([START + 2 * MIN, START + 3 * MIN]) == [D(0)]
    unique = InMemoryUsageSource(events, "UNIQUE_COUNT")
    assert unique.cumulative_usage(START, [START, START + 2 * MIN, START + 10 * MIN]) == [D(0), D(1), D(2)]
