"""Stored entitlements, grants and resets as the credit engine's inputs, and where usage comes from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from sqlalchemy.orm import Session

from domain.credit import Grant, MeterAggregation, MeteredEntitlement, Recurrence, Reset, UsageSource
from domain.entitlements.customers import CustomerRef
from domain.entitlements.model import Entitlement, StoredGrant, StoredReset
from domain.features import Feature


def usage_period(entitlement: Entitlement) -> Recurrence | None:
    if entitlement.usage_period_interval is None or entitlement.usage_period_anchor is None:
        return None
    return Recurrence(entitlement.usage_period_interval, entitlement.usage_period_anchor)


def credit_grant(grant: StoredGrant) -> Grant:
    recurrence = None
    if grant.recurrence_interval is not None:
        recurrence = Recurrence(grant.recurrence_interval, grant.recurrence_anchor or grant.effective_at)
    return Grant(
        id=grant.id, amount=grant.amount, priority=grant.priority, effective_at=grant.effective_at,
        created_at=grant.created_at, expires_at=grant.expires_at, voided_at=grant.voided_at,
        min_rollover=grant.min_rollover, max_rollover=grant.max_rollover, recurrence=recurrence,
    )  # fmt: skip


def metered_entitlement(entitlement: Entitlement, grants: Sequence[StoredGrant], resets: Sequence[StoredReset],
                        aggregation: str = "SUM") -> MeteredEntitlement:  # fmt: skip
    period = usage_period(entitlement)
    assert period is not None and entitlement.measure_usage_from is not None, "a metered entitlement has a usage period"
    return MeteredEntitlement(
        usage_period=period,
        measure_usage_from=entitlement.measure_usage_from,
        grants=tuple(credit_grant(g) for g in grants if g.deleted_at is None),
        resets=tuple(Reset(r.at, preserve_overage=r.preserve_overage, retain_anchor=r.retain_anchor) for r in resets),
        preserve_overage_at_reset=entitlement.preserve_overage_at_reset,
        is_soft_limit=entitlement.is_soft_limit,
        aggregation=MeterAggregation(aggregation if aggregation in MeterAggregation.__members__ else "SUM"),
        active_from=entitlement.active_from,
        active_to=entitlement.ends_at,
    )


class UsageSources(Protocol):
    def aggregation(self, feature: Feature) -> str:
        """The aggregation of the feature's meter (SUM, COUNT, UNIQUE_COUNT, LATEST)."""
        ...

    def source(self, feature: Feature, customer: CustomerRef) -> UsageSource:
        """Usage of the feature's meter for the customer's subjects, narrowed by the feature's filters."""
        ...


class _NoUsage:
    def usage_between(self, boundaries: Sequence[dt.datetime]) -> list[Decimal]:
        return [Decimal(0)] * max(len(boundaries) - 1, 0)

    def cumulative_usage(self, start: dt.datetime, ends: Sequence[dt.datetime]) -> list[Decimal]:
        return [Decimal(0)] * len(ends)


class MeteringUsage:
    """UsageSources over domain.metering: the meter's aggregation and its SQL usage source."""

    def __init__(self, session: Session):
        self.session = session
        self._aggregations: dict[str, str] = {}

    def aggregation(self, feature: Feature) -> str:
        slug = feature.meter_slug
        if slug is None:
            return "SUM"
        if slug not in self._aggregations:
            from domain.errors import NotFoundError
            from domain.features import MeteringMeters

            try:
                self._aggregations[slug] = MeteringMeters(self.session).get(slug).aggregation
            except NotFoundError:
                self._aggregations[slug] = "SUM"
        return self._aggregations[slug]

    def source(self, feature: Feature, customer: CustomerRef) -> UsageSource:
        from domain.metering.usage import MeterUsageSource

        if feature.meter_slug is None:
            return _NoUsage()
        legacy = feature.legacy_group_by_filters
        if legacy is not None or not feature.meter_group_by_filters:
            inner = MeterUsageSource(self.session, feature.meter_slug, list(customer.usage_subjects), legacy or {})
            filters = tuple((key, {"$eq": value}) for key, value in sorted((legacy or {}).items()))
        else:
            inner = _AdvancedFilterUsage(self.session, feature.meter_slug, list(customer.usage_subjects), feature.meter_group_by_filters)
            filters = tuple(sorted(feature.meter_group_by_filters.items()))
        bucketed = MinuteBucketedUsage(inner, filters)
        aggregation = getattr(inner.meter.aggregation, "value", inner.meter.aggregation)
        if filters or aggregation not in ("SUM", "COUNT"):
            return bucketed
        from domain.entitlements.usage_cache import CachedMinuteUsage
        from storage.entitlements import MinuteUsageRepository

        database_key = self.session.get_bind().url.render_as_string(hide_password=True)
        return CachedMinuteUsage(MinuteUsageRepository(self.session), inner.meter, inner.subject_keys, database_key, bucketed)


class MinuteBucketedUsage:
    """Many windows at once for additive meters: one per-minute GROUP BY, then sums over the buckets.

    A value or history computation asks for usage over hundreds of phase boundaries (every grant
    start, expiry, void and recurrence). Asking SQL for each window separately costs per row and
    window; every boundary the engine uses is a whole minute, so for SUM and COUNT one query grouped
    by minute over `[first, last)` answers all of them (prefix sums + bisection). Anything else
    (unaligned boundaries, UNIQUE_COUNT, LATEST, cumulative questions) goes to the inner source.
    """

    MIN_WINDOWS = 8

    def __init__(self, inner: UsageSource, filters: tuple) -> None:
        self.inner = inner
        self.filters = filters

    def usage_between(self, boundaries: Sequence[dt.datetime]) -> Sequence[Decimal]:
        meter = getattr(self.inner, "meter", None)
        aggregation = getattr(getattr(meter, "aggregation", None), "value", None)
        epochs = [int(b.timestamp()) for b in boundaries]
        aligned = all(b.second == 0 and b.microsecond == 0 for b in boundaries) and epochs == sorted(epochs)
        if aggregation not in ("SUM", "COUNT") or not aligned or len(boundaries) - 1 < self.MIN_WINDOWS or epochs[0] >= epochs[-1]:
            return self.inner.usage_between(boundaries)
        from bisect import bisect_left

        from domain.metering.spec import UsageSpec, Windows

        spec = UsageSpec(meter=meter, lo=epochs[0], hi=epochs[-1], windows=Windows(length=60, offset=0),
                         subjects=self.inner.subject_keys, group_filters=self.filters)  # fmt: skip
        rows = sorted((row.window, row.value) for row in self.inner._usage.aggregate(spec))
        starts = [start for start, _ in rows]
        prefix = [Decimal(0)]
        for _, value in rows:
            prefix.append(prefix[-1] + value)
        cut = [prefix[bisect_left(starts, epoch)] for epoch in epochs]
        return [cut[i + 1] - cut[i] for i in range(len(epochs) - 1)]

    def cumulative_usage(self, start: dt.datetime, ends: Sequence[dt.datetime]) -> Sequence[Decimal]:
        return self.inner.cumulative_usage(start, ends)


def _advanced_usage_class():
    from domain.metering.spec import UsageSpec, Windows
    from domain.metering.usage import _CHUNK, MeterUsageSource

    class AdvancedFilterUsage(MeterUsageSource):
        """MeterUsageSource with the feature's advanced filters (`$in`, `$ne`, ...) instead of plain equality."""

        def __init__(self, session: Session, meter: str, subjects: list[str], filters: dict[str, dict]):
            super().__init__(session, meter, subjects, {})
            self.advanced = tuple(sorted(filters.items()))

        def _ranges(self, ranges: list[tuple[int, int]]) -> list[Decimal]:
            results = [Decimal(0)] * len(ranges)
            for start in range(0, len(ranges), _CHUNK):
                chunk = ranges[start : start + _CHUNK]
                live = [(i, pair) for i, pair in enumerate(chunk) if pair[0] < pair[1]]
                if not live:
                    continue
                spec = UsageSpec(meter=self.meter, lo=min(lo for _, (lo, _) in live), hi=max(hi for _, (_, hi) in live),
                                 windows=Windows(ranges=tuple(pair for _, pair in live)), subjects=self.subject_keys,
                                 group_filters=self.advanced)  # fmt: skip
                for row in self._usage.aggregate(spec):
                    results[start + live[row.window][0]] = row.value
            return results

    return AdvancedFilterUsage


def _AdvancedFilterUsage(session: Session, meter: str, subjects: list[str], filters: dict[str, dict]) -> UsageSource:
    return _advanced_usage_class()(session, meter, subjects, filters)
