"""Catalog validation without a database: every issue at once, OpenMeter's codes and severities."""

from __future__ import annotations

import datetime as dt

from domain.catalog import ratecards
from domain.catalog.addons import publish_issues
from domain.catalog.model import Addon, Plan, status_at
from domain.catalog.plans import validate_plan

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _plan(phases, **changes):
    fields = dict(id="p", key="pro", version=1, name="Pro", description=None, metadata=None, currency="USD",
                  billing_cadence="P1M", pro_rating={}, phases=phases, effective_from=None, effective_to=None,
                  created_at=NOW, updated_at=NOW)  # fmt: skip
    fields.update(changes)
    return Plan(**fields)


def _card(key, **changes):
    card = ratecards.normalise({"type": "flat_fee", "key": key, "name": key, "billingCadence": "P1M",
                                "price": {"type": "flat", "amount": "1"}})  # fmt: skip
    card.update(changes)
    return card


def test_normalise_makes_money_canonical_and_fills_defaults():
    card = ratecards.normalise({
        "type": "usage_based", "key": "tokens", "name": "Tokens", "featureKey": "tokens", "billingCadence": "P1M",
        "price": {"type": "package", "amount": "10.000", "quantityPerPackage": "1000.0"},
        "entitlementTemplate": {"type": "metered", "issueAfterReset": 5},
        "discounts": {"usage": {"quantity": "100.50"}},
    })  # fmt: skip
    assert card["price"] == {"type": "package", "amount": "10", "quantityPerPackage": "1000"}
    assert card["entitlementTemplate"] == {"type": "metered", "isSoftLimit": False, "issueAfterReset": 5,
                                           "issueAfterResetPriority": 1, "preserveOverageAtReset": False,
                                           "usagePeriod": "P1M"}  # fmt: skip
    assert card["discounts"] == {"usage": {"quantity": "100.5"}}
    assert ratecards.normalise({"type": "usage_based", "key": "d", "name": "D", "billingCadence": "P1M",
                                "price": {"type": "dynamic"}})["price"] == {"type": "dynamic", "multiplier": "1"}  # fmt: skip


def test_every_price_problem_is_reported():
    tiered = {"type": "tiered", "mode": "volume", "tiers": [
        {"upToAmount": "100", "flatPrice": None, "unitPrice": None},
        {"upToAmount": "10", "flatPrice": {"type": "flat", "amount": "-1"}, "unitPrice": None},
    ], "minimumAmount": "10", "maximumAmount": "5"}  # fmt: skip
    card = {"type": "usage_based", "key": "x", "name": "x", "billingCadence": "PT30M", "price": tiered}
    codes = sorted(i.code for i in ratecards.validate(card, "$"))
    assert codes == ["billing_cadence_invalid_value", "price_amount_negative", "price_minimum_greater_than_maximum",
                     "price_tier_without_price", "price_tiers_open_ended", "price_tiers_unsorted"]  # fmt: skip
    flat_with_usage_discount = _card("y", discounts={"usage": {"quantity": "-1"}, "percentage": {"percentage": 120}})
    assert sorted(i.code for i in ratecards.validate(flat_with_usage_discount, "$")) == [
        "percentage_discount_invalid_value", "usage_discount_negative_quantity", "usage_discount_with_flat_price"]


def test_plan_rules_and_severities():
    phases = [
        {"key": "a", "name": "A", "duration": "PT10M", "rateCards": [_card("c"), _card("c", billingCadence="P1W")]},
        {"key": "a", "name": "B", "duration": None, "rateCards": []},
    ]  # fmt: skip
    issues = validate_plan(_plan(phases, currency="XYZ", billing_cadence="P2M"))
    assert sorted((i.code, i.severity) for i in issues) == [
        ("currency_invalid", "critical"), ("plan_billing_cadence_invalid", "critical"),
        ("plan_phase_duplicated_key", "warning"), ("plan_phase_duration_less_then_an_hour", "warning"),
        ("plan_phase_has_no_rate_cards", "warning"), ("rate_card_duplicated_key", "warning"),
    ]  # fmt: skip
    unaligned = validate_plan(_plan([{"key": "a", "name": "A", "duration": None, "rateCards": [_card("c", billingCadence="P1W")]}]))
    assert [(i.code, i.field) for i in unaligned] == [
        ("rate_card_billing_cadence_unaligned", "$.phases[?(@.key=='a')].rateCards[?(@.key=='c')].billingCadence")]
    # A free card (no price) and a one-time fee (no cadence) are exempt from alignment.
    exempt = [_card("free", billingCadence="P1W", price=None), _card("once", billingCadence=None)]
    assert validate_plan(_plan([{"key": "a", "name": "A", "duration": None, "rateCards": exempt}])) == []


def test_addon_publish_rules():
    addon = Addon(id="a", key="k", version=1, name="n", description=None, metadata=None, currency="USD",
                  instance_type="multiple", rate_cards=[_card("a"), _card("b", billingCadence="P1Y",
                  price={"type": "unit", "amount": "1"})], effective_from=None, effective_to=None,
                  created_at=NOW, updated_at=NOW)  # fmt: skip
    assert sorted(i.code for i in publish_issues(addon)) == [
        "addon_invalid_ratecard_price_for_multi_instance", "rate_card_multiple_billing_cadence"]


def test_status_is_computed_from_the_effective_period():
    hour = dt.timedelta(hours=1)
    assert status_at(None, None, NOW) == "draft"
    assert status_at(NOW - hour, None, NOW) == "active"
    assert status_at(NOW - hour, NOW + hour, NOW) == "active"
    assert status_at(NOW - hour, NOW, NOW) == "archived"  # archived "at now" is archived
    assert status_at(NOW + hour, None, NOW) == "scheduled"
