"""The pure mapping of Tollgate's billing data onto Flowglad's billing view (flowglad.md 1, 3, 6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from domain.catalog.model import Plan
from domain.customers import Customer, UsageAttribution
from domain.features import Feature
from domain.flowglad_billing import (
    BillingSource, build_billing, epoch_ms, interval, made_up_id, minor_units, per_units, subscription_status,
)  # fmt: skip
from domain.metering.meters import Aggregation, Meter
from domain.subscriptions.model import Item, Phase, PlanRef, Subscription

T0 = dt.datetime(2026, 1, 15, tzinfo=dt.timezone.utc)
NOW = T0 + dt.timedelta(days=10)


def _customer(**changes) -> Customer:
    base = dict(id="01JCUSTOMER000000000000000", key="user_123", name="Ada", description=None, currency=None,
                primary_email=None, metadata=None, usage_attribution=UsageAttribution(), billing_address=None,
                created_at=T0, updated_at=T0)  # fmt: skip
    return Customer(**{**base, **changes})


def _plan(key="pro", cards=None, **changes) -> Plan:
    cards = cards if cards is not None else [
        {"type": "flat_fee", "key": "base", "name": "Base", "billingCadence": "P1M", "price": {"type": "flat", "amount": "19.99"}}]
    base = dict(id=f"01JPLAN{key.upper():0<19}"[:26], key=key, version=1, name=key.title(), description=None, metadata=None,
                currency="USD", billing_cadence="P1M", pro_rating={}, phases=[{"key": "default", "name": "D", "rateCards": cards}],
                effective_from=T0, effective_to=None, created_at=T0, updated_at=T0)  # fmt: skip
    return Plan(**{**base, **changes})


def _meter(slug="tokens", aggregation=Aggregation.SUM) -> Meter:
    return Meter(id=f"01JMETER{slug.upper():0<18}"[:26], key=slug, name=slug, aggregation=aggregation, event_type=slug,
                 value_property="$.v", group_by={}, created_at=T0, updated_at=T0)  # fmt: skip


def _feature(key, meter_slug=None) -> Feature:
    return Feature(id=f"01JFEAT{key.upper():0<19}"[:26], key=key, name=key, metadata=None, meter_slug=meter_slug,
                   meter_group_by_filters=None, unit_cost=None, created_at=T0, updated_at=T0)  # fmt: skip


def _subscription(plan: Plan, *, active_to=None, active_from=T0, created_at=T0, sub_id="01JSUB0000000000000000000A") -> Subscription:
    items = [Item(id=f"{sub_id[:-1]}{i}", key=card["key"], rate_card=card, active_from=active_from, active_to=None,
                  created_at=created_at, updated_at=created_at) for i, card in enumerate(plan.phases[-1]["rateCards"])]  # fmt: skip
    phase = Phase(id=sub_id[:-1] + "P", key="default", name="D", description=None, metadata=None, discounts=None,
                  active_from=active_from, items=items, created_at=created_at, updated_at=created_at)  # fmt: skip
    return Subscription(id=sub_id, customer_id=_customer().id, name=plan.name, description=None, metadata=None,
                        plan=PlanRef(plan.id, plan.key, plan.version), currency=plan.currency, billing_cadence=plan.billing_cadence,
                        pro_rating={}, billing_anchor=active_from, active_from=active_from, active_to=active_to, phases=[phase],
                        created_at=created_at, updated_at=created_at)  # fmt: skip


def _view(**changes):
    base = dict(customer=_customer(), plans=[], features=[], meters=[], subscriptions=[], now=NOW)
    return build_billing(BillingSource(**{**base, **changes}))


def test_conversions_are_exact_and_stable():
    assert minor_units("19.99", "USD") == 1999 and minor_units("500", "JPY") == 500 and minor_units("1.234", "KWD") == 1234
    assert per_units("0.001", 1, "USD") == (1, 10)  # a tenth of a cent per unit: 1 cent per 10 units
    assert per_units("5", "1000", "USD") == (500, 1000) and per_units("0.0001", "0.5", "USD") == (1, 50)
    assert interval("P1M") == ("month", 1) and interval("P1Y") == ("year", 1) and interval("P2W") == ("week", 2)
    assert interval("P1Y6M") == ("month", 18) and interval("PT1H") is None and interval(None) is None
    assert epoch_ms(T0) == 1768435200000
    assert made_up_id("cust", "x") == made_up_id("cust", "x") != made_up_id("cust", "y")
    assert len(made_up_id("cust", "x")) == len("cust_") + 21


def test_only_active_plans_are_products_with_the_first_subscription_price_as_default():
    draft = _plan("draft", effective_from=None)
    archived = _plan("old", effective_to=T0 + dt.timedelta(days=1))
    scheduled = _plan("later", effective_from=NOW + dt.timedelta(days=1))
    one_time = {"type": "flat_fee", "key": "setup", "name": "Setup", "billingCadence": None, "price": {"type": "flat", "amount": "99"}}
    pro = _plan("pro", cards=[one_time, *_plan().phases[0]["rateCards"]])
    view = _view(plans=[draft, archived, scheduled, pro, _plan("free", cards=[])])
    model = view["pricingModel"]
    assert view["catalog"] is model and [p["slug"] for p in model["products"]] == ["free", "pro"]
    free, product = model["products"]
    assert model["defaultProduct"] is free
    # No flat fee: one free subscription price at the plan's cadence.
    assert [(p["type"], p["unitPrice"], p["intervalUnit"]) for p in free["prices"]] == [("subscription", 0, "month")]
    # Both flat fees are prices; the recurring one is the default, listed first.
    assert [(p["type"], p["unitPrice"], p["isDefault"]) for p in product["prices"]] == [
        ("subscription", 1999, True), ("single_payment", 9900, False)]
    assert product["defaultPrice"] is product["prices"][0]
    single = product["prices"][1]
    assert single["intervalUnit"] is None and single["intervalCount"] is None and single["usageEventsPerUnit"] is None


def test_no_default_product_key_without_a_free_plan_and_unsupported_currencies_left_out():
    view = _view(plans=[_plan("pro"), _plan("kw", currency="KWD")], currencies=frozenset({"USD"}))
    assert "defaultProduct" not in view["pricingModel"] and [p["slug"] for p in view["pricingModel"]["products"]] == ["pro"]


def test_meters_features_and_usage_prices():
    cards = [
        {"type": "usage_based", "key": "tokens_f", "featureKey": "tokens_f", "name": "Tokens", "billingCadence": "P1M",
         "price": {"type": "package", "amount": "2", "quantityPerPackage": "1000"},
         "entitlementTemplate": {"type": "metered", "issueAfterReset": 500}},
        {"type": "usage_based", "key": "tiered_f", "featureKey": "tiered_f", "name": "Tiered", "billingCadence": "P1M",
         "price": {"type": "tiered", "mode": "volume", "tiers": []}},
        {"type": "flat_fee", "key": "sso", "featureKey": "sso", "name": "SSO", "billingCadence": None, "price": None,
         "entitlementTemplate": {"type": "boolean"}},
    ]  # fmt: skip
    meters = [_meter("tokens"), _meter("seats", Aggregation.UNIQUE_COUNT), _meter("peak", Aggregation.MAX)]
    features = [_feature("tokens_f", "tokens"), _feature("tiered_f", "seats"), _feature("sso")]
    model = _view(plans=[_plan("pro", cards=cards)], meters=meters, features=features)["pricingModel"]
    # MAX has no Flowglad aggregation; UNIQUE_COUNT is count_distinct_properties.
    assert [(m["slug"], m["aggregationType"]) for m in model["usageMeters"]] == [("seats", "count_distinct_properties"), ("tokens", "sum")]
    seats, tokens = model["usageMeters"]
    assert seats["prices"] == [] and "defaultPrice" not in seats  # tiered prices have no counterpart
    (price,) = tokens["prices"]
    assert (price["unitPrice"], price["usageEventsPerUnit"], price["usageMeterId"], price["isDefault"]) == (200, 1000, tokens["id"], True)
    (product,) = model["products"]
    # The price-less SSO card is no price: the product gets a free subscription price.
    assert [p["unitPrice"] for p in product["prices"]] == [0]
    kinds = {f["slug"]: (f["type"], f["amount"], f["usageMeterId"]) for f in product["features"]}
    assert kinds == {"tokens_f": ("usage_credit_grant", 500, tokens["id"]), "tiered_f": ("toggle", None, None), "sso": ("toggle", None, None)}


def test_subscription_status_mapping_and_current():
    plan = _plan()
    active = _subscription(plan)
    scheduled_end = _subscription(plan, active_to=NOW + dt.timedelta(days=5))
    ended = _subscription(plan, active_to=NOW - dt.timedelta(days=1))
    future = _subscription(plan, active_from=NOW + dt.timedelta(days=1))
    assert [subscription_status(s, NOW) for s in (active, scheduled_end, ended, future)] == [
        "active", "cancellation_scheduled", "canceled", "incomplete"]
    view = _view(plans=[plan], subscriptions=[ended])
    (record,) = view["subscriptions"]
    assert record["current"] is False and record["canceledAt"] == epoch_ms(ended.active_to) and record["subscriptionItems"] == []
    assert view["currentSubscriptions"] == [] and "currentSubscription" not in view


def test_current_subscriptions_sorted_newest_first_and_the_first_is_current_subscription():
    plan = _plan()
    older = _subscription(plan, sub_id="01JSUB0000000000000000000A")
    newer = _subscription(plan, sub_id="01JSUB0000000000000000000B", created_at=T0 + dt.timedelta(days=1))
    view = _view(plans=[plan], subscriptions=[older, newer])
    ids = [s["id"] for s in view["currentSubscriptions"]]
    assert ids == [made_up_id("sub", newer.id), made_up_id("sub", older.id)]
    assert view["currentSubscription"] is view["currentSubscriptions"][0]


def test_balances_are_on_current_subscriptions_keyed_by_meter_and_may_be_negative():
    plan = _plan()
    view = _view(plans=[plan], meters=[_meter("tokens"), _meter("peak", Aggregation.MAX)], subscriptions=[_subscription(plan)],
                 balances={"tokens": Decimal("-30"), "peak": Decimal(5), "unknown": Decimal(1)})  # fmt: skip
    (sub,) = view["subscriptions"]
    assert [(b["slug"], b["availableBalance"]) for b in sub["experimental"]["usageMeterBalances"]] == [("tokens", Decimal("-30"))]
    (item,) = sub["subscriptionItems"]
    assert item["unitPrice"] == 1999 and sub["priceId"] == item["priceId"] == view["pricingModel"]["products"][0]["defaultPrice"]["id"]
    assert sub["currentBillingPeriodStart"] == epoch_ms(T0) and sub["currentBillingPeriodEnd"] == epoch_ms(dt.datetime(2026, 2, 15, tzinfo=dt.timezone.utc))


def test_customer_fields_and_portal_url():
    from domain.customers import Address

    view = _view(customer=_customer(primary_email="a@b.c", billing_address=Address(city="Paris")), livemode=True,
                 external_url="https://billing.example.com/")  # fmt: skip
    customer = view["customer"]
    assert customer["livemode"] is True and customer["email"] == "a@b.c" and "billingAddress" not in customer  # no country
    assert len(customer["invoiceNumberBase"]) == 7 and customer["invoiceNumberBase"] == customer["invoiceNumberBase"].upper()
    assert view["billingPortalUrl"] == f"https://billing.example.com/billing-portal/{customer['organizationId']}"
    assert _view()["customer"] == _view()["customer"]  # deterministic


def test_figures_beyond_javascript_safe_integers_are_left_out():
    huge = {"type": "flat_fee", "key": "huge", "name": "Huge", "billingCadence": "P1M", "price": {"type": "flat", "amount": "1e20"}}
    (product,) = _view(plans=[_plan("pro", cards=[huge])])["pricingModel"]["products"]
    assert [p["unitPrice"] for p in product["prices"]] == [0]  # only the free price stands in
    assert per_units("1e20", 1, "USD") is None and per_units("1", "1e-30", "USD") is None
    assert interval("P9999999999999999D") is None


def test_custom_plan_and_not_yet_started_subscriptions():
    import dataclasses

    plan = _plan()
    custom = dataclasses.replace(_subscription(plan), plan=None, name="Custom")
    future = _subscription(plan, active_from=NOW + dt.timedelta(days=3), sub_id="01JSUB0000000000000000000C")
    view = _view(plans=[], subscriptions=[custom, future])
    by_status = {s["status"]: s for s in view["subscriptions"]}
    assert sorted(by_status) == ["active", "incomplete"]
    # A custom plan's prices are its own (made-up ids from the subscription), the item keeps its price.
    (item,) = by_status["active"]["subscriptionItems"]
    assert item["price"]["unitPrice"] == 1999 and item["priceId"] == by_status["active"]["priceId"]
    # Not started: not current, no items yet, no billing period.
    assert by_status["incomplete"]["current"] is False and by_status["incomplete"]["subscriptionItems"] == []
    assert by_status["incomplete"]["currentBillingPeriodStart"] is None
    assert view["currentSubscription"]["id"] == by_status["active"]["id"]


def test_feature_only_plan_gets_a_free_main_item_carrying_its_feature_items():
    sso = {"type": "flat_fee", "key": "sso", "featureKey": "sso", "name": "SSO", "billingCadence": None, "price": None,
           "entitlementTemplate": {"type": "boolean"}}  # fmt: skip
    plan = _plan("free", cards=[sso])
    view = _view(plans=[plan], features=[_feature("sso")], subscriptions=[_subscription(plan)])
    (sub,) = view["subscriptions"]
    (item,) = sub["subscriptionItems"]
    assert item["unitPrice"] == 0 and item["priceId"] == sub["priceId"] == view["pricingModel"]["defaultProduct"]["defaultPrice"]["id"]
    assert sub["isFreePlan"] is True
    (feature,) = sub["experimental"]["featureItems"]
    assert (feature["type"], feature["slug"], feature["subscriptionItemId"]) == ("toggle", "sso", item["id"])
    assert feature["featureId"] == view["pricingModel"]["products"][0]["features"][0]["id"]


def test_subscription_items_embed_the_pricing_models_own_price_records():
    usage = [{"type": "usage_based", "key": k, "featureKey": k, "name": k, "billingCadence": "P1M",
              "price": {"type": "unit", "amount": a}} for k, a in (("in_tokens", "0.01"), ("out_tokens", "0.03"))]  # fmt: skip
    plan = _plan("pro", cards=[*_plan().phases[0]["rateCards"], *usage])
    view = _view(plans=[plan], meters=[_meter("tokens")], features=[_feature("in_tokens", "tokens"), _feature("out_tokens", "tokens")],
                 subscriptions=[_subscription(plan)])  # fmt: skip
    (meter,) = view["pricingModel"]["usageMeters"]
    assert [(p["slug"], p["unitPrice"], p["isDefault"]) for p in meter["prices"]] == [("in_tokens", 1, True), ("out_tokens", 3, False)]
    items = {i["price"]["slug"]: i["price"] for i in view["subscriptions"][0]["subscriptionItems"]}
    assert items["out_tokens"] == meter["prices"][1] and items["base"] == view["pricingModel"]["products"][0]["defaultPrice"]
