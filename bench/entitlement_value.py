"""getEntitlementValue end to end below HTTP: stored entitlement, 100 stored grants, 1M usage events in SQL.

Scenario (the issue's target: < 50 ms median): one customer, one SUM meter, a metered entitlement with
a monthly usage period and 100 grants (60 one-off with staggered effective and expiry times, 5 of
them voided, 25 recurring daily and 15 weekly, each on its own anchor), 1,000,000 usage events over
the month. Timed: `EntitlementService.value()` at the end of the month in a fresh read session each
run, i.e. loading entitlement, grants and resets, the meter, the customer, the usage (per-minute
usage cache, `domain.entitlements.usage_cache`, refreshed from the usage rows) and the burn-down.
The first run fills the cache (cold); the figure is the median of the runs after it. HTTP framing
(a few ms) is not included.

Events are loaded through the metering store's derivation path (`UsageRepository.apply`: usage rows
and hourly/daily rollups), as ingest would store them, without the per-event HTTP validation.

    python bench/entitlement_value.py [--events N] [--runs R] [--postgres postgresql://...]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

START = datetime(2024, 5, 1, tzinfo=timezone.utc)
NOW = datetime(2024, 5, 31, 23, 58, 30, tzinfo=timezone.utc)
MONTH_SECONDS = 31 * 24 * 3600


def grants(rng: random.Random, entitlement_id: str):
    from domain.entitlements.model import StoredGrant
    from domain.ids import new_id

    out = []
    for i in range(100):
        effective = START + timedelta(minutes=rng.randrange(0, 28 * 24 * 60))
        interval = anchor = expires = voided = None
        if i < 25:
            effective, interval, anchor = START, "P1D", START + timedelta(minutes=rng.randrange(0, 24 * 60))
        elif i < 40:
            effective, interval, anchor = START, "P1W", START + timedelta(minutes=rng.randrange(0, 7 * 24 * 60))
        else:
            expires = effective + timedelta(days=rng.choice([1, 3, 7, 14, 30]))
            if i % 12 == 0:
                voided = effective + timedelta(hours=rng.randrange(1, 48))
        out.append(StoredGrant(
            id=new_id(), entitlement_id=entitlement_id, amount=Decimal(rng.randrange(1_000, 50_000)), priority=rng.randrange(1, 6),
            effective_at=effective, created_at=effective - timedelta(minutes=rng.randrange(0, 600)), updated_at=START,
            expires_at=expires, min_rollover=Decimal(0), max_rollover=Decimal(rng.choice([0, 500, 5_000])),
            recurrence_interval=interval, recurrence_anchor=anchor, voided_at=voided,
        ))  # fmt: skip
    return out


def setup(database, events: int):
    from domain.customers import CustomerInput, CustomerService
    from domain.entitlements.service import EntitlementCreate, EntitlementService
    from domain.features import FeatureCreate, FeatureService
    from domain.metering.events import Event
    from domain.metering.meters import Aggregation, MeterInput, MeterService
    from storage.events import EventRepository

    rng = random.Random(20240501)
    with database.session(write=True) as session:
        CustomerService(session).create(CustomerInput(name="Bench", key="bench", subject_keys=("bench-sub",)), now=START)
        meter = MeterService(session).create(
            MeterInput(slug="bench_tokens", aggregation=Aggregation.SUM, event_type="bench", value_property="$.tokens"), now=START)
        FeatureService(session).create(FeatureCreate(key="bench_tokens", name="Bench", meter_slug="bench_tokens"), now=START)
        service = EntitlementService(session)
        entitlement = service.create(service.customer("bench"), EntitlementCreate(
            type="metered", feature_key="bench_tokens", usage_period_interval="P1M", usage_period_anchor=START,
            measure_usage_from=START), now=START)  # fmt: skip
        for grant in grants(rng, entitlement.id):
            service.repo.save_grant(grant)
    began = time.perf_counter()
    base = int(START.timestamp())
    batch = 50_000
    for first in range(0, events, batch):
        with database.session(write=True) as session:
            stored = [Event(id=str(first + i), source="bench", type="bench", subject="bench-sub",
                            time=base + rng.randrange(MONTH_SECONDS), data={"tokens": rng.randrange(1, 4)})
                      for i in range(min(batch, events - first))]  # fmt: skip
            EventRepository(session).ingest(stored, [meter], ingested_at=base)  # events and usage rows, as ingest stores them
    print(f"setup: {events:,} events stored in {time.perf_counter() - began:.1f} s", flush=True)
    return entitlement.id


def measure(database, entitlement_id: str, runs: int) -> None:
    from domain.entitlements.service import EntitlementService

    samples, value = [], None
    for _ in range(runs):
        began = time.perf_counter()
        with database.session(write=False) as session:
            service = EntitlementService(session)
            value = service.value(service.get(entitlement_id), at=NOW)
        samples.append(time.perf_counter() - began)
    print(f"value: balance={value.balance} usage={value.usage} overage={value.overage}")
    warm = samples[1:] or samples
    print(f"getEntitlementValue ({database.dialect}): first (cold cache) {samples[0] * 1000:.1f} ms; then median "
          f"{statistics.median(warm) * 1000:.1f} ms, min {min(warm) * 1000:.1f} ms, max {max(warm) * 1000:.1f} ms "
          f"over {len(warm)} runs", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--postgres", help="also run on this PostgreSQL database (it must be empty)")
    args = parser.parse_args()

    import storage.all_tables  # noqa: F401
    from storage.db import Database

    with tempfile.TemporaryDirectory() as tmp:
        urls = [f"sqlite:///{tmp}/bench.db"] + ([args.postgres] if args.postgres else [])
        for url in urls:
            database = Database(url)
            database.migrate()
            entitlement_id = setup(database, args.events)
            measure(database, entitlement_id, args.runs)
            database.dispose()


if __name__ == "__main__":
    main()
