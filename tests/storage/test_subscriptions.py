"""Subscription repository on every backend: documents round-trip exactly, lists and the plan-key lookup."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from domain.subscriptions.model import Item, Phase, PlanRef, Subscription
from storage.subscriptions import SubscriptionRepository
from tests.conftest import truncate_all

NOW = dt.datetime(2026, 6, 1, 12, 30, 15, 123456, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


@pytest.fixture
def db(backend):
    truncate_all(backend.database)
    return backend.database


def _subscription(n: int, customer: str = "01J0000000000000000000C001", *, active_from=NOW, active_to=None, plan_key="pro",
                  deleted_at=None) -> Subscription:  # fmt: skip
    card = {"type": "flat_fee", "key": "fee", "name": "Fee", "billingCadence": "P1M",
            "price": {"type": "flat", "amount": "0.10000000000000000001", "paymentTerm": "in_advance"}}  # fmt: skip
    item = Item(id=f"01J00000000000000000000I{n:02d}", key="fee", rate_card=card, active_from=active_from, active_to=None,
                created_at=NOW, updated_at=NOW)  # fmt: skip
    phase = Phase(id=f"01J00000000000000000000P{n:02d}", key="default", name="Default", description=None, metadata={"a": "b"},
                  discounts=None, active_from=active_from, items=[item], created_at=NOW, updated_at=NOW)  # fmt: skip
    return Subscription(
        id=f"01J00000000000000000000S{n:02d}", customer_id=customer, name="Pro", description=None, metadata=None,
        plan=PlanRef("01J0000000000000000000PL01", plan_key, 3) if plan_key else None, currency="USD", billing_cadence="P1M",
        pro_rating={"enabled": True, "mode": "prorate_prices"}, billing_anchor=active_from, active_from=active_from,
        active_to=active_to, phases=[phase], created_at=NOW, updated_at=NOW, deleted_at=deleted_at,
        annotations={"subscription.previous.id": "x"},
    )  # fmt: skip


def test_round_trip_is_exact(db):
    subscription = _subscription(1, active_to=NOW + 30 * DAY)
    with db.session() as session:
        SubscriptionRepository(session).save(subscription)
    with db.session(write=False) as session:
        loaded = SubscriptionRepository(session).get(subscription.id)
    assert loaded == subscription  # times to the microsecond, UTC; money as its exact string
    assert loaded.phases[0].items[0].rate_card["price"]["amount"] == "0.10000000000000000001"


def test_lists_and_plan_key_lookup(db):
    other = "01J0000000000000000000C002"
    with db.session() as session:
        repo = SubscriptionRepository(session)
        repo.save(_subscription(1, active_from=NOW - 10 * DAY, active_to=NOW - DAY))  # ended
        repo.save(_subscription(2, active_from=NOW - DAY))  # active
        repo.save(_subscription(3, active_from=NOW + DAY, deleted_at=NOW))  # deleted
        repo.save(_subscription(4, other, active_from=NOW + DAY))  # scheduled
        repo.save(_subscription(5, "01J0000000000000000000C003", active_from=NOW - DAY, plan_key=None))  # custom
    with db.session(write=False) as session:
        repo = SubscriptionRepository(session)
        assert [s.id[-3:] for s in repo.of_customer("01J0000000000000000000C001")] == ["S01", "S02"]
        assert repo.customers_with_plan_key("pro", NOW) == {"01J0000000000000000000C001"}
        assert repo.customers_with_plan_key("pro", NOW + 2 * DAY) == {"01J0000000000000000000C001", other}
        assert repo.customers_with_plan_key("other", NOW) == set()


def test_save_replaces_the_document(db):
    subscription = _subscription(1)
    with db.session() as session:
        SubscriptionRepository(session).save(subscription)
    changed = dataclasses.replace(subscription, active_to=NOW + DAY, phases=[], annotations={})
    with db.session() as session:
        SubscriptionRepository(session).save(changed)
    with db.session(write=False) as session:
        assert SubscriptionRepository(session).get(subscription.id) == changed


def test_running_subscriptions_of_many_customers_in_one_query(db, backend):
    """currentSubscriptionId and the customers' `subscriptions` expand: what runs at a time, per customer,
    for a whole page of customers in one statement."""
    from sqlalchemy import event

    from domain.subscriptions.service import SubscriptionService

    a, b, c, d = (f"01J0000000000000000000C00{n}" for n in range(1, 5))
    with db.session() as session:
        repo = SubscriptionRepository(session)
        repo.save(_subscription(1, a, active_from=NOW - 10 * DAY, active_to=NOW - DAY))  # ended
        repo.save(_subscription(2, a, active_from=NOW - DAY, active_to=NOW + DAY))  # canceled, still running
        repo.save(_subscription(3, a, active_from=NOW + DAY))  # scheduled follow-up
        repo.save(_subscription(4, b, active_from=NOW + DAY))  # only scheduled
        repo.save(_subscription(5, c, active_from=NOW - DAY, deleted_at=NOW - DAY / 2))  # deleted
        repo.save(_subscription(6, c, active_from=NOW - DAY, active_to=NOW - DAY))  # canceled before it started
        repo.save(_subscription(7, d, active_from=NOW))  # starts exactly now

    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    with db.session(write=False) as session:
        event.listen(backend.database.engine, "before_cursor_execute", record)
        try:
            running = SubscriptionService(session).running_of_customers([a, b, c, d, "01J0000000000000000000C009"], at=NOW)
        finally:
            event.remove(backend.database.engine, "before_cursor_execute", record)
        ids = {customer: [s.id[-3:] for s in subs] for customer, subs in running.items()}
        assert ids == {a: ["S02"], b: [], c: [], d: ["S07"], "01J0000000000000000000C009": []}
        assert len(statements) == 1, statements
        # Later the canceled one has ended and the scheduled ones run.
        later = SubscriptionService(session).running_of_customers([a, b, d], at=NOW + DAY)
        assert {customer: [s.id[-3:] for s in subs] for customer, subs in later.items()} == {a: ["S03"], b: ["S04"], d: ["S07"]}
        assert SubscriptionService(session).running_of_customers([], at=NOW) == {}
