"""Usage periods of a metered entitlement, including the effect of manual resets.

The schedule is a timeline of recurrences: the entitlement's ``usage_period``
in force from ``measure_usage_from``, then one entry per manual reset. A reset
at ``R`` with ``retain_anchor=False`` starts a new grid anchored at ``R``; with
``retain_anchor=True`` it keeps the anchor in force, so the period after the
reset is ``[R, next boundary of the old grid)``. Every period boundary is a
usage reset (programmatic); manual resets are boundaries too.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from .errors import ErrorCode, InvalidResetError
from .model import Reset
from .periods import Period, Recurrence, ensure_utc

__all__ = ["ResetInstant", "UsagePeriodSchedule"]


class ResetInstant(NamedTuple):
    """One usage reset: when, whether overage survives it, and whether it was manual."""

    at: datetime
    preserve_overage: bool
    manual: bool


class UsagePeriodSchedule:
    """Answers "which usage period contains t" and "which resets happen in (a, b]".

    ``resets`` may be unordered and may repeat the same reset; two resets at the
    same instant that disagree raise :class:`InvalidResetError`, as do resets not
    after ``measure_usage_from``.
    """

    def __init__(
        self,
        usage_period: Recurrence,
        measure_usage_from: datetime,
        resets: Sequence[Reset] = (),
        *,
        preserve_overage_at_reset: bool = False,
    ) -> None:
        self.usage_period = usage_period
        self.measure_usage_from = ensure_utc(measure_usage_from, "measure_usage_from")
        self.preserve_overage_at_reset = preserve_overage_at_reset
        unique: dict[datetime, Reset] = {}
        for reset in resets:
            if reset.at <= self.measure_usage_from:
                raise InvalidResetError(
                    f"reset at {reset.at.isoformat()} is not after measure_usage_from "
                    f"{self.measure_usage_from.isoformat()}",
                    ErrorCode.INVALID_RESET,
                )
            previous = unique.get(reset.at)
            if previous is not None and previous != reset:
                raise InvalidResetError(f"two different resets at {reset.at.isoformat()}", ErrorCode.CONFLICTING_RESETS)
            unique[reset.at] = reset
        self.resets: tuple[Reset, ...] = tuple(unique[t] for t in sorted(unique))
        entries: list[tuple[datetime, Recurrence]] = [(self.measure_usage_from, usage_period)]
        for reset in self.resets:
            in_force = entries[-1][1]
            anchor = in_force.anchor if reset.retain_anchor else reset.at
            entries.append((reset.at, Recurrence(usage_period.interval, anchor)))
        self._entries = entries
        self._times = [t for t, _ in entries]
        self._manual: dict[datetime, bool] = {
            r.at: (r.preserve_overage if r.preserve_overage is not None else preserve_overage_at_reset)
            for r in self.resets
        }

    def period_at(self, at: datetime) -> Period:
        """The usage period containing ``at``; instants before measurement map to the first period."""
        at = ensure_utc(at)
        index = bisect_right(self._times, at) - 1
        if index < 0:
            index = 0
            at = self._times[0]
        entry_time, recurrence = self._entries[index]
        full = recurrence.period_at(at)
        start = max(full.from_, entry_time)
        end = full.to
        if index + 1 < len(self._times):
            end = min(end, self._times[index + 1])
        return Period(start, end)

    def last_reset(self, at: datetime) -> datetime:
        """Start of the usage period containing ``at`` (the latest reset, programmatic or manual)."""
        return self.period_at(at).from_

    def reset_instants(self, after: datetime, until: datetime) -> list[ResetInstant]:
        """Every usage reset ``r`` with ``after < r <= until``, ascending."""
        after = ensure_utc(after)
        until = ensure_utc(until)
        result: list[ResetInstant] = []
        if until <= after:
            return result
        period = self.period_at(max(after, self.measure_usage_from))
        while period.to <= until:
            at = period.to
            if at > after:
                manual = at in self._manual
                preserve = self._manual[at] if manual else self.preserve_overage_at_reset
                result.append(ResetInstant(at, preserve, manual))
            period = self.period_at(at)
        return result
