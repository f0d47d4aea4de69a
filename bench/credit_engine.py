"""Micro-benchmark of the credit engine (not a test).

Scenario: one metered entitlement (monthly usage period, SUM meter) with 100
grants -- 60 one-off grants with staggered effective and expiry times, 5 of
them voided, 25 recurring daily and 15 recurring weekly, each on its own
anchor -- and 1,000,000 usage events over a month. Measures ``value_at`` at
the end of the month and a DAY/HOUR history over the month.

The usage source is the in-memory reference implementation (bisection over
prefix sums). Its time is measured separately and subtracted, so "engine"
is the engine's own work; "total" includes the source.

Run from the repository root:  python bench/credit_engine.py [--events N] [--runs R]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.credit import (  # noqa: E402
    CreditEngine,
    Grant,
    InMemoryUsageSource,
    MeterAggregation,
    MeteredEntitlement,
    Recurrence,
)

START = datetime.fromisoformat("2024-05-01T00:00:00+00:00")
MONTH_SECONDS = 31 * 24 * 3600


class TimedSource:
    """Forwards to the in-memory source and accumulates the time spent there."""

    def __init__(self, inner: InMemoryUsageSource) -> None:
        self.inner = inner
        self.seconds = 0.0
        self.calls = 0
        self.windows = 0

    def usage_between(self, boundaries: Sequence[datetime]) -> list[Decimal]:
        began = time.perf_counter()
        try:
            return self.inner.usage_between(boundaries)
        finally:
            self.seconds += time.perf_counter() - began
            self.calls += 1
            self.windows += len(boundaries) - 1

    def cumulative_usage(self, start: datetime, ends: Sequence[datetime]) -> list[Decimal]:
        began = time.perf_counter()
        try:
            return self.inner.cumulative_usage(start, ends)
        finally:
            self.seconds += time.perf_counter() - began
            self.calls += 1
            self.windows += len(ends)


def build_grants(rng: random.Random) -> list[Grant]:
    grants: list[Grant] = []
    for i in range(100):
        offset = timedelta(minutes=rng.randrange(0, 28 * 24 * 60))
        effective = START + offset
        recurrence = None
        expires = None
        voided = None
        if i < 25:
            effective = START - timedelta(days=1)
            recurrence = Recurrence("DAY", START + timedelta(minutes=rng.randrange(0, 24 * 60)))
        elif i < 40:
            effective = START - timedelta(days=1)
            recurrence = Recurrence("WEEK", START + timedelta(minutes=rng.randrange(0, 7 * 24 * 60)))
        else:
            expires = effective + timedelta(days=rng.choice([1, 3, 7, 14, 30]))
            if i % 12 == 0:
                voided = effective + timedelta(hours=rng.randrange(1, 48))
        grants.append(
            Grant(
                id=f"grant-{i:03d}",
                amount=Decimal(rng.randrange(1_000, 50_000)),
                priority=rng.randrange(1, 6),
                effective_at=effective,
                created_at=effective - timedelta(minutes=rng.randrange(0, 600)),
                expires_at=expires,
                voided_at=voided,
                min_rollover=Decimal(0),
                max_rollover=Decimal(rng.choice([0, 500, 5_000])),
                recurrence=recurrence,
            )
        )
    return grants


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()

    rng = random.Random(20240501)
    began = time.perf_counter()
    events = [
        (START + timedelta(seconds=rng.randrange(MONTH_SECONDS)), rng.randrange(1, 4)) for _ in range(args.events)
    ]
    source = InMemoryUsageSource(events, MeterAggregation.SUM)
    print(f"setup: {len(source):,} events indexed in {time.perf_counter() - began:.1f} s")

    entitlement = MeteredEntitlement(
        usage_period=Recurrence("MONTH", START),
        measure_usage_from=START,
        grants=tuple(build_grants(rng)),
        preserve_overage_at_reset=False,
    )
    # 23:58:30 rounds up to 23:59, the last minute of the period (00:00 would be the June reset)
    at = START + timedelta(days=30, hours=23, minutes=58, seconds=30)

    def measure(label: str, call) -> None:
        totals: list[float] = []
        engine_only: list[float] = []
        timed = TimedSource(source)
        engine = CreditEngine(entitlement, timed)
        result = None
        for _ in range(args.runs):
            timed.seconds = 0.0
            timed.calls = 0
            timed.windows = 0
            t0 = time.perf_counter()
            result = call(engine)
            elapsed = time.perf_counter() - t0
            totals.append(elapsed)
            engine_only.append(elapsed - timed.seconds)
        print(
            f"{label:<34} engine median {median_ms(engine_only):7.2f} ms | total {median_ms(totals):7.2f} ms "
            f"| source calls {timed.calls}, windows {timed.windows}"
        )
        return result

    value = measure("value_at (end of month)", lambda e: e.value_at(at))
    print(
        f"  -> balance {value.balance}, usage {value.usage}, overage {value.overage}, "
        f"{len(value.grant_balances)} active grants"
    )
    measure("history DAY windows (month)", lambda e: e.history(from_=START, to=at, window_size="DAY"))
    measure(
        "history HOUR windows (month, Budapest)",
        lambda e: e.history(from_=START, to=at, window_size="HOUR", time_zone="Europe/Budapest"),
    )


if __name__ == "__main__":
    main()
