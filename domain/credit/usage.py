"""How the engine obtains usage: the :class:`UsageSource` protocol.

A usage source answers for ONE entitlement: the customer's events of the
feature's meter, already narrowed by the customer's subjects and the feature's
meter group-by filters. The engine batches its questions so that a SQL-backed
source can answer each call with a single query:

``usage_between(boundaries)``
    The meter aggregate over every half-open window ``[b[i], b[i+1])``
    independently: SUM -> sum, COUNT -> number of events, UNIQUE_COUNT ->
    distinct values inside that window, LATEST -> value of the latest event in
    the window. A window without (non-null) values yields ``0``. For SUM/COUNT
    this is the only call a value or history computation makes for the burn-down
    (plus one more for the history windows).

``cumulative_usage(start, ends)``
    The aggregate over ``[start, e)`` for each ``e`` in ``ends`` (ascending,
    each ``>= start``; ``e == start`` yields ``0``). Only called for
    UNIQUE_COUNT (``start`` is the usage-period start: a phase's usage is
    ``D(start, phase_end) - D(start, phase_start)``, so values already seen in
    the period are not counted twice) and for LATEST (``start`` is the phase
    start; the engine asks for the latest value up to each instant it reports).
    Called once per usage period (UNIQUE_COUNT) or per burn phase (LATEST).

Both methods return one ``Decimal`` per requested window / end, in order.
The engine never asks about time before the entitlement's ``measure_usage_from``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from .model import ZERO, MeterAggregation, to_decimal
from .periods import ensure_utc

__all__ = ["InMemoryUsageSource", "UsageSource"]


@runtime_checkable
class UsageSource(Protocol):
    """Usage of one entitlement's meter; see the module documentation for the contract."""

    def usage_between(self, boundaries: Sequence[datetime]) -> Sequence[Decimal]:
        """Aggregate over each ``[boundaries[i], boundaries[i+1])``; ``len(boundaries) - 1`` values."""
        ...

    def cumulative_usage(self, start: datetime, ends: Sequence[datetime]) -> Sequence[Decimal]:
        """Aggregate over ``[start, e)`` for each ``e`` in ``ends``; ``len(ends)`` values."""
        ...


class InMemoryUsageSource:
    """A :class:`UsageSource` over an in-memory list of ``(time, value)`` events.

    Reference implementation of the protocol (and the fake used by the tests).
    ``value`` is ignored for COUNT, must be numeric (``Decimal``/``int``/``str``)
    for SUM and LATEST, and any hashable for UNIQUE_COUNT. ``None`` values are
    ignored by SUM, UNIQUE_COUNT and LATEST, as the meter ignores JSON nulls.
    Lookups use bisection over prefix sums, so 1M events are cheap to query.
    """

    def __init__(
        self,
        events: Iterable[tuple[datetime, object]],
        aggregation: MeterAggregation | str = MeterAggregation.SUM,
    ) -> None:
        self.aggregation = MeterAggregation(aggregation)
        ordered = sorted(((ensure_utc(t, "event time"), v) for t, v in events), key=lambda item: item[0])
        self._times: list[datetime] = [t for t, _ in ordered]
        self._raw: list[object] = [v for _, v in ordered]
        self._prefix: list[Decimal] = []
        self._numbers: list[Decimal | None] = []
        self._last_valued: list[int] = []
        if self.aggregation in (MeterAggregation.SUM, MeterAggregation.COUNT):
            total = ZERO
            self._prefix.append(total)
            for value in self._raw:
                if self.aggregation is MeterAggregation.COUNT:
                    total += 1
                elif value is not None:
                    total += to_decimal(value, "event value")
                self._prefix.append(total)
        elif self.aggregation is MeterAggregation.LATEST:
            last = -1
            for index, value in enumerate(self._raw):
                number = None if value is None else to_decimal(value, "event value")
                self._numbers.append(number)
                if number is not None:
                    last = index
                self._last_valued.append(last)
        else:
            for value in self._raw:
                if value is not None and not isinstance(value, Hashable):
                    raise TypeError("UNIQUE_COUNT event values must be hashable")

    def __len__(self) -> int:
        return len(self._times)

    def _index(self, at: datetime) -> int:
        return bisect_left(self._times, ensure_utc(at))

    def _aggregate(self, lo: int, hi: int) -> Decimal:
        """Aggregate of events with index in ``[lo, hi)``."""
        if hi <= lo:
            return ZERO
        kind = self.aggregation
        if kind in (MeterAggregation.SUM, MeterAggregation.COUNT):
            return self._prefix[hi] - self._prefix[lo]
        if kind is MeterAggregation.LATEST:
            last = self._last_valued[hi - 1]
            if last < lo:
                return ZERO
            number = self._numbers[last]
            return number if number is not None else ZERO
        return Decimal(len({value for value in self._raw[lo:hi] if value is not None}))

    def usage_between(self, boundaries: Sequence[datetime]) -> list[Decimal]:
        indexes = [self._index(b) for b in boundaries]
        return [self._aggregate(indexes[i], indexes[i + 1]) for i in range(len(indexes) - 1)]

    def cumulative_usage(self, start: datetime, ends: Sequence[datetime]) -> list[Decimal]:
        lo = self._index(start)
        if self.aggregation is not MeterAggregation.UNIQUE_COUNT:
            return [self._aggregate(lo, self._index(end)) for end in ends]
        seen: set[object] = set()
        cursor = lo
        results: list[Decimal] = []
        for end in ends:
            hi = self._index(end)
            while cursor < hi:
                value = self._raw[cursor]
                if value is not None:
                    seen.add(value)
                cursor += 1
            results.append(Decimal(len(seen)))
        return results
