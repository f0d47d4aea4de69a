"""Plan <-> add-on assignments through the generated client, on every backend (openmeter-billing.md 1.4, 1.5)."""

from __future__ import annotations

import pytest

from generated.runtime import BadRequestError, ConflictError, NotFoundError


def _flat(key: str, amount: str = "10", **changes):
    card = {"type": "flat_fee", "key": key, "name": key, "billingCadence": "P1M", "price": {"type": "flat", "amount": amount}}
    card.update(changes)
    return card


def _setup(om, *, addon_cards=None, instance_type="multiple", currency="USD"):
    plan = om.create_plan(body={"key": "pro", "name": "Pro", "currency": "USD", "billingCadence": "P1M", "phases": [
        {"key": "trial", "name": "Trial", "duration": "P14D", "rateCards": [_flat("platform", "0")]},
        {"key": "main", "name": "Main", "duration": None, "rateCards": [_flat("platform", "99")]},
    ]})  # fmt: skip
    addon = om.create_addon(body={"key": "boost", "name": "Boost", "currency": currency, "instanceType": instance_type,
                                  "rateCards": addon_cards or [_flat("boost_fee", "5")]})  # fmt: skip
    om.publish_addon(addon_id=addon.id)
    return plan, addon


def test_assign_get_update_delete(om):
    plan, addon = _setup(om)
    created = om.create_plan_addon(plan_id=plan.id, body={"addonId": addon.id, "fromPlanPhase": "main", "maxQuantity": 3,
                                                          "metadata": {"note": "x"}})  # fmt: skip
    assert (created.addon.id, created.from_plan_phase, created.max_quantity) == (addon.id, "main", 3)
    assert created.validation_errors == []
    with pytest.raises(ConflictError):
        om.create_plan_addon(plan_id=plan.id, body={"addonId": addon.id, "fromPlanPhase": "main"})

    assert om.get_plan_addon(plan_id=plan.id, plan_addon_id=addon.id).max_quantity == 3
    assert om.get_plan_addon(plan_id="pro", plan_addon_id="boost").addon.key == "boost"  # keys work on GET
    listed = om.list_plan_addons(plan_id=plan.id)
    assert (listed.total_count, [a.addon.key for a in listed.items]) == (1, ["boost"])

    updated = om.update_plan_addon(plan_id=plan.id, plan_addon_id=addon.id, body={"fromPlanPhase": "nowhere", "maxQuantity": 0})
    assert sorted(e.code for e in updated.validation_errors) == ["plan_addon_max_quantity_must_be_set",
                                                                 "plan_addon_unknown_plan_phase_key"]  # fmt: skip
    # An incompatible assignment blocks publishing the plan, and says why.
    with pytest.raises(BadRequestError) as error:
        om.publish_plan(plan_id=plan.id)
    problems = error.value.body["extensions"]["validationErrors"]
    assert [p["code"] for p in problems] == ["plan_has_incompatible_addon"]
    assert "plan_addon_unknown_plan_phase_key" in problems[0]["message"]

    om.delete_plan_addon(plan_id=plan.id, plan_addon_id=addon.id)
    with pytest.raises(NotFoundError):
        om.get_plan_addon(plan_id=plan.id, plan_addon_id=addon.id)
    assert om.list_plan_addons(plan_id=plan.id).total_count == 0
    assert om.list_plan_addons(plan_id=plan.id, include_deleted=True).total_count == 1
    om.publish_plan(plan_id=plan.id)


def test_compatibility_rules(om):
    plan, addon = _setup(om, instance_type="single", currency="EUR", addon_cards=[
        _flat("platform", "20", billingCadence="P1W", price={"type": "flat", "amount": "20", "paymentTerm": "in_arrears"}),
        _flat("weekly", "1", billingCadence="P1W"),
    ])  # fmt: skip
    assigned = om.create_plan_addon(plan_id=plan.id, body={"addonId": addon.id, "fromPlanPhase": "trial", "maxQuantity": 2})
    errors = assigned.validation_errors
    assert sorted(e.code for e in errors) == [
        "plan_addon_currency_mismatch", "plan_addon_max_quantity_must_not_be_set",
        "plan_billing_cadence_not_compatible", "plan_billing_cadence_not_compatible",
        "rate_card_billing_cadence_mismatch", "rate_card_billing_cadence_mismatch",
        "rate_card_price_payment_term_mismatch", "rate_card_price_payment_term_mismatch",
    ]  # fmt: skip
    # Each names where: both phases from `trial` on have a `platform` card the add-on overlays.
    assert "$.phases[?(@.key=='main')].rateCards[?(@.key=='platform')].price" in [e.field for e in errors]


def test_refusals(om):
    plan, addon = _setup(om)
    draft_addon = om.create_addon(body={"key": "later", "name": "Later", "currency": "USD", "instanceType": "single",
                                        "rateCards": [_flat("later_fee")]})  # fmt: skip
    with pytest.raises(BadRequestError):  # only active add-ons
        om.create_plan_addon(plan_id=plan.id, body={"addonId": draft_addon.id, "fromPlanPhase": "main"})
    with pytest.raises(NotFoundError):
        om.create_plan_addon(plan_id=plan.id, body={"addonId": "01G65Z755AFWAKHE12NY0CQ9FH", "fromPlanPhase": "main"})
    with pytest.raises(NotFoundError):
        om.create_plan_addon(plan_id="01G65Z755AFWAKHE12NY0CQ9FH", body={"addonId": addon.id, "fromPlanPhase": "main"})
    om.create_plan_addon(plan_id=plan.id, body={"addonId": addon.id, "fromPlanPhase": "main", "maxQuantity": 5})
    om.publish_plan(plan_id=plan.id)
    # Assignments of a published plan are fixed.
    with pytest.raises(BadRequestError):
        om.update_plan_addon(plan_id=plan.id, plan_addon_id=addon.id, body={"fromPlanPhase": "trial"})
    with pytest.raises(BadRequestError):
        om.delete_plan_addon(plan_id=plan.id, plan_addon_id=addon.id)
    # The next version does not copy assignments.
    nxt = om.next_plan(plan_id_or_key=plan.id)
    assert om.list_plan_addons(plan_id=nxt.id).total_count == 0
    # An add-on assigned to a live plan cannot be deleted, even archived.
    om.archive_addon(addon_id=addon.id)
    with pytest.raises(BadRequestError) as error:
        om.delete_addon(addon_id=addon.id)
    assert plan.id in error.value.body["detail"]
