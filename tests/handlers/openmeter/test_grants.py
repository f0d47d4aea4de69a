"""OpenMeter grants (v1 and v2) through the generated client: creation rules, burn-down order, voiding, lists."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from generated.openmeter import models
from generated.runtime import BadRequestError, NotFoundError
from tests.handlers.openmeter.entitlement_setup import customer, ingest, metered_feature, utcnow


def _items(result):
    return result.root if hasattr(result, "root") else result


@pytest.fixture
def metered(om, clean_server):
    """Customer acme with a metered `ai_tokens` entitlement, usage measured from the start of this month."""
    customer(om)
    metered_feature(om, clean_server)
    start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    entitlement = om.create_customer_entitlement_v2(
        customer_id_or_key="acme",
        body={"type": "metered", "featureKey": "ai_tokens", "usagePeriod": {"interval": "MONTH", "anchor": start.isoformat()},
              "measureUsageFrom": start.isoformat()},
    )  # fmt: skip
    return entitlement, start


def _value(om):
    return om.get_entitlement_value(subject_id_or_key="acme-sub", entitlement_id_or_feature_key="ai_tokens")


def test_v1_grant_defaults_and_its_required_expiration(om, metered):
    _, start = metered
    grant = om.create_grant(
        subject_id_or_key="acme-sub", entitlement_id_or_feature_key="ai_tokens",
        body={"amount": 100, "effectiveAt": (start + dt.timedelta(seconds=30)).isoformat(), "expiration": {"duration": "MONTH", "count": 1}},
    )  # fmt: skip
    assert isinstance(grant, models.EntitlementGrant)
    assert grant.priority == 1  # ruling 8
    assert grant.effective_at == start  # truncated to the minute
    assert (grant.min_rollover_amount, grant.max_rollover_amount) == (Decimal(0), Decimal(0))
    assert grant.expiration.duration == "MONTH" and grant.expiration.count == 1
    assert grant.expires_at == (start.replace(month=start.month % 12 + 1, year=start.year + (start.month == 12)))

    # A v2 grant without expiration never expires; v1 views report a far-future one (ruling 8).
    v2 = om.create_customer_entitlement_grant_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                                 body={"amount": 50, "effectiveAt": start.isoformat()})  # fmt: skip
    assert v2.expiration is None and v2.expires_at is None and v2.max_rollover_amount == Decimal(50)
    listed = {g.id: g for g in om.list_entitlement_grants(subject_id_or_key="acme-sub", entitlement_id_or_feature_key="ai_tokens")}
    assert listed[v2.id].expiration.duration == "YEAR" and listed[v2.id].expiration.count == 100
    assert listed[v2.id].expires_at.year == start.year + 100
    assert _value(om).balance == Decimal(150)


def test_burn_down_follows_priority_then_expiry(om, clean_server, metered):
    _, start = metered
    base = {"effectiveAt": start.isoformat()}
    low = om.create_customer_entitlement_grant_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                                  body={**base, "amount": 100, "priority": 5})  # fmt: skip
    late = om.create_customer_entitlement_grant_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                                   body={**base, "amount": 100, "priority": 1, "expiration": {"duration": "YEAR", "count": 1}})  # fmt: skip
    soon = om.create_customer_entitlement_grant_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                                   body={**base, "amount": 100, "priority": 1, "expiration": {"duration": "MONTH", "count": 2}})  # fmt: skip
    ingest(om, clean_server, "tokens", "acme-sub", {"tokens": 150})
    value = _value(om)
    assert (value.balance, value.usage, value.overage, value.total_available_grant_amount) == (
        Decimal(150), Decimal(150), Decimal(0), Decimal(300))

    history = om.get_customer_entitlement_history_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                                     window_size="DAY")  # fmt: skip
    last = history.burndown_history[-1]
    # priority 1 first; of those, the one expiring sooner first; the priority-5 grant is untouched.
    assert last.grant_balances_at_end == {soon.id: Decimal(0), late.id: Decimal(50), low.id: Decimal(100)}
    assert sum(w.usage for w in history.windowed_history) == Decimal(150)
    assert history.windowed_history[0].balance_at_start == Decimal(300)

    # Windows follow the requested zone's wall clock; v1 history needs the entitlement id.
    local = om.get_entitlement_history(subject_id_or_key="acme-sub", entitlement_id=metered[0].id, window_size="DAY",
                                       window_time_zone="Asia/Kolkata")  # fmt: skip
    assert all(w.period.from_.utcoffset() == dt.timedelta(hours=5, minutes=30) for w in local.windowed_history)
    assert sum(w.usage for w in local.windowed_history) == Decimal(150)
    with pytest.raises(BadRequestError):
        om.get_entitlement_history(subject_id_or_key="acme-sub", entitlement_id=metered[0].id, window_size="DAY",
                                   window_time_zone="Mars/Olympus")  # fmt: skip


def test_grant_creation_rules(om, metered):
    _, start = metered
    with pytest.raises(BadRequestError) as error:
        om.create_customer_entitlement_grant_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                                body={"amount": 0, "effectiveAt": start.isoformat()})  # fmt: skip
    assert error.value.body["extensions"]["validationErrors"][0]["code"] == "grant_amount_must_be_positive"
    with pytest.raises(BadRequestError):  # before the current usage period
        om.create_customer_entitlement_grant_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                                body={"amount": 5, "effectiveAt": (start - dt.timedelta(days=1)).isoformat()})  # fmt: skip
    with pytest.raises(BadRequestError):  # v1 requires an expiration
        om.create_grant(subject_id_or_key="acme-sub", entitlement_id_or_feature_key="ai_tokens",
                        body={"amount": 5, "effectiveAt": start.isoformat()})  # fmt: skip
    with pytest.raises(NotFoundError):
        om.create_customer_entitlement_grant_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="nothing",
                                                body={"amount": 5, "effectiveAt": start.isoformat()})  # fmt: skip
    om.create_feature(body={"key": "sso", "name": "SSO"})
    om.create_customer_entitlement_v2(customer_id_or_key="acme", body={"type": "boolean", "featureKey": "sso"})
    with pytest.raises(BadRequestError) as error:
        om.create_customer_entitlement_grant_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="sso",
                                                body={"amount": 5, "effectiveAt": start.isoformat()})  # fmt: skip
    assert "metered" in error.value.body["detail"]
    # A future grant is fine, and counts only from then on.
    future = om.create_customer_entitlement_grant_v2(
        customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
        body={"amount": 5, "effectiveAt": (utcnow() + dt.timedelta(days=400)).isoformat(), "recurrence": {"interval": "DAY"}})
    assert future.next_recurrence == future.effective_at
    assert _value(om).balance == Decimal(0)


def test_void_removes_the_remaining_balance_only(om, clean_server, metered):
    _, start = metered
    grant = om.create_customer_entitlement_grant_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                                    body={"amount": 100, "effectiveAt": start.isoformat()})  # fmt: skip
    ingest(om, clean_server, "tokens", "acme-sub", {"tokens": 60}, time=max(start, utcnow() - dt.timedelta(minutes=2)))
    assert _value(om).balance == Decimal(40)

    with pytest.raises(BadRequestError):
        om.void_grant(grant_id=grant.id, at=utcnow() + dt.timedelta(hours=1))
    om.void_grant(grant_id=grant.id)
    value = _value(om)
    assert (value.balance, value.has_access) == (Decimal(0), False)
    assert value.total_available_grant_amount == Decimal(60)  # what was burnt before the void stays burnt
    with pytest.raises(BadRequestError):
        om.void_grant(grant_id=grant.id)
    with pytest.raises(NotFoundError):
        om.void_grant(grant_id="01J00000000000000000000000")
    voided = om.list_customer_entitlement_grants_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens")
    assert voided.items[0].voided_at is not None


def test_grant_lists(om, clean_server, metered):
    _, start = metered
    customer(om, "beta", ("beta-sub",))
    om.create_customer_entitlement_v2(customer_id_or_key="beta", body={"type": "metered", "featureKey": "ai_tokens",
                                                                       "usagePeriod": {"interval": "DAY"}, "issue": {"amount": 3}})  # fmt: skip
    a = om.create_customer_entitlement_grant_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                                body={"amount": 1, "effectiveAt": start.isoformat()})  # fmt: skip
    everything = _items(om.list_grants())
    assert isinstance(everything, list) and len(everything) == 2
    assert [g.id for g in _items(om.list_grants(subject=["acme-sub"]))] == [a.id]
    paged = _items(om.list_grants(page=1, page_size=1))
    assert paged.total_count == 2 and len(paged.items) == 1
    assert [g.id for g in om.list_grants_v2(customer=["acme"]).items] == [a.id]
    assert om.list_grants_v2(feature=["ai_tokens"]).total_count == 2

    # Grants of a deleted entitlement leave the lists unless asked for.
    om.delete_customer_entitlement_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens")
    assert om.list_grants_v2().total_count == 1
    assert om.list_grants_v2(include_deleted=True).total_count == 2
