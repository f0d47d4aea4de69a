"""CustomerService as other domains use it: lookups, attribution, the rules of writes, on every backend."""

from __future__ import annotations

import datetime as dt

import pytest

from domain import customers as customers_module
from domain.customers import Address, CustomerFilter, CustomerInput, CustomerService
from domain.errors import ConflictError, NotFoundError, PreconditionFailedError, ValidationError
from tests.conftest import truncate_all

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def service(backend):
    truncate_all(backend.database)
    with backend.database.session(write=True) as session:
        yield CustomerService(session)


def test_lookups_by_id_key_and_subject_key(service):
    acme = service.create(CustomerInput(name="Acme", key="acme", subject_keys=("s2", "s1")), now=NOW)
    assert acme.usage_attribution.subject_keys == ("s1", "s2")
    assert acme.usage_subjects == ("acme", "s1", "s2")
    assert service.get(acme.id) == acme == service.get("acme") == service.get(acme.id.lower())
    assert service.get_by_subject_key("s1") == acme
    assert service.get_by_subject_key("acme") == acme  # its own key attributes too
    assert service.get_by_subject_key("nobody") is None
    assert service.find("nobody") is None
    with pytest.raises(NotFoundError):
        service.get("nobody")
    assert service.get_many([acme.id, "01J0000000000000000000000Z"]) == {acme.id: acme}


def test_deleted_customers_are_found_by_id_only(service):
    acme = service.create(CustomerInput(name="Acme", key="acme", subject_keys=("s1",)), now=NOW)
    service.delete("acme", now=NOW + dt.timedelta(hours=1))
    deleted = service.get(acme.id)
    assert deleted.deleted_at == NOW + dt.timedelta(hours=1)
    assert deleted.usage_attribution.subject_keys == ("s1",)  # what it had when deleted
    assert service.find("acme") is None and service.get_by_subject_key("s1") is None
    with pytest.raises(PreconditionFailedError):
        service.get_active(acme.id)
    with pytest.raises(PreconditionFailedError):
        service.update(acme.id, CustomerInput(name="x", key="y"), now=NOW)
    # Key and subject key are free again; the deleted one keeps its history.
    again = service.create(CustomerInput(name="Acme 2", key="acme", subject_keys=("s1",)), now=NOW)
    assert service.get_by_subject_key("s1") == again
    assert service.get(acme.id).usage_attribution.subject_keys == ("s1",)


def test_inputs_are_validated(service):
    with pytest.raises(ValidationError):
        service.create(CustomerInput(name="No key"), now=NOW)
    with pytest.raises(ValidationError):
        service.create(CustomerInput(name="Empty", subject_keys=()), now=NOW)
    with pytest.raises(ValidationError) as error:
        service.create(CustomerInput(name="Money", key="m", currency="ABC"), now=NOW)
    assert error.value.problems[0].code == "currency_invalid"


def test_update_replaces_but_keeps_email_and_currency(service):
    acme = service.create(
        CustomerInput(name="Acme", key="acme", description="d", metadata={"a": "1"}, subject_keys=("s1",),
                      primary_email="a@b.test", currency="USD", billing_address=Address(country="US")),  # fmt: skip
        now=NOW,
    )
    later = NOW + dt.timedelta(minutes=5)
    updated = service.update("acme", CustomerInput(name="Acme Inc", subject_keys=("s2",)), now=later)
    assert (updated.key, updated.description, updated.metadata, updated.billing_address) == (None, None, None, None)
    assert (updated.primary_email, updated.currency) == ("a@b.test", "USD")
    assert updated.usage_attribution.subject_keys == ("s2",) and updated.updated_at == later
    assert service.get_by_subject_key("s1") is None and service.get_by_subject_key("s2").id == acme.id
    # Its own subject key may stay when the key changes.
    same = service.update(acme.id, CustomerInput(name="Acme", key="s2", subject_keys=("s2",)), now=later)
    assert same.usage_subjects == ("s2",)


def test_conflicts(service):
    acme = service.create(CustomerInput(name="Acme", key="acme", subject_keys=("s1",)), now=NOW)
    beta = service.create(CustomerInput(name="Beta", key="beta"), now=NOW)
    for data in (
        CustomerInput(name="x", key="acme"),
        CustomerInput(name="x", key="s1"),
        CustomerInput(name="x", key=acme.id),
        CustomerInput(name="x", subject_keys=("s1",)),
        CustomerInput(name="x", subject_keys=("acme",)),
        CustomerInput(name="x", subject_keys=("z", "z")),
    ):
        with pytest.raises(ConflictError):
            service.create(data, now=NOW)
    with pytest.raises(ConflictError) as error:
        service.update(beta.id, CustomerInput(name="Beta", key="beta", subject_keys=("s1",)), now=NOW)
    assert error.value.extensions["conflictingEntityId"] == acme.id


def test_list_filters_and_plan_key_resolvers(service, monkeypatch):
    a = service.create(CustomerInput(name="alpha", key="a-key", subject_keys=("sub-one",), primary_email="A@X.test"), now=NOW)
    b = service.create(CustomerInput(name="Beta", key="b-key"), now=NOW + dt.timedelta(seconds=1))
    assert [c.id for c in service.list().items] == [b.id, a.id]  # "Beta" < "alpha" in code point order
    assert [c.id for c in service.list(filters=CustomerFilter(primary_email="a@x")).items] == [a.id]
    assert [c.id for c in service.list(filters=CustomerFilter(subject="ONE")).items] == [a.id]
    assert service.list(filters=CustomerFilter(plan_key="pro")).total_count == 0

    monkeypatch.setattr(customers_module, "_PLAN_KEY_RESOLVERS", [])
    customers_module.register_plan_key_resolver(lambda session, plan_key, now: {b.id} if plan_key == "pro" else set())
    assert [c.id for c in service.list(filters=CustomerFilter(plan_key="pro")).items] == [b.id]


def test_delete_guards_can_block_a_delete(service, monkeypatch):
    acme = service.create(CustomerInput(name="Acme", key="acme"), now=NOW)

    def guard(session, customer, now):
        raise ConflictError(f"{customer.id} is busy")

    monkeypatch.setattr(customers_module, "_DELETE_GUARDS", list(customers_module._DELETE_GUARDS))
    customers_module.register_delete_guard(guard)
    with pytest.raises(ConflictError):
        service.delete(acme.id, now=NOW)
    assert service.get("acme").deleted_at is None
