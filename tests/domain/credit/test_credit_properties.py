"""Property tests of the burn-down engine over random grants, usage and resets."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.credit import (
    CreditEngine,
    Grant,
    InMemoryUsageSource,
    MeterAggregation,
    MeteredEntitlement,
    Recurrence,
    Reset,
)

START = datetime.fromisoformat("2024-01-01T00:00:00+00:00")
HORIZON_MINUTES = 4 * 24 * 60
MIN = timedelta(minutes=1)

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def minutes(n: int) -> datetime:
    return START + timedelta(minutes=n)


amounts = st.one_of(
    st.integers(min_value=1, max_value=500).map(Decimal),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("300"), places=2),
)


@st.composite
def grants_strategy(draw, index: int) -> Grant:
    effective = draw(st.integers(min_value=-600, max_value=HORIZON_MINUTES))
    amount = draw(amounts)
    expires = draw(st.one_of(st.none(), st.integers(min_value=30, max_value=3 * 24 * 60)))
    voided = draw(st.one_of(st.none(), st.integers(min_value=-60, max_value=HORIZON_MINUTES)))
    recurrence = draw(
        st.one_of(
            st.none(),
            st.builds(
                Recurrence,
                st.sampled_from(["PT90M", "PT6H", "P1D"]),
                st.one_of(
                    st.integers(min_value=-1000, max_value=HORIZON_MINUTES).map(minutes),
                    st.just(START),  # aligned with many usage-period boundaries
                ),
            ),
        )
    )
    rollover_mode = draw(st.sampled_from(["fixed", "free", "full"]))
    min_rollover = draw(st.integers(min_value=0, max_value=int(amount)).map(Decimal))
    max_rollover = draw(st.integers(min_value=0, max_value=int(amount) * 2).map(Decimal))
    if rollover_mode == "fixed":  # the state after a reset does not depend on history
        max_rollover = min_rollover
    elif rollover_mode == "full":  # issue-after-reset style
        min_rollover = max_rollover = amount
    return Grant(
        id=f"grant-{index}",
        amount=amount,
        priority=draw(st.integers(min_value=0, max_value=3)),
        effective_at=minutes(effective),
        created_at=minutes(effective - draw(st.integers(min_value=0, max_value=100))),
        expires_at=None if expires is None else minutes(effective + expires),
        voided_at=None if voided is None else minutes(voided),
        min_rollover=min_rollover,
        max_rollover=max_rollover,
        recurrence=recurrence,
    )


@dataclass(frozen=True)
class Scenario:
    entitlement: MeteredEntitlement
    events: tuple[tuple[datetime, Decimal], ...]
    at: datetime

    def engine(self, entitlement: MeteredEntitlement | None = None, *, skip_settled: bool = True) -> CreditEngine:
        ent = entitlement or self.entitlement
        source = InMemoryUsageSource(self.events, ent.aggregation)
        return CreditEngine(ent, source, skip_settled_periods=skip_settled)


@st.composite
def scenarios(draw, *, with_resets: bool = True, aggregations=(MeterAggregation.SUM, MeterAggregation.COUNT)):
    grant_count = draw(st.integers(min_value=0, max_value=6))
    grants = tuple(draw(grants_strategy(i)) for i in range(grant_count))
    events = tuple(
        (START + timedelta(seconds=draw(st.integers(min_value=0, max_value=HORIZON_MINUTES * 60))), draw(amounts))
        for _ in range(draw(st.integers(min_value=0, max_value=40)))
    )
    if with_resets:
        period = Recurrence(
            draw(st.sampled_from(["PT6H", "P1D", "P1W", "MONTH"])),
            draw(st.one_of(st.just(START), st.integers(min_value=-2000, max_value=2000).map(minutes))),
        )
        reset_minutes = draw(st.lists(st.integers(min_value=1, max_value=HORIZON_MINUTES), max_size=2, unique=True))
        resets = tuple(
            Reset(
                minutes(m),
                preserve_overage=draw(st.one_of(st.none(), st.booleans())),
                retain_anchor=draw(st.booleans()),
            )
            for m in reset_minutes
        )
    else:
        period = Recurrence("YEAR", START)
        resets = ()
    entitlement = MeteredEntitlement(
        usage_period=period,
        measure_usage_from=START,
        grants=grants,
        resets=resets,
        preserve_overage_at_reset=draw(st.booleans()),
        aggregation=draw(st.sampled_from(aggregations)),
    )
    at = minutes(draw(st.integers(min_value=1, max_value=HORIZON_MINUTES)))
    return Scenario(entitlement, events, at)


def _segment_sum(segment) -> Decimal:
    return sum((u.usage for u in segment.grant_usages), Decimal(0))


# ------------------------------------------------------------------ conservation


@PROPERTY_SETTINGS
@given(scenarios(with_resets=False))
def test_usage_is_conserved_overall_without_resets(scenario):
    engine = scenario.engine()
    value = engine.value_at(scenario.at)
    segments = engine.burndown(START, value.at)
    burnt = sum((_segment_sum(s) for s in segments), Decimal(0))
    assert burnt + segments[-1].overage == value.usage
    assert sum((s.usage for s in segments), Decimal(0)) == value.usage
    # totalAvailableGrantAmount: amounts of grants active now + burnt from grants no longer active
    grants = {g.id: g for g in scenario.entitlement.grants}
    active_amounts = sum((grants[gid].amount for gid in value.grant_balances), Decimal(0))
    burnt_inactive = sum(
        (u.usage for s in segments for u in s.grant_usages if u.grant_id not in value.grant_balances), Decimal(0)
    )
    assert value.total_available_grant_amount == active_amounts + burnt_inactive


@PROPERTY_SETTINGS
@given(scenarios(aggregations=tuple(MeterAggregation)))
def test_usage_is_conserved_in_every_segment(scenario):
    for segment in scenario.engine().burndown(START, scenario.at):
        assert segment.usage + segment.overage_at_start == _segment_sum(segment) + segment.overage
        assert segment.balance_at_start - _segment_sum(segment) == segment.balance_at_end
        for usage in segment.grant_usages:
            expected_end = segment.grant_balances_at_start[usage.grant_id] - usage.usage
            assert segment.grant_balances_at_end[usage.grant_id] == expected_end


# ------------------------------------------------------------------ bounds


@PROPERTY_SETTINGS
@given(scenarios(aggregations=tuple(MeterAggregation)))
def test_balances_are_never_negative_nor_above_grant_plus_rollover(scenario):
    engine = scenario.engine()
    grants = {g.id: g for g in scenario.entitlement.grants}

    def check(balances):
        for grant_id, balance in balances.items():
            grant = grants[grant_id]
            assert Decimal(0) <= balance <= max(grant.amount, grant.min_rollover)

    value = engine.value_at(scenario.at)
    check(value.grant_balances)
    assert value.balance >= 0 and value.overage >= 0
    assert value.has_access == (value.balance > 0)
    for segment in engine.burndown(START, value.at):
        check(segment.grant_balances_at_start)
        check(segment.grant_balances_at_end)
        assert segment.overage >= 0


@PROPERTY_SETTINGS
@given(scenarios())
def test_only_grants_active_at_the_instant_have_a_balance(scenario):
    value = scenario.engine().value_at(scenario.at)
    active = {g.id for g in scenario.entitlement.grants if g.is_active_at(value.at)}
    assert set(value.grant_balances) == active


# ------------------------------------------------------------------ resets


@PROPERTY_SETTINGS
@given(scenarios())
def test_a_reset_applied_twice_at_the_same_instant_equals_once(scenario):
    ent = scenario.entitlement
    doubled = replace(ent, resets=ent.resets + ent.resets)
    assert scenario.engine(doubled).value_at(scenario.at) == scenario.engine().value_at(scenario.at)
    assert scenario.engine(doubled).burndown(START, scenario.at) == scenario.engine().burndown(START, scenario.at)


@PROPERTY_SETTINGS
@given(scenarios(), st.integers(min_value=1, max_value=3))
def test_a_manual_reset_on_a_period_boundary_is_the_same_reset(scenario, nth):
    ent = replace(scenario.entitlement, resets=())
    boundaries = list(ent.usage_period.occurrences(START, scenario.at))
    if len(boundaries) < nth:
        return
    boundary = boundaries[nth - 1]
    same = replace(ent, resets=(Reset(boundary, preserve_overage=ent.preserve_overage_at_reset, retain_anchor=True),))
    assert scenario.engine(same).value_at(scenario.at) == scenario.engine(ent).value_at(scenario.at)


# ------------------------------------------------------------------ determinism


@PROPERTY_SETTINGS
@given(scenarios(aggregations=tuple(MeterAggregation)), st.randoms(use_true_random=False))
def test_grant_and_reset_input_order_does_not_matter(scenario, rnd: random.Random):
    ent = scenario.entitlement
    grants = list(ent.grants)
    resets = list(ent.resets)
    rnd.shuffle(grants)
    rnd.shuffle(resets)
    shuffled = replace(ent, grants=tuple(grants), resets=tuple(resets))
    assert scenario.engine(shuffled).value_at(scenario.at) == scenario.engine().value_at(scenario.at)
    original = scenario.engine().history(from_=START, to=scenario.at, window_size="HOUR")
    assert scenario.engine(shuffled).history(from_=START, to=scenario.at, window_size="HOUR") == original


@PROPERTY_SETTINGS
@given(scenarios(aggregations=(MeterAggregation.SUM, MeterAggregation.COUNT, MeterAggregation.UNIQUE_COUNT)))
def test_history_windows_agree_with_the_value_at_their_start(scenario):
    engine = scenario.engine()
    history = engine.history(from_=START, to=scenario.at, window_size="HOUR", time_zone="Asia/Kolkata")
    for window in history.windows[:: max(1, len(history.windows) // 12)]:
        value = engine.value_at(window.period.from_)
        assert window.balance_at_start == value.balance
        assert window.overage_at_start == value.overage


@PROPERTY_SETTINGS
@given(scenarios(with_resets=False, aggregations=(MeterAggregation.SUM,)))
def test_history_window_usage_adds_up_to_the_meter_total(scenario):
    engine = scenario.engine()
    history = engine.history(from_=START, to=scenario.at, window_size="HOUR")
    total = sum((w.usage for w in history.windows), Decimal(0))
    assert total == engine.value_at(scenario.at).usage


@PROPERTY_SETTINGS
@given(scenarios(aggregations=tuple(MeterAggregation)), st.integers(min_value=0, max_value=HORIZON_MINUTES))
def test_skipping_settled_periods_never_changes_a_result(scenario, from_minute):
    fast = scenario.engine()
    full = scenario.engine(skip_settled=False)
    assert fast.value_at(scenario.at) == full.value_at(scenario.at)
    start = min(minutes(from_minute), scenario.at - MIN)
    assert fast.burndown(start, scenario.at) == full.burndown(start, scenario.at)
    history = dict(from_=start, to=scenario.at, window_size="HOUR", time_zone="Europe/Budapest")
    assert fast.history(**history) == full.history(**history)
