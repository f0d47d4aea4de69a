"""The entitlement usage source over the real usage store agrees with the metering one, window for window."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from domain.entitlements.customers import CustomerRef
from domain.entitlements.mapping import MeteringUsage, MinuteBucketedUsage
from domain.features import FeatureCreate, FeatureService
from domain.metering.events import Event
from domain.metering.meters import Aggregation, MeterInput, MeterService
from domain.metering.usage import MeterUsageSource
from domain.metering.events import data_text
from storage.events import EventRow, UsageRepository
from tests.conftest import truncate_all

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


def store(session, meter, stored: list[tuple[int, Event]]) -> None:
    """What ingest writes (the events and the meter's usage rows), with sequence numbers the test chooses."""
    from sqlalchemy import insert

    session.execute(insert(EventRow), [
        {"seq": seq, "source": e.source, "event_id": e.id, "type": e.type, "subject": e.subject, "time": e.time,
         "data": data_text(e.data), "specversion": "1.0", "dataschema": None, "ingested_at": e.time}
        for seq, e in stored
    ])  # fmt: skip
    UsageRepository(session).apply(meter, stored)


@pytest.mark.parametrize("aggregation", ["SUM", "COUNT"])
def test_minute_buckets_answer_like_the_meter(backend, aggregation):
    truncate_all(backend.database)
    rng = random.Random(7)
    with backend.database.session(write=True) as session:
        meter = MeterService(session).create(MeterInput(
            slug="m", aggregation=Aggregation(aggregation), event_type="m", group_by={"model": "$.model"},
            value_property="$.v" if aggregation == "SUM" else None), now=T0)  # fmt: skip
        base = int(T0.timestamp())
        events = [(i + 1, Event(id=str(i), source="t", type="m", subject=rng.choice(["a", "b", "z"]), time=base + rng.randrange(2 * 86400),
                                data={"v": str(Decimal(rng.randrange(1, 999)) / 100), "model": rng.choice(["x", "y"])}))
                  for i in range(3000)]  # fmt: skip
        store(session, meter, events)
        FeatureService(session).create(FeatureCreate(key="f", name="f", meter_slug="m", meter_group_by_filters={"model": "x"}), now=T0)
        feature = FeatureService(session).get("f")
        source = MeteringUsage(session).source(feature, CustomerRef(id="c", key="a", subject_keys=("b",)))
        assert isinstance(source, MinuteBucketedUsage)
        reference = MeterUsageSource(session, "m", ["a", "b"], {"model": "x"})
        boundaries = sorted({T0 + dt.timedelta(minutes=rng.randrange(3000)) for _ in range(40)})
        assert list(source.usage_between(boundaries)) == list(reference.usage_between(boundaries))
        # Few windows, or unaligned boundaries, go straight to the meter's source.
        odd = [T0 + dt.timedelta(seconds=30), T0 + dt.timedelta(hours=5, seconds=7)]
        assert list(source.usage_between(odd)) == list(reference.usage_between(odd))
        assert sum(source.usage_between(boundaries)) > 0


@pytest.mark.parametrize("aggregation", ["SUM", "COUNT"])
def test_the_minute_cache_follows_new_and_backdated_usage(backend, aggregation):
    from domain.entitlements import usage_cache
    from domain.entitlements.usage_cache import CachedMinuteUsage

    truncate_all(backend.database)
    usage_cache.clear()
    rng = random.Random(11)
    base = int(T0.timestamp())

    def events(first: int, n: int, span: int):
        return [(first + i, Event(id=str(first + i), source="t", type="m", subject=rng.choice(["a", "b", "z"]),
                                  time=base + rng.randrange(span), data={"v": str(rng.randrange(1, 99))}))
                for i in range(n)]  # fmt: skip

    with backend.database.session(write=True) as session:
        meter = MeterService(session).create(MeterInput(slug="m", aggregation=Aggregation(aggregation), event_type="m",
                                                        value_property="$.v" if aggregation == "SUM" else None), now=T0)  # fmt: skip
        store(session, meter, events(1, 2000, 86400))
        FeatureService(session).create(FeatureCreate(key="f", name="f", meter_slug="m"), now=T0)
    boundaries = sorted({T0 + dt.timedelta(minutes=rng.randrange(1500)) for _ in range(30)})
    customer = CustomerRef(id="c", key="a", subject_keys=("b",))

    def compare() -> None:
        with backend.database.session(write=False) as session:
            source = MeteringUsage(session).source(FeatureService(session).get("f"), customer)
            assert isinstance(source, CachedMinuteUsage)
            reference = MeterUsageSource(session, "m", ["a", "b"], {})
            assert list(source.usage_between(boundaries)) == list(reference.usage_between(boundaries))

    compare()
    compare()  # served from the cache
    with backend.database.session(write=True) as session:
        # New rows, some backdated before every boundary, some inside the windows.
        store(session, MeterService(session).get("m"), events(5000, 300, 86400))
    compare()
    with backend.database.session(write=True) as session:
        rolled_back = MeteringUsage(session).source(FeatureService(session).get("f"), customer)
        store(session, MeterService(session).get("m"), events(9000, 50, 86400))
        rolled_back.usage_between(boundaries)  # a writing session never stores what it sees
        session.rollback()
    compare()


def test_a_row_committed_late_below_the_watermark_is_not_lost(backend):
    """PostgreSQL sequences are not commit-ordered: a lower usage row may commit after a higher one."""
    from domain.entitlements import usage_cache

    if backend.name != "postgresql":
        pytest.skip("SQLite serialises writers")
    truncate_all(backend.database)
    usage_cache.clear()
    base = int(T0.timestamp())

    def event(seq: int, value: int):
        return [(seq, Event(id=str(seq), source="t", type="m", subject="a", time=base + 1200 * seq, data={"v": str(value)}))]  # separate days: no shared rollup row

    with backend.database.session(write=True) as session:
        meter = MeterService(session).create(MeterInput(slug="m", aggregation=Aggregation.SUM, event_type="m", value_property="$.v"), now=T0)
        FeatureService(session).create(FeatureCreate(key="f", name="f", meter_slug="m"), now=T0)
        store(session, meter, event(1, 1))
    customer = CustomerRef(id="c", key="a", subject_keys=())
    boundaries = [T0 + dt.timedelta(minutes=m) for m in range(0, 6000, 60)]

    def total() -> Decimal:
        with backend.database.session(write=False) as session:
            return sum(MeteringUsage(session).source(FeatureService(session).get("f"), customer).usage_between(boundaries))

    assert total() == 1
    with backend.database.session(write=True) as late:
        store(late, meter, event(100, 10))  # in flight, lower seq
        with backend.database.session(write=True) as early:
            store(early, meter, event(200, 100))  # commits first, higher seq
        assert total() == 101  # seq 100 is not visible yet; the cache must not settle past it
    assert total() == 111


def test_the_cache_keeps_within_its_minute_budget(monkeypatch):
    from decimal import Decimal

    from domain.entitlements import usage_cache

    usage_cache.clear()
    monkeypatch.setattr(usage_cache, "MAX_TOTAL_MINUTES", 10)
    with usage_cache._LOCK:
        for name in ("oldest", "middle", "newest"):
            usage_cache._CACHE[name] = usage_cache._Entry(watermark=1, minutes={m: Decimal(1) for m in range(4)})
        usage_cache._evict_locked()
        kept = list(usage_cache._CACHE)
    usage_cache.clear()
    # 12 minutes over a budget of 10: the least recently used entry goes, the others stay.
    assert kept == ["middle", "newest"]
