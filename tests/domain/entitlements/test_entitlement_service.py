"""domain.entitlements over real storage (SQLite and PostgreSQL) with fixed clocks and in-memory usage.

Customers and usage are fakes here (the API tests use the real ones); what is under test is the
service: persistence, the rules of creation, grants, resets and voids, and the mapping of stored rows
to the credit engine (memo 7.8 example D through the stored path).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from domain.credit import InMemoryUsageSource
from domain.entitlements.customers import CustomerRef
from domain.entitlements.service import EntitlementCreate, EntitlementService, GrantCreate
from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.features import Feature, FeatureCreate, FeatureService, MeterInfo
from tests.conftest import truncate_all

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
ACME = CustomerRef(id="01HZZZZZZZZZZZZZZZZZZZZZZ1", key="acme", subject_keys=("acme-sub",))


class FakeCustomers:
    def get(self, id_or_key: str) -> CustomerRef:
        if id_or_key in (ACME.id, ACME.key):
            return ACME
        raise NotFoundError("customer not found")

    def by_subject_key(self, subject_key: str) -> CustomerRef | None:
        return ACME if subject_key in ACME.usage_subjects else None


class FakeMeters:
    def get(self, id_or_key: str) -> MeterInfo:
        if id_or_key != "tokens":
            raise NotFoundError("meter not found")
        return MeterInfo(id="01HZZZZZZZZZZZZZZZZZZZZZZ2", key="tokens", aggregation="SUM", group_by=frozenset({"model"}))


class FakeUsage:
    def __init__(self) -> None:
        self.events: list[tuple[dt.datetime, Decimal]] = []

    def aggregation(self, feature: Feature) -> str:
        return "SUM"

    def source(self, feature: Feature, customer: CustomerRef):
        return InMemoryUsageSource(self.events, "SUM")


@pytest.fixture
def session(backend):
    truncate_all(backend.database)
    with backend.database.session(write=True) as session:
        yield session


@pytest.fixture
def usage() -> FakeUsage:
    return FakeUsage()


@pytest.fixture
def service(session, usage) -> EntitlementService:
    features = FeatureService(session, meters=FakeMeters())
    features.create(FeatureCreate(key="ai_tokens", name="AI tokens", meter_slug="tokens"), now=T0)
    features.create(FeatureCreate(key="sso", name="SSO"), now=T0)
    return EntitlementService(session, customers=FakeCustomers(), usage=usage, features=features)


def metered(**extra) -> EntitlementCreate:
    return EntitlementCreate(type="metered", feature_key="ai_tokens", usage_period_interval="MONTH", usage_period_anchor=T0,
                             measure_usage_from=T0, **extra)  # fmt: skip


def test_example_d_rollover_at_reset_through_storage(service, usage):
    entitlement = service.create(ACME, metered(), now=T0)
    g1 = service.create_grant(entitlement, GrantCreate(amount=Decimal(1000), effective_at=T0, priority=1,
                                                       max_rollover=Decimal(1000)), now=T0, v2=False)  # fmt: skip
    g2 = service.create_grant(entitlement, GrantCreate(amount=Decimal(1000), effective_at=T0, priority=3,
                                                       max_rollover=Decimal(100)), now=T0, v2=False)  # fmt: skip
    usage.events.append((T0 + dt.timedelta(hours=1), Decimal(600)))
    now = T0 + dt.timedelta(days=2)
    before = service.value(entitlement, at=now)
    assert (before.balance, before.usage) == (Decimal(1400), Decimal(600))
    assert service.engine(entitlement).grant_balances_at(now) == {g1.id: Decimal(400), g2.id: Decimal(1000)}

    service.reset(entitlement, effective_at=now, retain_anchor=False, preserve_overage=None, now=now)
    after = service.value(entitlement, at=now)
    assert (after.balance, after.usage, after.overage) == (Decimal(500), Decimal(0), Decimal(0))
    assert service.current_period(entitlement, now).from_ == now
    with pytest.raises(ValidationError):
        service.reset(entitlement, effective_at=now, retain_anchor=False, preserve_overage=None, now=now)


def test_issue_after_reset_grant_is_restored_at_every_period(service, usage):
    entitlement = service.create(ACME, metered(issue_after_reset=Decimal(10), issue_after_reset_priority=2), now=T0)
    (grant,) = service.grants(entitlement)
    assert (grant.amount, grant.priority, grant.min_rollover, grant.max_rollover) == (Decimal(10), 2, Decimal(10), Decimal(10))
    assert grant.effective_at == T0 and grant.expires_at is None
    usage.events.append((T0 + dt.timedelta(days=3), Decimal(7)))
    assert service.value(entitlement, at=T0 + dt.timedelta(days=4)).balance == Decimal(3)
    next_month = dt.datetime(2024, 2, 1, 0, 1, tzinfo=UTC)
    value = service.value(entitlement, at=next_month)
    assert (value.balance, value.usage) == (Decimal(10), Decimal(0))


def test_measure_usage_from_ignores_earlier_usage_and_presets(service, usage):
    now = dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=UTC)
    usage.events.append((dt.datetime(2024, 3, 15, 10, tzinfo=UTC), Decimal(5)))
    usage.events.append((dt.datetime(2024, 3, 15, 12, 31, tzinfo=UTC), Decimal(2)))
    ent = service.create(ACME, EntitlementCreate(type="metered", feature_key="ai_tokens", usage_period_interval="DAY",
                                                 issue_after_reset=Decimal(100)), now=now)  # fmt: skip
    assert ent.measure_usage_from == dt.datetime(2024, 3, 15, 12, 30, tzinfo=UTC)
    assert service.value(ent, at=now + dt.timedelta(minutes=5)).usage == Decimal(2)
    service.delete(ent, now=now)
    start = service.create(ACME, EntitlementCreate(type="metered", feature_key="ai_tokens", usage_period_interval="DAY",
                                                   usage_period_anchor=T0, measure_usage_from="CURRENT_PERIOD_START"), now=now)  # fmt: skip
    assert start.measure_usage_from == dt.datetime(2024, 3, 15, tzinfo=UTC)
    assert service.value(start, at=now + dt.timedelta(minutes=5)).usage == Decimal(7)


def test_one_open_entitlement_per_feature_and_override(service):
    first = service.create(ACME, EntitlementCreate(type="boolean", feature_key="sso"), now=T0)
    with pytest.raises(ConflictError) as error:
        service.create(ACME, EntitlementCreate(type="boolean", feature_key="sso"), now=T0)
    assert error.value.extensions == {"conflictingEntityId": first.id}
    later = T0 + dt.timedelta(days=1)
    second = service.override(ACME, "sso", EntitlementCreate(type="static", feature_key="sso", config='{"a": 1}'), now=later)
    assert service.resolve(ACME, "sso", now=later).id == second.id
    assert service.resolve(ACME, "sso", now=T0).id == first.id  # by feature key at an earlier time
    assert service.value(service.get(first.id), at=later).has_access is False
    assert service.value(second, at=later).config == '{"a": 1}'

    # A deleted entitlement is gone from then on, but a question about earlier still finds it.
    gone = later + dt.timedelta(days=1)
    service.delete(second, now=gone)
    assert service.find_for(ACME, "sso", now=gone + dt.timedelta(minutes=1)) is None
    assert service.find_for(ACME, "sso", now=later).id == second.id
    with pytest.raises(NotFoundError):
        service.get(second.id)


def test_void_and_grant_validation(service, usage):
    entitlement = service.create(ACME, metered(), now=T0)
    grant = service.create_grant(entitlement, GrantCreate(amount=Decimal(50), effective_at=T0), now=T0, v2=True)
    assert grant.max_rollover == Decimal(50) and grant.priority == 1
    usage.events.append((T0 + dt.timedelta(minutes=10), Decimal(20)))
    now = T0 + dt.timedelta(hours=1)
    voided = service.void_grant(grant.id, at=None, now=now)
    assert voided.voided_at == now
    value = service.value(entitlement, at=now + dt.timedelta(minutes=1))
    assert (value.balance, value.total_available_grant_amount) == (Decimal(0), Decimal(20))
    with pytest.raises(ValidationError):
        service.void_grant(grant.id, at=None, now=now)
    with pytest.raises(ValidationError) as error:
        service.create_grant(entitlement, GrantCreate(amount=Decimal(0), effective_at=T0), now=now, v2=True)
    assert error.value.problems[0].code == "grant_amount_must_be_positive"
    with pytest.raises(ValidationError):
        service.create_grant(entitlement, GrantCreate(amount=Decimal(5), effective_at=T0, min_rollover=Decimal(9),
                                                      max_rollover=Decimal(1)), now=now, v2=True)  # fmt: skip


def test_values_at_the_edges_of_time_are_refused_or_answered(service):
    entitlement = service.create(ACME, metered(), now=T0)
    assert service.value(entitlement, at=dt.datetime(1, 1, 1, tzinfo=UTC)).has_access is False
    try:
        far = service.value(entitlement, at=dt.datetime(9999, 12, 31, 23, 59, 30, tzinfo=UTC))
    except ValidationError:
        pass  # refused as bad input, never a crash
    else:
        assert far.balance == Decimal(0)


def test_far_future_anchors_are_bad_input(service):
    far = dt.datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    try:
        service.create(ACME, EntitlementCreate(type="metered", feature_key="ai_tokens", usage_period_interval="YEAR",
                                               usage_period_anchor=far, measure_usage_from="CURRENT_PERIOD_START",
                                               issue_after_reset=Decimal(1)), now=T0)  # fmt: skip
    except ValidationError:
        pass
