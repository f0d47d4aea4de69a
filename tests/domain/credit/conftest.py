"""Fixtures for the credit engine tests (factories, so tests stay explicit)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import pytest

from domain.credit import (
    CreditEngine,
    Grant,
    InMemoryUsageSource,
    MeterAggregation,
    MeteredEntitlement,
    Recurrence,
    Reset,
)


class RecordingUsageSource:
    """Wraps a usage source and records every call (to assert batching)."""

    def __init__(self, inner: InMemoryUsageSource) -> None:
        self.inner = inner
        self.calls: list[tuple[str, tuple]] = []

    def usage_between(self, boundaries: Sequence[datetime]) -> list[Decimal]:
        self.calls.append(("usage_between", tuple(boundaries)))
        return self.inner.usage_between(boundaries)

    def cumulative_usage(self, start: datetime, ends: Sequence[datetime]) -> list[Decimal]:
        self.calls.append(("cumulative_usage", (start, *ends)))
        return self.inner.cumulative_usage(start, ends)


@pytest.fixture
def make_grant() -> Callable[..., Grant]:
    """``make_grant(id, amount, effective_at, priority=1, created_at=effective_at, ...)``."""

    def factory(
        id: str,
        amount: int | str | Decimal,
        effective_at: datetime,
        *,
        priority: int = 1,
        created_at: datetime | None = None,
        expires_at: datetime | None = None,
        voided_at: datetime | None = None,
        min_rollover: int | str | Decimal = 0,
        max_rollover: int | str | Decimal = 0,
        recurrence: Recurrence | None = None,
    ) -> Grant:
        return Grant(
            id=id,
            amount=Decimal(amount),
            priority=priority,
            effective_at=effective_at,
            created_at=created_at if created_at is not None else effective_at,
            expires_at=expires_at,
            voided_at=voided_at,
            min_rollover=Decimal(min_rollover),
            max_rollover=Decimal(max_rollover),
            recurrence=recurrence,
        )

    return factory


@pytest.fixture
def make_engine() -> Callable[..., CreditEngine]:
    """``make_engine(events, measure_usage_from, grants=..., period=..., ...)`` with an in-memory source."""

    def factory(
        events: Iterable[tuple[datetime, object]],
        measure_usage_from: datetime,
        *,
        grants: Iterable[Grant] = (),
        resets: Iterable[Reset] = (),
        period: Recurrence | None = None,
        aggregation: MeterAggregation = MeterAggregation.SUM,
        preserve_overage_at_reset: bool = False,
        is_soft_limit: bool = False,
        active_from: datetime | None = None,
        active_to: datetime | None = None,
        record: bool = False,
    ) -> CreditEngine:
        entitlement = MeteredEntitlement(
            usage_period=period if period is not None else Recurrence("MONTH", measure_usage_from),
            measure_usage_from=measure_usage_from,
            grants=tuple(grants),
            resets=tuple(resets),
            preserve_overage_at_reset=preserve_overage_at_reset,
            is_soft_limit=is_soft_limit,
            aggregation=aggregation,
            active_from=active_from,
            active_to=active_to,
        )
        source: object = InMemoryUsageSource(events, aggregation)
        if record:
            source = RecordingUsageSource(source)  # type: ignore[arg-type]
        return CreditEngine(entitlement, source)  # type: ignore[arg-type]

    return factory
