"""Catalog repositories on every backend: status filters in SQL agree with the computed status."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from domain.catalog.model import ListQuery, Plan
from domain.errors import ConflictError
from storage.catalog import PlanRepository
from tests.conftest import truncate_all

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def db(backend):
    truncate_all(backend.database)
    return backend.database


def _plan(n: int, effective_from=None, effective_to=None, **changes) -> Plan:
    fields = dict(id=f"01J00000000000000000000{n:03d}", key=f"plan_{n}", version=1, name="P", description=None,
                  metadata=None, currency="USD", billing_cadence="P1M", pro_rating={"enabled": True, "mode": "prorate_prices"},
                  phases=[{"key": "default", "name": "D", "duration": None, "rateCards": [
                      {"type": "flat_fee", "key": "fee", "name": "Fee", "billingCadence": "P1M",
                       "price": {"type": "flat", "amount": "0.1", "paymentTerm": "in_advance"}}]}],
                  effective_from=effective_from, effective_to=effective_to, created_at=NOW, updated_at=NOW)  # fmt: skip
    fields.update(changes)
    return Plan(**fields)


def test_status_filters_match_the_computed_status(db):
    plans = [
        _plan(1),  # draft
        _plan(2, NOW - HOUR),  # active
        _plan(3, NOW - HOUR, NOW + HOUR),  # active until later
        _plan(4, NOW - 2 * HOUR, NOW),  # archived exactly now
        _plan(5, NOW + HOUR),  # scheduled
    ]
    with db.session(write=True) as session:
        repository = PlanRepository(session)
        for plan in plans:
            repository.insert(plan)
    with db.session() as session:
        repository = PlanRepository(session)
        for status in ("draft", "active", "archived", "scheduled"):
            found, total = repository.list(ListQuery(statuses=[status]), now=NOW)
            assert [p.id for p in found] == [p.id for p in plans if p.status(NOW) == status], status
            assert total == len(found)
        # Money and the whole document round-trip exactly.
        assert repository.get_by_id(plans[0].id).phases == plans[0].phases


def test_key_and_version_are_unique(db):
    with db.session(write=True) as session:
        PlanRepository(session).insert(_plan(1))
    with pytest.raises(ConflictError):
        with db.session(write=True) as session:
            PlanRepository(session).insert(dataclasses.replace(_plan(2), key="plan_1"))
