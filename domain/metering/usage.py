"""`MeterUsageSource`: the credit engine's `UsageSource` over a meter's stored usage, in SQL.

One entitlement's usage: the meter's events whose subject is one of `subject_keys` and whose group-by
values equal `group_by_filters`. Each protocol call is one SQL query (long boundary lists are split
into a few), served from the rollups when every boundary is on a whole hour, else from the usage rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from domain.errors import ValidationError
from domain.metering.events import ceil_seconds
from domain.metering.meters import Meter, MeterService
from domain.metering.spec import UsageSpec, Windows

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

ZERO = Decimal(0)
_CHUNK = 400


def _instant(value: dt.datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("naive datetime: usage boundaries must be aware")
    return ceil_seconds(value)


class MeterUsageSource:
    """Usage of one meter for some subjects and group-by values (see `domain.credit.usage`)."""

    def __init__(self, session: Session, meter_id_or_key: str, subject_keys: list[str], group_by_filters: dict[str, str]):
        from storage.events import UsageRepository

        self.meter: Meter = MeterService(session).get(meter_id_or_key)
        unknown = sorted(set(group_by_filters) - set(self.meter.group_by))
        if unknown:
            raise ValidationError(f"meter {self.meter.key} has no group by {', '.join(unknown)}")
        self.subject_keys = tuple(sorted(set(subject_keys)))
        self.group_by_filters = dict(group_by_filters)
        self._usage = UsageRepository(session)

    def _ranges(self, ranges: list[tuple[int, int]]) -> list[Decimal]:
        results = [ZERO] * len(ranges)
        filters = tuple((key, {"$eq": value}) for key, value in sorted(self.group_by_filters.items()))
        for start in range(0, len(ranges), _CHUNK):
            chunk = ranges[start : start + _CHUNK]
            live = [(i, pair) for i, pair in enumerate(chunk) if pair[0] < pair[1]]
            if not live:
                continue
            spec = UsageSpec(
                meter=self.meter,
                lo=min(lo for _, (lo, _) in live),
                hi=max(hi for _, (_, hi) in live),
                windows=Windows(ranges=tuple(pair for _, pair in live)),
                subjects=self.subject_keys,
                group_filters=filters,
            )
            for row in self._usage.aggregate(spec):
                results[start + live[row.window][0]] = row.value
        return results

    def usage_between(self, boundaries: Sequence[dt.datetime]) -> list[Decimal]:
        instants = [_instant(b) for b in boundaries]
        return self._ranges([(instants[i], instants[i + 1]) for i in range(len(instants) - 1)])

    def cumulative_usage(self, start: dt.datetime, ends: Sequence[dt.datetime]) -> list[Decimal]:
        lo = _instant(start)
        return self._ranges([(lo, _instant(end)) for end in ends])
