"""The burn-down engine: balances of a metered entitlement from its grants and usage.

Model (OpenMeter's, see ``openmeter-core.md`` 7.5-7.7):

* Time from ``measure_usage_from`` is cut into *burn phases* at every instant
  where a grant becomes effective, expires, is voided or recurs, at every usage
  reset (usage-period boundary or manual reset) and at the query instant.
* At a phase boundary ``T`` the following happens, in this order:

  1. grants that are no longer active at ``T`` (expired, voided) drop out;
  2. if ``T`` is a reset: every still-active grant's balance becomes
     ``min(max_rollover, max(min_rollover, balance))``, usage restarts at 0 and
     the carried overage is forgiven unless the reset preserves overage;
  3. grants becoming effective at ``T`` start with their full amount;
  4. recurring grants recurring at ``T`` are refilled to their full amount;
  5. the carried overage is burnt against the active grants.

* Within a phase its usage is burnt against the active grants in burn order
  (priority ascending, earlier expiry first, never-expiring last, then
  ``created_at``, then ``id``); what no grant can absorb becomes overage and is
  carried forward.
* LATEST meters: grants are limits. Each phase starts with every active grant at
  its full amount and no carried overage, and burns the latest value seen in the
  phase. ``usage`` still adds up the phases' values (as OpenMeter does).
* A phase whose (net) usage is negative burns nothing and refunds nothing; it
  still counts towards ``usage``. Negative meter values net out with positive
  ones inside a phase, since a phase's usage is one aggregate.
* For LATEST, the state at a boundary instant keeps the reading of the phase
  that just ended for the grants that stay active (a grant becoming active there
  shows its full amount); the next phase starts from full amounts.

The value at an instant ``T`` is the state after everything that happens at
``T`` (so a grant expiring at ``T`` no longer counts, one becoming effective at
``T`` does, and a reset at ``T`` has already happened).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal

from .errors import ErrorCode, HistoryRequestError, UsageSourceError
from .model import (
    ZERO,
    BurndownSegment,
    EntitlementHistory,
    EntitlementValue,
    Grant,
    GrantUsage,
    HistoryWindow,
    MeterAggregation,
    MeteredEntitlement,
    burn_order_key,
)
from .periods import (
    Period,
    WindowSize,
    ceil_to_minute,
    ensure_utc,
    history_windows,
    resolve_time_zone,
    truncate_to_minute,
)
from .schedule import UsagePeriodSchedule
from .usage import UsageSource

__all__ = ["DEFAULT_MAX_HISTORY_WINDOWS", "CreditEngine"]

DEFAULT_MAX_HISTORY_WINDOWS = 50_000
_EPSILON = timedelta(microseconds=1)


@dataclass(slots=True)
class _Instant:
    """What happens at one boundary instant of a run."""

    reset: bool = False
    preserve_overage: bool = False
    activate: list[Grant] = field(default_factory=list)
    deactivate: list[Grant] = field(default_factory=list)
    recur: list[Grant] = field(default_factory=list)
    observe: bool = False
    phase_boundary: bool = False


@dataclass(frozen=True, slots=True)
class _State:
    """Snapshot of the run state at an instant (after everything at that instant)."""

    at: datetime
    balances: dict[str, Decimal]  # active grants, burn order
    overage: Decimal
    usage: Decimal  # since the current period start
    grant_usage: dict[str, Decimal]  # burnt per grant since the current period start
    period_start: datetime

    @property
    def balance(self) -> Decimal:
        return sum(self.balances.values(), ZERO)


@dataclass(slots=True)
class _RunResult:
    final: _State
    observations: dict[datetime, _State]
    segments: list[BurndownSegment]


def _burn(amount: Decimal, active: Sequence[Grant], balances: dict[str, Decimal], used: dict[str, Decimal]) -> Decimal:
    """Burn ``amount`` (> 0) from ``active`` grants in order; return what no grant absorbed."""
    for grant in active:
        gid = grant.id
        balance = balances[gid]
        if balance <= 0:
            continue
        if balance <= amount:
            balances[gid] = ZERO
            used[gid] = used.get(gid, ZERO) + balance
            amount -= balance
            if amount == 0:
                return ZERO
        else:
            balances[gid] = balance - amount
            used[gid] = used.get(gid, ZERO) + amount
            return ZERO
    return amount


def _checked_values(values: object, expected: int, method: str) -> list[Decimal]:
    try:
        result = list(values)  # type: ignore[call-overload]
    except TypeError:
        raise UsageSourceError(f"{method} must return a sequence of Decimal") from None
    if len(result) != expected:
        raise UsageSourceError(f"{method} returned {len(result)} values, expected {expected}")
    checked: list[Decimal] = []
    for value in result:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise UsageSourceError(f"{method} returned a non-finite value {value!r}")
            checked.append(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            checked.append(Decimal(value))
        else:
            raise UsageSourceError(f"{method} returned {type(value).__name__}; Decimal (or int) required")
    return checked


class CreditEngine:
    """Balances, history and burn-down of one metered entitlement.

    ``CreditEngine(entitlement, usage)`` is cheap to build and holds no mutable
    state; every method recomputes from ``measure_usage_from``, or, when
    ``skip_settled_periods`` (default), from the latest usage reset whose
    outcome is independent of earlier history (same results, less work).
    All methods take timezone-aware datetimes and return UTC datetimes and
    ``Decimal`` amounts.
    """

    def __init__(
        self, entitlement: MeteredEntitlement, usage: UsageSource, *, skip_settled_periods: bool = True
    ) -> None:
        self.entitlement = entitlement
        self.usage = usage
        self.skip_settled_periods = skip_settled_periods
        self.schedule = UsagePeriodSchedule(
            entitlement.usage_period,
            entitlement.measure_usage_from,
            entitlement.resets,
            preserve_overage_at_reset=entitlement.preserve_overage_at_reset,
        )
        self._grants: tuple[Grant, ...] = tuple(sorted(entitlement.grants, key=burn_order_key))
        self._by_id: dict[str, Grant] = {g.id: g for g in self._grants}

    # ------------------------------------------------------------------ periods

    def current_period(self, at: datetime) -> Period:
        """The usage period containing ``at`` (``currentUsagePeriod``)."""
        return self.schedule.period_at(at)

    def last_reset(self, at: datetime) -> datetime:
        """The latest usage reset at or before ``at``: start of the current usage period.

        Period boundaries count as resets (OpenMeter records them as resets too);
        before any boundary it is ``measure_usage_from``.
        """
        return self.schedule.last_reset(at)

    @property
    def grants_in_burn_order(self) -> tuple[Grant, ...]:
        """The entitlement's grants sorted in burn-down order."""
        return self._grants

    # ------------------------------------------------------------------ queries

    def value_at(self, at: datetime) -> EntitlementValue:
        """The entitlement value at ``at`` (``getEntitlementValue``).

        ``at`` is rounded up to the next whole minute first, so usage in the
        current minute is included. An entitlement that is not active at ``at``
        has no access and zero figures.
        """
        raw = ensure_utc(at, "at")
        rounded = ceil_to_minute(raw)
        ent = self.entitlement
        if not ent.is_active_at(raw):
            return EntitlementValue(
                at=rounded,
                active=False,
                has_access=False,
                balance=ZERO,
                usage=ZERO,
                overage=ZERO,
                total_available_grant_amount=ZERO,
                grant_balances={},
                current_period=None,
            )
        state = self._state_at(rounded)
        balance = state.balance
        return EntitlementValue(
            at=rounded,
            active=True,
            has_access=ent.is_soft_limit or balance > 0,
            balance=balance,
            usage=state.usage,
            overage=state.overage,
            total_available_grant_amount=self._total_available(state),
            grant_balances=dict(state.balances),
            current_period=self.schedule.period_at(rounded),
        )

    def grant_balances_at(self, at: datetime) -> dict[str, Decimal]:
        """Balance of every grant active at ``at`` (rounded up to the minute), in burn order."""
        return dict(self._state_at(ceil_to_minute(ensure_utc(at, "at"))).balances)

    def burndown(self, from_: datetime, to: datetime) -> tuple[BurndownSegment, ...]:
        """Burn-down segments covering ``[from_, to)`` (``from_`` >= ``measure_usage_from``).

        A segment starts at ``from_`` and at every phase boundary inside the range.
        """
        start = ensure_utc(from_, "from")
        end = ensure_utc(to, "to")
        if start < self.entitlement.measure_usage_from:
            raise HistoryRequestError(
                f"from {start.isoformat()} is before measure_usage_from "
                f"{self.entitlement.measure_usage_from.isoformat()}",
                ErrorCode.HISTORY_FROM_BEFORE_MEASUREMENT,
            )
        if end <= start:
            raise HistoryRequestError("from must be before to", ErrorCode.HISTORY_EMPTY_RANGE)
        return tuple(self._run(end, segments_from=start).segments)

    def history(
        self,
        *,
        to: datetime,
        window_size: WindowSize | str,
        from_: datetime | None = None,
        time_zone: str | tzinfo | None = "UTC",
        max_windows: int | None = DEFAULT_MAX_HISTORY_WINDOWS,
    ) -> EntitlementHistory:
        """Windowed history and burn-down for ``[from_, to)`` (``getEntitlementHistory``).

        * ``from_`` defaults to the last reset before ``to``; it must not be before
          ``measure_usage_from``. It is truncated to the minute, ``to`` rounded up.
        * Windows of ``window_size`` are aligned to ``time_zone``'s wall clock and
          cover ``from_`` to ``to``; every window is listed (also without usage),
          except windows starting before ``measure_usage_from``.
        * Each window's ``usage`` is the meter aggregate over the window clipped to
          ``[from_, to)``; ``balance_at_start`` is the balance at the window's
          start, so a grant becoming effective inside a window shows in the next
          window's ``balance_at_start``.
        * ``segments`` are the burn-down segments from the first window's start
          (or ``from_`` if earlier) to ``to``.
        """
        size = WindowSize.parse(window_size)
        zone = resolve_time_zone(time_zone)
        ent = self.entitlement
        end = ceil_to_minute(ensure_utc(to, "to"))
        raw_from = ensure_utc(from_, "from") if from_ is not None else self.last_reset(end - _EPSILON)
        if raw_from < ent.measure_usage_from:
            raise HistoryRequestError(
                f"from {raw_from.isoformat()} cannot be before measure_usage_from "
                f"{ent.measure_usage_from.isoformat()}",
                ErrorCode.HISTORY_FROM_BEFORE_MEASUREMENT,
            )
        start = truncate_to_minute(raw_from)
        if end <= start:
            raise HistoryRequestError("from must be before to", ErrorCode.HISTORY_EMPTY_RANGE)

        windows = [
            w
            for w in history_windows(start, end, size, zone, max_windows=max_windows)
            if w.from_ >= ent.measure_usage_from
        ]
        segments_from = min(start, windows[0].from_) if windows else start
        run = self._run(end, observe=[w.from_ for w in windows], segments_from=segments_from)

        history_windows_out: list[HistoryWindow] = []
        if windows:
            bounds = [max(start, windows[0].from_)] + [w.to for w in windows[:-1]] + [min(end, windows[-1].to)]
            usages = _checked_values(self.usage.usage_between(bounds), len(windows), "usage_between")
            for window, usage in zip(windows, usages, strict=True):
                state = run.observations[window.from_]
                history_windows_out.append(
                    HistoryWindow(
                        period=window,
                        usage=usage,
                        balance_at_start=state.balance,
                        overage_at_start=state.overage,
                    )
                )
        zone_name = getattr(zone, "key", None) or str(zone)
        return EntitlementHistory(
            windows=tuple(history_windows_out),
            segments=tuple(run.segments),
            from_=start,
            to=end,
            time_zone=zone_name,
        )

    # ------------------------------------------------------------------ core

    def _state_at(self, at: datetime) -> _State:
        """State after everything at ``at`` (``at`` already rounded as the caller wants)."""
        t0 = self.entitlement.measure_usage_from
        if at < t0:
            # nothing is measured yet: grants active at `at` are untouched
            balances = {g.id: g.amount for g in self._grants if g.is_active_at(at)}
            return _State(at, balances, ZERO, ZERO, {}, self.schedule.period_at(at).from_)
        return self._run(at).final

    def _total_available(self, state: _State) -> Decimal:
        """Amounts of the grants active at the instant plus what was burnt, in the current
        usage period, from grants that are no longer active (the spec's definition)."""
        active = sum((self._by_id[gid].amount for gid in state.balances), ZERO)
        burnt_inactive = sum((used for gid, used in state.grant_usage.items() if gid not in state.balances), ZERO)
        return active + burnt_inactive

    def _starting_point(self, limit: datetime) -> tuple[datetime, dict[str, Decimal], bool]:
        """Where a run that must know the state from ``limit`` on can start.

        Normally ``measure_usage_from`` with every grant active there at its full
        amount. With ``skip_settled_periods`` the run starts instead at the
        latest usage reset ``R <= limit`` whose outcome does not depend on
        anything before it: the overage is forgiven at ``R`` and every grant
        active across ``R`` ends up at a fixed balance there, because its
        ``min_rollover == max_rollover`` (then the rollover yields exactly that)
        or it recurs at ``R`` (refilled to its amount); grants starting at ``R``
        start at their amount anyway. The result is identical, the work is
        proportional to the time since ``R``.
        """
        t0 = self.entitlement.measure_usage_from
        if self.skip_settled_periods and limit > t0:
            for reset in reversed(self.schedule.reset_instants(t0, limit)):
                if reset.preserve_overage:
                    continue
                settled = self._settled_balances(reset.at)
                if settled is not None:
                    return reset.at, settled, True
        return t0, {g.id: g.amount for g in self._grants if g.is_active_at(t0)}, False

    def _settled_balances(self, at: datetime) -> dict[str, Decimal] | None:
        """Balances right after a reset at ``at`` if they are history-independent, else ``None``."""
        balances: dict[str, Decimal] = {}
        for grant in self._grants:
            if not grant.is_active_at(at):
                continue
            recurs = grant.recurrence is not None and grant.recurrence.next_after(at, inclusive=True) == at
            if grant.effective_at == at or recurs:
                balances[grant.id] = grant.amount
            elif grant.min_rollover == grant.max_rollover:
                balances[grant.id] = grant.max_rollover
            else:
                return None
        return balances

    def _relevant_grants(self, t0: datetime, until: datetime) -> list[Grant]:
        relevant = []
        for grant in self._grants:
            end = grant.active_until
            if grant.effective_at > until:
                continue
            if end is not None and (end <= grant.effective_at or end <= t0):
                continue
            relevant.append(grant)
        return relevant

    def _build_timeline(
        self,
        t0: datetime,
        until: datetime,
        grants: Sequence[Grant],
        observe: Sequence[datetime],
        segments_from: datetime | None,
    ) -> dict[datetime, _Instant]:
        instants: dict[datetime, _Instant] = {}

        def at(t: datetime) -> _Instant:
            item = instants.get(t)
            if item is None:
                item = instants[t] = _Instant()
            return item

        for reset in self.schedule.reset_instants(t0, until):
            item = at(reset.at)
            item.reset = True
            item.preserve_overage = reset.preserve_overage
            item.phase_boundary = True
        for grant in grants:
            effective = grant.effective_at
            end = grant.active_until
            if t0 < effective <= until:
                item = at(effective)
                item.activate.append(grant)
                item.phase_boundary = True
            if end is not None and t0 < end <= until:
                item = at(end)
                item.deactivate.append(grant)
                item.phase_boundary = True
            if grant.recurrence is not None:
                low = max(t0, effective)
                if end is not None and end <= until:
                    high, include_end = end, False
                else:
                    high, include_end = until, True
                if low < high:
                    for t in grant.recurrence.occurrences(low, high, include_end=include_end):
                        item = at(t)
                        item.recur.append(grant)
                        item.phase_boundary = True
        for t in observe:
            if t0 < t <= until:
                at(t).observe = True
        if segments_from is not None and t0 < segments_from < until:
            at(segments_from).phase_boundary = True
        if until > t0:
            at(until).phase_boundary = True
        return instants

    def _interval_usage(self, points: list[datetime], instants: dict[datetime, _Instant]) -> list[Decimal]:
        """Usage value of each interval ``[points[i], points[i+1])``.

        SUM/COUNT/UNIQUE_COUNT: usage inside the interval. LATEST: the latest value
        from the start of the interval's burn phase up to the interval's end.
        """
        count = len(points) - 1
        if count <= 0:
            return []
        kind = self.entitlement.aggregation
        if kind in (MeterAggregation.SUM, MeterAggregation.COUNT):
            return _checked_values(self.usage.usage_between(points), count, "usage_between")
        values: list[Decimal] = []
        group_start = 0
        for index in range(1, len(points)):
            instant = instants[points[index]]
            closes = instant.reset if kind is MeterAggregation.UNIQUE_COUNT else instant.phase_boundary
            if closes or index == len(points) - 1:
                ends = points[group_start + 1 : index + 1]
                cumulative = _checked_values(
                    self.usage.cumulative_usage(points[group_start], ends), len(ends), "cumulative_usage"
                )
                if kind is MeterAggregation.UNIQUE_COUNT:
                    previous = ZERO
                    for value in cumulative:
                        values.append(value - previous)
                        previous = value
                else:
                    values.extend(cumulative)
                group_start = index
        return values

    def _run(
        self,
        until: datetime,
        *,
        observe: Sequence[datetime] = (),
        segments_from: datetime | None = None,
    ) -> _RunResult:
        """Burn down from the starting point (see :meth:`_starting_point`) to ``until``.

        Records the state at each ``observe`` instant and, when ``segments_from``
        is given, the burn-down segments from that instant on.
        """
        ent = self.entitlement
        limit = min([until, *observe] + ([segments_from] if segments_from is not None else []))
        t0, initial, start_is_reset = self._starting_point(limit)
        latest = ent.aggregation is MeterAggregation.LATEST
        collect = segments_from is not None
        grants = self._relevant_grants(t0, until)
        instants = self._build_timeline(t0, until, grants, observe, segments_from)
        points = [t0, *sorted(instants)]
        usages = self._interval_usage(points, instants)

        balances: dict[str, Decimal] = {g.id: initial[g.id] for g in grants if g.id in initial}
        active: list[Grant] = [g for g in grants if g.id in balances]
        overage = ZERO
        usage_in_period = ZERO
        period_used: dict[str, Decimal] = {}  # per grant, closed segments of the current period
        period_start = self.schedule.period_at(t0).from_
        phase_usage_base = ZERO  # LATEST: period usage at the start of the current phase

        observations: dict[datetime, _State] = {}
        segments: list[BurndownSegment] = []

        def snapshot(t: datetime) -> _State:
            used = dict(period_used)
            for gid, amount in seg_used.items():
                used[gid] = used.get(gid, ZERO) + amount
            return _State(t, dict(balances), overage, usage_in_period, used, period_start)

        seg_start = t0
        seg_balances: dict[str, Decimal] = dict(balances)
        seg_overage_start = ZERO
        seg_usage = ZERO
        seg_used: dict[str, Decimal] = {}
        seg_reset = start_is_reset
        if t0 in observe or until == t0:
            observations[t0] = snapshot(t0)

        for index in range(len(points) - 1):
            end = points[index + 1]
            usage = usages[index]
            if latest:
                full = {g.id: g.amount for g in active}
                used: dict[str, Decimal] = {}
                remaining = _burn(usage, active, full, used) if usage > 0 else ZERO
                balances = full
                overage = remaining
                seg_usage = usage
                seg_used = used
                usage_in_period = phase_usage_base + usage
            else:
                if usage > 0:
                    remaining = _burn(usage, active, balances, seg_used)
                    overage += remaining
                usage_in_period += usage
                seg_usage += usage

            instant = instants[end]
            if not instant.phase_boundary:
                observations[end] = snapshot(end)
                continue

            # close the segment [seg_start, end)
            if collect and seg_start >= segments_from:  # type: ignore[operator]
                segments.append(
                    BurndownSegment(
                        period=Period(seg_start, end),
                        usage=seg_usage,
                        overage=overage,
                        overage_at_start=seg_overage_start,
                        balance_at_start=sum(seg_balances.values(), ZERO),
                        grant_balances_at_start=seg_balances,
                        balance_at_end=sum((balances[gid] for gid in seg_balances), ZERO),
                        grant_balances_at_end={gid: balances[gid] for gid in seg_balances},
                        grant_usages=tuple(GrantUsage(g.id, seg_used[g.id]) for g in active if g.id in seg_used),
                        reset_at_start=seg_reset,
                    )
                )

            for gid, amount in seg_used.items():
                period_used[gid] = period_used.get(gid, ZERO) + amount

            # events at `end`
            membership_changed = False
            for grant in instant.deactivate:
                if balances.pop(grant.id, None) is not None:
                    membership_changed = True
            if instant.reset:
                for grant in active:
                    gid = grant.id
                    if gid in balances:
                        balances[gid] = min(grant.max_rollover, max(grant.min_rollover, balances[gid]))
                usage_in_period = ZERO
                period_used = {}
                if not instant.preserve_overage:
                    overage = ZERO
                period_start = end
            for grant in instant.activate:
                balances[grant.id] = grant.amount
                membership_changed = True
            for grant in instant.recur:
                if grant.id in balances:
                    balances[grant.id] = grant.amount
            if membership_changed:
                active = [g for g in grants if g.id in balances]
                balances = {g.id: balances[g.id] for g in active}
            if latest:
                # the next phase burns its latest value from full amounts; the state
                # at `end` itself still reflects the reading of the phase just ended
                phase_usage_base = usage_in_period

            seg_start = end
            seg_balances = {g.id: g.amount for g in active} if latest else dict(balances)
            seg_overage_start = ZERO if latest else overage
            seg_usage = ZERO
            seg_used = {}
            seg_reset = instant.reset

            if overage > 0 and not latest:
                overage = _burn(overage, active, balances, seg_used)

            if instant.observe or end == until:
                observations[end] = snapshot(end)

        return _RunResult(final=observations[until], observations=observations, segments=segments)
