"""Flowglad's billing view (getCustomerBilling) through the generated Flowglad client, over data set up
through the OpenMeter client, on every backend (flowglad.md 1-3, ruling 24)."""

from __future__ import annotations

import httpx
import pytest

from generated.runtime import NotFoundError
from tests.conftest import FLOWGLAD_KEY
from tests.handlers.openmeter.entitlement_setup import ingest, make_meter


def _raw(server, external_id: str, authorization: str | None = FLOWGLAD_KEY):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = httpx.get(f"{server.url}/flowglad/api/v1/customers/{external_id}/billing", headers=headers)
    return response.status_code, response.json()


def _catalog(om, server):
    make_meter(om, server, "tokens")
    om.create_feature(body={"key": "ai_tokens", "name": "AI tokens", "meterSlug": "tokens"})
    om.create_feature(body={"key": "sso", "name": "Single sign-on"})
    cards = [
        {"type": "flat_fee", "key": "base_fee", "name": "Pro monthly", "billingCadence": "P1M",
         "price": {"type": "flat", "amount": "29.00"}},
        {"type": "flat_fee", "key": "sso", "name": "SSO", "featureKey": "sso", "billingCadence": None, "price": None,
         "entitlementTemplate": {"type": "boolean"}},
        {"type": "usage_based", "key": "ai_tokens", "name": "AI tokens", "featureKey": "ai_tokens", "billingCadence": "P1M",
         "price": {"type": "unit", "amount": "0.001"},
         "entitlementTemplate": {"type": "metered", "usagePeriod": "P1M", "issueAfterReset": 1000}},
    ]  # fmt: skip
    pro = om.create_plan(body={"key": "pro", "name": "Pro", "currency": "USD", "billingCadence": "P1M",
                               "phases": [{"key": "default", "name": "Default", "duration": None, "rateCards": cards}]})  # fmt: skip
    om.publish_plan(plan_id=pro.id)
    free = om.create_plan(body={"key": "free", "name": "Free", "currency": "USD", "billingCadence": "P1M", "phases": [
        {"key": "default", "name": "Default", "duration": None, "rateCards": [cards[1]]}]})  # fmt: skip
    om.publish_plan(plan_id=free.id)
    # A draft plan is not in the catalog.
    om.create_plan(body={"key": "draft", "name": "Draft", "currency": "USD", "billingCadence": "P1M",
                         "phases": [{"key": "default", "name": "Default", "duration": None, "rateCards": [cards[0]]}]})  # fmt: skip


def test_unknown_and_deleted_customers_are_404_not_found(flowglad, om):
    with pytest.raises(NotFoundError) as error:
        flowglad.get_customer_billing(external_id="nobody")
    assert error.value.body["code"] == "NOT_FOUND"
    assert error.value.body["error"] == "Customer with externalId nobody not found"

    customer = om.create_customer(body={"name": "Gone", "key": "gone"})
    om.delete_customer(customer_id_or_key=customer.id)
    with pytest.raises(NotFoundError) as error:
        flowglad.get_customer_billing(external_id="gone")
    assert error.value.body["code"] == "NOT_FOUND"
    # The externalId is the customer key, never its OpenMeter id.
    other = om.create_customer(body={"name": "Keyed", "key": "keyed"})
    with pytest.raises(NotFoundError):
        flowglad.get_customer_billing(external_id=other.id)


def test_auth_raw_key_and_bearer_accepted_others_401(clean_server, om):
    om.create_customer(body={"name": "Ada", "key": "ada"})
    assert _raw(clean_server, "ada")[0] == 200
    assert _raw(clean_server, "ada", f"Bearer {FLOWGLAD_KEY}")[0] == 200
    assert _raw(clean_server, "ada", f"bearer {FLOWGLAD_KEY}")[0] == 200
    for bad in (None, "sk_test_wrong", f"Basic {FLOWGLAD_KEY}", f"Token {FLOWGLAD_KEY}"):
        status, body = _raw(clean_server, "ada", bad)
        assert status == 401 and body["code"] == "UNAUTHORIZED", bad


def test_customer_without_subscription_sees_the_catalog_and_empty_lists(flowglad, om, clean_server):
    _catalog(om, clean_server)
    om.create_customer(body={"name": "Ada Lovelace", "key": "user_123", "primaryEmail": "ada@example.com",
                             "billingAddress": {"country": "GB", "city": "London", "postalCode": "SW1Y 4JH"}})  # fmt: skip
    status, raw = _raw(clean_server, "user_123")
    assert status == 200
    customer = raw["customer"]
    assert customer["externalId"] == "user_123" and customer["email"] == "ada@example.com" and customer["archived"] is False
    assert customer["id"].startswith("cust_") and customer["livemode"] is False
    assert customer["billingAddress"]["address"] == {"country": "GB", "name": "Ada Lovelace", "line1": None, "line2": None,
                                                     "city": "London", "state": None, "postal_code": "SW1Y 4JH"}  # fmt: skip
    # Explicit nulls, not missing keys.
    assert customer["logoURL"] is None and "userId" in customer
    assert raw["subscriptions"] == [] and raw["currentSubscriptions"] == [] and "currentSubscription" not in raw
    assert raw["invoices"] == [] and raw["paymentMethods"] == [] and raw["purchases"] == []
    assert raw["catalog"] == raw["pricingModel"]
    assert raw["billingPortalUrl"].endswith("/billing-portal/" + customer["organizationId"])

    model = raw["pricingModel"]
    assert [p["slug"] for p in model["products"]] == ["free", "pro"]  # the draft plan is not offered
    free, pro = model["products"]
    assert free["default"] is True and model["defaultProduct"] == free and pro["default"] is False
    assert free["defaultPrice"]["unitPrice"] == 0 and free["defaultPrice"]["type"] == "subscription"
    price = pro["defaultPrice"]
    assert (price["type"], price["unitPrice"], price["currency"], price["intervalUnit"], price["intervalCount"]) == (
        "subscription", 2900, "USD", "month", 1)
    assert price["usageEventsPerUnit"] is None and price["productId"] == pro["id"] and price["isDefault"] is True
    assert [p["slug"] for p in pro["prices"]] == ["base_fee"]
    features = {f["slug"]: f for f in pro["features"]}
    assert features["sso"]["type"] == "toggle" and features["sso"]["amount"] is None
    assert features["ai_tokens"]["type"] == "usage_credit_grant" and features["ai_tokens"]["amount"] == 1000
    assert features["ai_tokens"]["renewalFrequency"] == "every_billing_period"
    (meter,) = model["usageMeters"]
    assert meter["slug"] == "tokens" and meter["aggregationType"] == "sum"
    assert features["ai_tokens"]["usageMeterId"] == meter["id"]
    # 0.001 USD per token: 1 cent per 10 tokens, exact.
    (usage,) = meter["prices"]
    assert (usage["type"], usage["unitPrice"], usage["usageEventsPerUnit"], usage["productId"], usage["usageMeterId"]) == (
        "usage", 1, 10, None, meter["id"])
    assert meter["defaultPrice"] == usage

    # The generated client parses the same document.
    parsed = flowglad.get_customer_billing(external_id="user_123")
    assert parsed.customer.external_id == "user_123"


def test_subscription_items_features_balances_and_cancel(flowglad, om, clean_server):
    _catalog(om, clean_server)
    om.create_customer(body={"name": "Ada", "key": "ada", "usageAttribution": {"subjectKeys": ["ada-sub"]}})
    created = om.create_subscription(body={"customerKey": "ada", "plan": {"key": "pro"}})
    om.create_customer_entitlement_v2(customer_id_or_key="ada", body={
        "type": "metered", "featureKey": "ai_tokens", "usagePeriod": {"interval": "MONTH"}, "issue": {"amount": 100}})  # fmt: skip
    ingest(om, clean_server, "tokens", "ada-sub", {"tokens": 130})

    status, raw = _raw(clean_server, "ada")
    assert status == 200
    (sub,) = raw["subscriptions"]
    assert raw["currentSubscriptions"] == [sub] and raw["currentSubscription"] == sub
    assert sub["status"] == "active" and sub["current"] is True and sub["renews"] is True
    assert (sub["interval"], sub["intervalCount"], sub["name"]) == ("month", 1, "Pro")
    assert sub["customerId"] == raw["customer"]["id"] and sub["id"].startswith("sub_")
    assert sub["currentBillingPeriodStart"] <= sub["startDate"] + 1000 and sub["currentBillingPeriodEnd"] > sub["startDate"]
    assert sub["trialEnd"] is None and sub["canceledAt"] is None and sub["cancelScheduledAt"] is None
    assert sub["isFreePlan"] is False and sub["runBillingAtPeriodStart"] is True
    pro = next(p for p in raw["pricingModel"]["products"] if p["slug"] == "pro")
    assert sub["priceId"] == pro["defaultPrice"]["id"]
    items = {i["price"]["slug"]: i for i in sub["subscriptionItems"]}
    assert sorted(items) == ["ai_tokens", "base_fee"]  # the price-less SSO card is no item
    assert items["base_fee"]["unitPrice"] == 2900 and items["base_fee"]["type"] == "static"
    assert items["base_fee"]["price"] == pro["defaultPrice"]
    feature_items = {f["slug"]: f for f in sub["experimental"]["featureItems"]}
    assert feature_items["sso"]["type"] == "toggle"
    assert feature_items["sso"]["subscriptionItemId"] == items["base_fee"]["id"]
    # Balance is balance - overage: 100 granted, 130 used -> -30 (Flowglad balances may go negative).
    (balance,) = sub["experimental"]["usageMeterBalances"]
    assert (balance["slug"], balance["availableBalance"], balance["subscriptionId"]) == ("tokens", -30, sub["id"])

    om.cancel_subscription(subscription_id=created.id, body={"timing": "next_billing_cycle"})
    status, raw = _raw(clean_server, "ada")
    (sub,) = raw["subscriptions"]
    assert sub["status"] == "cancellation_scheduled" and sub["current"] is True
    assert sub["cancelScheduledAt"] == sub["currentBillingPeriodEnd"]

    parsed = flowglad.get_customer_billing(external_id="ada")
    assert parsed.current_subscription is not None


def test_ended_subscription_is_not_current(flowglad, om, clean_server):
    _catalog(om, clean_server)
    om.create_customer(body={"name": "Bo", "key": "bo"})
    created = om.create_subscription(body={"customerKey": "bo", "plan": {"key": "free"}})
    om.cancel_subscription(subscription_id=created.id, body={"timing": "immediate"})
    status, raw = _raw(clean_server, "bo")
    assert status == 200
    (sub,) = raw["subscriptions"]
    assert sub["status"] == "canceled" and sub["current"] is False and sub["canceledAt"] is not None
    assert sub["subscriptionItems"] == [] and sub["experimental"] == {"featureItems": [], "usageMeterBalances": []}
    assert raw["currentSubscriptions"] == [] and "currentSubscription" not in raw


def test_external_ids_with_reserved_characters(flowglad, om):
    for key in ("ada@example.com", "team 42", "ünïcode"):
        om.create_customer(body={"name": "Someone", "key": key})
        assert flowglad.get_customer_billing(external_id=key).customer.external_id == key
