"""An in-process, incrementally refreshed cache of per-minute usage for SUM and COUNT meters.

A value computation asks for usage over hundreds of phase boundaries, all on whole minutes. Summing a
million usage rows for every request is what makes it slow; per-minute totals change only when
usage rows are added. So each (database, meter, meter version, subjects) keeps its minute totals and
the highest usage-row sequence number folded in; a request adds only rows above that watermark
(whatever their event time: late, backdated events included), then answers every window by
bisection over prefix sums.

The watermark only advances when no row below it can still appear (`quiescent`: SQLite serialises
writers; on PostgreSQL no other transaction is in flight and this one wrote nothing); otherwise the
new rows serve this request only and are read again next time. A meter update re-derives its rows,
so the meter's `updated_at` is part of the key. Features with group-by filters are not cached, nor
histories of more than MAX_MINUTES minutes with usage (memory); SQL answers those.
"""

from __future__ import annotations

import datetime as dt
import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MAX_ENTRIES = 256
MAX_MINUTES = 200_000
"""About 4.5 months of minutes with usage: larger histories are not cached (memory), SQL answers them."""
MAX_TOTAL_MINUTES = 1_000_000
"""All entries together (about 300 bytes a minute, so roughly 300 MB at worst); least recently used go first."""


@dataclass
class _Entry:
    watermark: int
    minutes: dict[int, Decimal]
    starts: list[int] = field(default_factory=list)
    prefix: list[Decimal] = field(default_factory=lambda: [Decimal(0)])

    def index(self) -> None:
        self.starts = sorted(self.minutes)
        total, prefix = Decimal(0), [Decimal(0)]
        for start in self.starts:
            total += self.minutes[start]
            prefix.append(total)
        self.prefix = prefix

    def before(self, epoch: int) -> Decimal:
        return self.prefix[bisect_left(self.starts, epoch)]


_CACHE: OrderedDict[tuple, _Entry] = OrderedDict()
_LOCK = threading.Lock()


def clear() -> None:
    with _LOCK:
        _CACHE.clear()


def _evict_locked() -> None:
    """Drop least recently used entries until both the entry count and the minute budget hold."""
    total = sum(len(entry.minutes) for entry in _CACHE.values())
    while _CACHE and (len(_CACHE) > MAX_ENTRIES or total > MAX_TOTAL_MINUTES):
        _, dropped = _CACHE.popitem(last=False)
        total -= len(dropped.minutes)


class CachedMinuteUsage:
    """A UsageSource: minute-aligned SUM/COUNT windows from the cache, anything else from `fallback`."""

    def __init__(self, repository: Any, meter: Any, subjects: Sequence[str], database_key: str, fallback: Any) -> None:
        self.repository = repository
        self.meter = meter
        self.subjects = tuple(sorted(set(subjects)))
        self.aggregation = getattr(meter.aggregation, "value", meter.aggregation)
        self.key = (database_key, meter.id, meter.updated_at, self.subjects, self.aggregation)
        self.fallback = fallback

    def _entry(self) -> _Entry | None:
        top = self.repository.max_seq(self.meter.id)
        with _LOCK:
            cached = _CACHE.get(self.key)
            if cached is not None:
                _CACHE.move_to_end(self.key)
        if cached is not None and cached.watermark >= top:
            return cached
        quiescent = self.repository.quiescent()  # checked after reading `top`: every row up to it is settled
        after = cached.watermark if cached is not None else 0
        rows = self.repository.minute_totals(self.meter.id, self.subjects, after_seq=after, upto_seq=top,
                                             count=self.aggregation == "COUNT")  # fmt: skip
        minutes = dict(cached.minutes) if cached is not None else {}
        for minute, value in rows:
            minutes[minute] = minutes.get(minute, Decimal(0)) + value
        if len(minutes) > MAX_MINUTES:
            with _LOCK:
                _CACHE.pop(self.key, None)
            return None
        entry = _Entry(watermark=top, minutes=minutes)
        entry.index()
        if quiescent:
            with _LOCK:
                current = _CACHE.get(self.key)
                if current is None or current.watermark < top:
                    _CACHE[self.key] = entry
                    _CACHE.move_to_end(self.key)
                    _evict_locked()
        return entry

    def usage_between(self, boundaries: Sequence[dt.datetime]) -> Sequence[Decimal]:
        aligned = all(b.second == 0 and b.microsecond == 0 for b in boundaries)
        if self.aggregation not in ("SUM", "COUNT") or not aligned or len(boundaries) < 2:
            return self.fallback.usage_between(boundaries)
        entry = self._entry()
        if entry is None:
            return self.fallback.usage_between(boundaries)
        cuts = [entry.before(int(b.timestamp())) for b in boundaries]
        return [cuts[i + 1] - cuts[i] if boundaries[i + 1] > boundaries[i] else Decimal(0) for i in range(len(cuts) - 1)]

    def cumulative_usage(self, start: dt.datetime, ends: Sequence[dt.datetime]) -> Sequence[Decimal]:
        return self.fallback.cumulative_usage(start, ends)
