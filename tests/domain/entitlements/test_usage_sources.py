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
from storage.events import UsageRepository
from tests.conftest import truncate_all

T0 = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


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
        UsageRepository(session).apply(meter, events)
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
