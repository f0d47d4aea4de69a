"""OpenMeter entitlements (v1 subject routes, v2 customer routes, admin lists) through the generated client."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from generated.openmeter import models
from generated.runtime import BadRequestError, ConflictError, NotFoundError, PreconditionFailedError
from tests.handlers.openmeter.entitlement_setup import customer, ingest, metered_feature, utcnow


def _items(result):
    return result.root if hasattr(result, "root") else result


def _value(om, feature_key="ai_tokens", customer_key="acme"):
    return om.get_customer_entitlement_value_v2(customer_id_or_key=customer_key, entitlement_id_or_feature_key=feature_key)


def test_metered_entitlement_burns_its_issued_grant_down_by_the_customers_usage(om, clean_server):
    acme = customer(om)
    feature = metered_feature(om, clean_server)
    created = om.create_customer_entitlement_v2(
        customer_id_or_key="acme",
        body={"type": "metered", "featureKey": "ai_tokens", "usagePeriod": {"interval": "MONTH"}, "issue": {"amount": 100}},
    )
    assert isinstance(created, models.EntitlementMeteredV2)
    assert created.customer_id == acme.id and created.customer_key == "acme" and created.feature_id == feature.id
    assert created.usage_period.interval == "MONTH" and created.usage_period.interval_iso == "P1M"
    assert created.issue_after_reset == Decimal(100) and created.issue.amount == Decimal(100)
    assert created.measure_usage_from == created.last_reset == created.current_usage_period.from_
    assert created.measure_usage_from.second == 0 and created.measure_usage_from.microsecond == 0

    # Usage attributes by subject key and by the customer's own key; other subjects do not count.
    ingest(om, clean_server, "tokens", "acme-sub", {"tokens": 25})
    ingest(om, clean_server, "tokens", "acme", {"tokens": "5.5"})
    ingest(om, clean_server, "tokens", "someone-else", {"tokens": 1000})
    value = _value(om)
    assert value.has_access is True
    assert (value.balance, value.usage, value.overage, value.total_available_grant_amount) == (
        Decimal("69.5"), Decimal("30.5"), Decimal(0), Decimal(100))

    ingest(om, clean_server, "tokens", "acme-sub", {"tokens": 80})
    value = _value(om)
    assert (value.has_access, value.balance, value.usage, value.overage) == (False, Decimal(0), Decimal("110.5"), Decimal("10.5"))

    # The issued grant: no expiry, rolls back to its full amount at every reset.
    grants = om.list_customer_entitlement_grants_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens")
    assert grants.total_count == 1
    issued = grants.items[0]
    assert (issued.amount, issued.min_rollover_amount, issued.max_rollover_amount) == (Decimal(100), Decimal(100), Decimal(100))
    assert issued.expiration is None and issued.annotations == {"issueAfterReset": True}


def test_one_entitlement_per_customer_and_feature(om, clean_server):
    customer(om)
    metered_feature(om, clean_server)
    first = om.create_customer_entitlement_v2(customer_id_or_key="acme", body={"type": "boolean", "featureKey": "ai_tokens"})
    with pytest.raises(ConflictError) as error:
        om.create_customer_entitlement_v2(customer_id_or_key="acme", body={"type": "boolean", "featureKey": "ai_tokens"})
    assert error.value.body["extensions"]["conflictingEntityId"] == first.id

    # Once deleted, the feature can be granted again.
    om.delete_customer_entitlement_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens")
    with pytest.raises(NotFoundError):
        om.get_entitlement_by_id_v2(entitlement_id=first.id)
    second = om.create_customer_entitlement_v2(customer_id_or_key="acme", body={"type": "boolean", "featureKey": "ai_tokens"})
    assert second.id != first.id


def test_static_and_boolean_values(om):
    customer(om)
    om.create_feature(body={"key": "sso", "name": "SSO"})
    om.create_feature(body={"key": "limits", "name": "Limits"})
    om.create_customer_entitlement_v2(customer_id_or_key="acme", body={"type": "boolean", "featureKey": "sso"})
    static = om.create_customer_entitlement_v2(
        customer_id_or_key="acme", body={"type": "static", "featureKey": "limits", "config": '{"integrations": ["github"]}'})
    assert static.config == '{"integrations": ["github"]}'

    assert _value(om, "sso").has_access is True
    limits = _value(om, "limits")
    assert limits.has_access is True and limits.config == '{"integrations": ["github"]}' and limits.balance is None
    # An entitlement the customer does not have: no access (not 404) on the customer routes.
    assert _value(om, "nothing").has_access is False
    assert om.get_customer_entitlement_value(customer_id_or_key="acme", feature_key="sso").has_access is True

    access = om.get_customer_access(customer_id_or_key="acme")
    assert set(access.entitlements) == {"sso", "limits"}
    assert access.entitlements["limits"].config == '{"integrations": ["github"]}'


def test_invalid_entitlements_are_refused(om, clean_server):
    customer(om)
    om.create_feature(body={"key": "sso", "name": "SSO"})
    metered_feature(om, clean_server)
    cases = [
        {"type": "static", "featureKey": "sso", "config": "not json"},
        {"type": "static", "featureKey": "sso", "config": "[1, 2]"},
        {"type": "metered", "featureKey": "sso", "usagePeriod": {"interval": "MONTH"}},  # feature has no meter
        {"type": "metered", "featureKey": "ai_tokens", "usagePeriod": {"interval": "PT30M"}},  # shorter than an hour
        {"type": "metered", "featureKey": "ai_tokens", "usagePeriod": {"interval": "MONTH"}, "issueAfterResetPriority": 3},
        {"type": "metered", "featureKey": "ai_tokens", "usagePeriod": {"interval": "MONTH"}, "issue": {"amount": 5},
         "grants": [{"amount": 10, "effectiveAt": utcnow().isoformat()}]},
    ]
    for body in cases:
        with pytest.raises(BadRequestError):
            om.create_customer_entitlement_v2(customer_id_or_key="acme", body=body)
    with pytest.raises(NotFoundError):
        om.create_customer_entitlement_v2(customer_id_or_key="acme", body={"type": "boolean", "featureKey": "missing"})
    with pytest.raises(NotFoundError):
        om.create_customer_entitlement_v2(customer_id_or_key="nobody", body={"type": "boolean", "featureKey": "sso"})
    assert om.list_customer_entitlements_v2(customer_id_or_key="acme").total_count == 0


def test_deleted_customer_is_a_failed_precondition(om):
    customer(om, "gone", ("gone-sub",))
    om.create_feature(body={"key": "sso", "name": "SSO"})
    om.delete_customer(customer_id_or_key="gone")
    gone = om.list_customers(include_deleted=True).items[0]
    with pytest.raises(PreconditionFailedError):
        om.create_customer_entitlement_v2(customer_id_or_key=gone.id, body={"type": "boolean", "featureKey": "sso"})


def test_v1_subject_routes(om, clean_server):
    customer(om, "acme", ("acme-sub", "zeta-sub"))
    metered_feature(om, clean_server)
    created = om.create_entitlement(
        subject_id_or_key="acme-sub",
        body={"type": "metered", "featureKey": "ai_tokens", "usagePeriod": {"interval": "DAY"}, "issueAfterReset": 10,
              "issueAfterResetPriority": 5, "isSoftLimit": True},
    )  # fmt: skip
    assert isinstance(created, models.EntitlementMetered)
    assert created.subject_key == "acme-sub" and created.is_soft_limit is True and created.issue_after_reset_priority == 5
    assert created.usage_period.interval == "DAY"

    # Either subject of the customer reaches the same entitlement, by id or by feature key.
    assert om.get_entitlement(subject_id_or_key="zeta-sub", entitlement_id=created.id).id == created.id
    listed = om.list_subject_entitlements(subject_id_or_key="zeta-sub")
    assert [e.id for e in listed] == [created.id]

    ingest(om, clean_server, "tokens", "zeta-sub", {"tokens": 15})
    value = om.get_entitlement_value(subject_id_or_key="acme-sub", entitlement_id_or_feature_key="ai_tokens")
    # A soft limit keeps access when the balance is gone.
    assert (value.has_access, value.balance, value.usage, value.overage) == (True, Decimal(0), Decimal(15), Decimal(5))
    # Before the entitlement existed there was no access.
    past = om.get_entitlement_value(subject_id_or_key="acme-sub", entitlement_id_or_feature_key=created.id,
                                    time=created.created_at - dt.timedelta(hours=1))  # fmt: skip
    assert past.has_access is False

    with pytest.raises(NotFoundError):
        om.get_entitlement_value(subject_id_or_key="acme-sub", entitlement_id_or_feature_key="other_feature")
    with pytest.raises(NotFoundError):
        om.list_subject_entitlements(subject_id_or_key="nobody")
    with pytest.raises(NotFoundError):  # get needs the id, a feature key is not found
        om.get_entitlement(subject_id_or_key="acme-sub", entitlement_id="ai_tokens")

    om.delete_entitlement(subject_id_or_key="acme-sub", entitlement_id=created.id)
    assert om.list_subject_entitlements(subject_id_or_key="acme-sub") == []
    assert [e.id for e in om.list_subject_entitlements(subject_id_or_key="acme-sub", include_deleted=True)] == [created.id]


def test_override_replaces_the_entitlement(om, clean_server):
    customer(om)
    metered_feature(om, clean_server)
    om.create_feature(body={"key": "sso", "name": "SSO"})
    old = om.create_customer_entitlement_v2(customer_id_or_key="acme", body={"type": "boolean", "featureKey": "ai_tokens"})
    new = om.override_customer_entitlement_v2(
        customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
        body={"type": "metered", "featureKey": "ai_tokens", "usagePeriod": {"interval": "WEEK"}, "issue": {"amount": 7}},
    )  # fmt: skip
    assert new.id != old.id and new.type == "metered"
    assert _value(om).balance == Decimal(7)
    entitlements = om.list_entitlements_v2(customer_keys=["acme"])
    assert {e.id for e in entitlements.items} == {old.id, new.id}
    replaced = next(e for e in entitlements.items if e.id == old.id)
    assert replaced.active_to is not None and replaced.deleted_at is None
    assert [e.id for e in om.list_entitlements_v2(customer_keys=["acme"], exclude_inactive=True).items] == [new.id]

    with pytest.raises(BadRequestError):  # an override stays on the same feature
        om.override_customer_entitlement_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                            body={"type": "boolean", "featureKey": "sso"})  # fmt: skip
    with pytest.raises(NotFoundError):
        om.override_customer_entitlement_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="sso",
                                            body={"type": "boolean", "featureKey": "sso"})  # fmt: skip


def test_reset_rolls_balances_over_and_restarts_usage(om, clean_server):
    customer(om)
    metered_feature(om, clean_server)
    month_start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    created = om.create_customer_entitlement_v2(
        customer_id_or_key="acme",
        body={"type": "metered", "featureKey": "ai_tokens",
              "usagePeriod": {"interval": "MONTH", "anchor": month_start.isoformat()}, "measureUsageFrom": "CURRENT_PERIOD_START",
              "grants": [{"amount": 100, "effectiveAt": month_start.isoformat(), "maxRolloverAmount": 30}]},
    )  # fmt: skip
    assert created.measure_usage_from == created.last_reset == month_start
    # Usage in an earlier minute than the reset (which is truncated to the minute).
    ingest(om, clean_server, "tokens", "acme-sub", {"tokens": 40}, time=max(month_start, utcnow() - dt.timedelta(minutes=2)))
    assert _value(om).balance == Decimal(60)

    with pytest.raises(BadRequestError):  # not in the future
        om.reset_customer_entitlement_usage_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens",
                                               body={"effectiveAt": (utcnow() + dt.timedelta(hours=1)).isoformat()})  # fmt: skip
    om.reset_customer_entitlement_usage_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens", body={})
    value = _value(om)
    assert (value.balance, value.usage) == (Decimal(30), Decimal(0))
    after = om.get_customer_entitlement_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens")
    assert after.last_reset == after.current_usage_period.from_ > created.last_reset
    with pytest.raises(BadRequestError):  # not again at (or before) the last reset
        om.reset_customer_entitlement_usage_v2(customer_id_or_key="acme", entitlement_id_or_feature_key="ai_tokens", body={})


def test_admin_lists(om, clean_server):
    customer(om, "acme", ("acme-sub",))
    customer(om, "beta", ("beta-sub",))
    om.create_feature(body={"key": "sso", "name": "SSO"})
    om.create_feature(body={"key": "limits", "name": "Limits"})
    a = om.create_customer_entitlement_v2(customer_id_or_key="acme", body={"type": "boolean", "featureKey": "sso"})
    b = om.create_customer_entitlement_v2(customer_id_or_key="beta", body={"type": "boolean", "featureKey": "sso"})
    c = om.create_customer_entitlement_v2(customer_id_or_key="beta", body={"type": "static", "featureKey": "limits", "config": "{}"})

    assert [e.id for e in _items(om.list_entitlements())] == [a.id, b.id, c.id]
    assert [e.id for e in _items(om.list_entitlements(subject=["beta-sub"]))] == [b.id, c.id]
    assert [e.id for e in _items(om.list_entitlements(entitlement_type=["static"]))] == [c.id]
    paged = _items(om.list_entitlements(page=2, page_size=2, order="ASC"))
    assert paged.total_count == 3 and [e.id for e in paged.items] == [c.id]
    assert [e.id for e in om.list_entitlements_v2(feature=["limits"]).items] == [c.id]
    assert [e.id for e in om.list_entitlements_v2(customer_ids=[a.customer_id]).items] == [a.id]
    assert om.get_entitlement_by_id(entitlement_id=a.id).subject_key == "acme-sub"


def test_the_official_openmeter_sdk_drives_entitlements(om, clean_server):
    from openmeter import Client

    from tests.conftest import OPENMETER_KEY

    metered_feature(om, clean_server)
    with Client(endpoint=clean_server.url, token=OPENMETER_KEY) as client:
        client.customers.create({"name": "SDK", "key": "sdk", "usageAttribution": {"subjectKeys": ["sdk-sub"]}})
        feature = client.features.create({"key": "sdk_seats", "name": "Seats"})
        assert feature.key == "sdk_seats"
        metered = client.customer_entitlements_v2.post(
            "sdk", {"type": "metered", "featureKey": "ai_tokens", "usagePeriod": {"interval": "DAY"}})
        # The SDK returns union types (entitlements) as plain JSON dicts.
        assert metered["type"] == "metered" and metered["usagePeriod"]["intervalISO"] == "P1D"
        client.customer_entitlements_v2.post("sdk", {"type": "boolean", "featureKey": "sdk_seats"})
        grant = client.customer_entitlement_v2.create_customer_entitlement_grant(
            "sdk", "ai_tokens", {"amount": 20, "effectiveAt": metered["currentUsagePeriod"]["from"]})
        assert grant.amount == 20 and grant.priority == 1

        ingest(om, clean_server, "tokens", "sdk-sub", {"tokens": 5})
        value = client.customer_entitlement_v2.get_customer_entitlement_value("sdk", "ai_tokens")
        assert value.has_access is True and value.balance == 15 and value.usage == 5
        grants = client.customer_entitlement_v2.get_grants("sdk", "ai_tokens")
        assert grants.total_count == 1 and grants["items"][0].id == grant.id
        access = client.customer.get_customer_access("sdk")
        assert set(access.entitlements) == {"ai_tokens", "sdk_seats"}
        listed = client.customer_entitlements_v2.list("sdk")
        assert listed.total_count == 2
        client.customer_entitlements_v2.delete("sdk", "sdk_seats")
        assert client.customer_entitlements_v2.list("sdk").total_count == 1


def test_memo_example_a_count_meter_with_a_feature_filter(om, clean_server):
    """openmeter-core.md 7.8 A: only the feature's model counts against the grant."""
    customer(om)
    metered_feature(om, clean_server, key="gpt4", meter="credit_events", aggregation="COUNT", value_property=None,
                    group_by={"model": "$.model"}, meterGroupByFilters={"model": "gpt-4"})  # fmt: skip
    om.create_customer_entitlement_v2(customer_id_or_key="acme", body={
        "type": "metered", "featureKey": "gpt4", "usagePeriod": {"interval": "MONTH"},
        "grants": [{"amount": 100, "priority": 1, "effectiveAt": utcnow().isoformat(), "maxRolloverAmount": 100,
                    "expiration": {"duration": "MONTH", "count": 1}, "recurrence": {"interval": "YEAR"}}]})
    ingest(om, clean_server, "credit_events", "acme-sub", {"model": "gpt-4"})
    ingest(om, clean_server, "credit_events", "acme-sub", {"model": "gpt-3"})
    value = _value(om, "gpt4")
    assert (value.has_access, value.balance, value.usage, value.overage, value.total_available_grant_amount) == (
        True, Decimal(99), Decimal(1), Decimal(0), Decimal(100))
