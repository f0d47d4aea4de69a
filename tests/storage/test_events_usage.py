"""Events, usage rows, rollups and `MeterUsageSource`, on every backend."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from domain.credit.usage import InMemoryUsageSource, UsageSource
from domain.errors import NotFoundError
from domain.metering.events import EventService
from domain.metering.meters import Aggregation, MeterInput, MeterService
from domain.metering.usage import MeterUsageSource
from tests.conftest import truncate_all

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def db(backend):
    truncate_all(backend.database)
    return backend.database


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def event(n: int, minutes: float, subject: str = "s1", type_: str = "tokens", **data) -> dict:
    return {"id": f"e{n}", "source": "test", "specversion": "1.0", "type": type_, "subject": subject,
            "time": at(minutes).isoformat(), "data": data}  # fmt: skip


def make_meter(session, slug: str, aggregation: Aggregation, value: str | None = "$.v", group_by=None, **kw):
    data = MeterInput(slug=slug, aggregation=aggregation, event_type="tokens",
                      value_property=None if aggregation is Aggregation.COUNT else value, group_by=group_by or {}, **kw)  # fmt: skip
    return MeterService(session).create(data, now=T0)


def ingest(db, events):
    with db.session() as session:
        return EventService(session).ingest(events, now=at(10_000))


BOUNDARIES = [at(0), at(60), at(90), at(120), at(24 * 60)]


@pytest.mark.parametrize("aggregation", [Aggregation.SUM, Aggregation.COUNT, Aggregation.UNIQUE_COUNT, Aggregation.LATEST])
def test_usage_source_matches_the_in_memory_reference(db, aggregation):
    raw = [event(i, m, subject=s, v=v, model=g) for i, (m, s, v, g) in enumerate([
        (0, "s1", "1.1", "a"), (30, "s1", 2, "b"), (59.99, "s2", "0.1", "a"), (60, "s1", 0.2, "a"),
        (61, "s1", "x", "a"), (89, "s3", 5, "a"), (100, "s1", "0.3", "a"), (100, "s1", 7, "a"), (2000, "s1", 1, "a"),
    ])]  # fmt: skip
    with db.session() as session:
        make_meter(session, "m", aggregation, group_by={"model": "$.model"})
    # Ingested in two batches so rollups merge across transactions.
    assert ingest(db, raw[:4]) == 4
    assert ingest(db, raw[4:] + raw[:2]) == 5  # duplicates dropped
    with db.session(write=False) as session:
        source = MeterUsageSource(session, "m", ["s1", "s2"], {"model": "a"})
        assert isinstance(source, UsageSource)
        kept = [(at(m), v) for m, s, v, g in [(0, "s1", "1.1", "a"), (59.99, "s2", "0.1", "a"), (60, "s1", "0.2", "a"),
                (61, "s1", "x", "a"), (100, "s1", "0.3", "a"), (100, "s1", "7", "a"), (2000, "s1", "1", "a")]]  # fmt: skip
        if aggregation in (Aggregation.SUM, Aggregation.LATEST):
            kept = [(t, v) for t, v in kept if v != "x"]
        # Event times are whole seconds: 59.99 minutes is stored as 59:59.
        kept = [(t.replace(microsecond=0), v) for t, v in kept]
        reference = InMemoryUsageSource(kept, aggregation.value)
        assert source.usage_between(BOUNDARIES) == reference.usage_between(BOUNDARIES)
        ends = [at(0), at(60), at(100), at(100.5), at(3000)]
        assert source.cumulative_usage(at(0), ends) == reference.cumulative_usage(at(0), ends)


def test_sums_are_exact(db):
    with db.session() as session:
        make_meter(session, "m", Aggregation.SUM)
    ingest(db, [event(i, i, v="0.1") for i in range(10)] + [event(99, 1, v="123456789012345678901234567890.000000001")])
    with db.session(write=False) as session:
        hourly = MeterUsageSource(session, "m", ["s1"], {}).usage_between([at(0), at(60)])
        minutely = MeterUsageSource(session, "m", ["s1"], {}).usage_between([at(0), at(59)])
    assert hourly == [Decimal("123456789012345678901234567891.000000001")]
    assert minutely == [Decimal("123456789012345678901234567891.000000001")]


def test_unknown_meter_is_not_found(db):
    with db.session(write=False) as session:
        with pytest.raises(NotFoundError):
            MeterUsageSource(session, "nope", ["s1"], {})


def test_meter_created_after_events_sees_them_and_event_from_applies(db):
    ingest(db, [event(i, i * 30, v=1) for i in range(4)])
    with db.session() as session:
        make_meter(session, "late", Aggregation.SUM, event_from=at(45))
    with db.session(write=False) as session:
        assert MeterUsageSource(session, "late", ["s1"], {}).usage_between([at(0), at(200)]) == [Decimal(2)]


def test_overlapping_batches_at_once_store_every_event_once(db):
    """Three batches of 600 (more than one PostgreSQL pipeline chunk), overlapping, posted at once:
    the later writers meet the first one's events and still store, meter and roll up each event once."""
    with db.session() as session:
        make_meter(session, "sum", Aggregation.SUM)
        make_meter(session, "count", Aggregation.COUNT)
    batches = [[event(i, i, v=i % 7) for i in range(start, start + 600)] for start in (0, 300, 150)]
    barrier = threading.Barrier(len(batches))

    def post(batch):
        barrier.wait()
        return ingest(db, batch)

    with ThreadPoolExecutor(len(batches)) as pool:
        stored = list(pool.map(post, batches))
    assert sum(stored) == 900
    with db.session(write=False) as session:
        day = [at(0), at(24 * 60)]  # day-aligned: read from the rollups
        assert MeterUsageSource(session, "sum", ["s1"], {}).usage_between(day) == [Decimal(sum(i % 7 for i in range(900)))]
        unaligned = [at(0), at(899.5)]  # read from the usage rows
        assert MeterUsageSource(session, "count", ["s1"], {}).usage_between(unaligned) == [Decimal(900)]


def test_batches_retried_again_and_again_are_stored_once(db):
    """A batch holding events stored before (a client retry) takes the insert-new-only path, over and
    over on the same connection, between ordinary batches (on PostgreSQL: a failed pipeline must not
    leave the driver believing in statements the server never prepared)."""
    with db.session() as session:
        make_meter(session, "sum", Aggregation.SUM)
    for round_ in range(8):
        fresh = [event(round_ * 1000 + i, i, v=1) for i in range(300)]
        assert ingest(db, fresh) == 300
        # The stored events come first in one retry, last (after two clean pipeline chunks) in the other.
        retried = fresh[:10] + [event(round_ * 1000 + 400 + i, i, v=1) for i in range(300)]
        assert ingest(db, retried) == 300
        retried = [event(round_ * 1000 + 700 + i, i, v=1) for i in range(290)] + fresh[-10:]
        assert ingest(db, retried) == 290
    with db.session(write=False) as session:
        assert MeterUsageSource(session, "sum", ["s1"], {}).usage_between([at(0), at(24 * 60)]) == [Decimal(8 * 890)]
