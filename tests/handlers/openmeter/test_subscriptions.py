"""OpenMeter subscriptions through the generated client, on every backend (openmeter-billing.md 2)."""

from __future__ import annotations

import datetime as dt

import pytest

from generated.runtime import BadRequestError, ConflictError, ForbiddenError, NotFoundError, PreconditionFailedError


def _card(key: str = "base_fee", amount: str = "10.50", cadence: str | None = "P1M"):
    return {"type": "flat_fee", "key": key, "name": key.replace("_", " ").title(), "billingCadence": cadence,
            "price": {"type": "flat", "amount": amount}}  # fmt: skip


def _phases():
    return [
        {"key": "trial", "name": "Trial", "duration": "P14D", "rateCards": [_card("trial_fee", "0")]},
        {"key": "default", "name": "Default", "duration": None, "rateCards": [_card(), _card("support", "5.25")]},
    ]


def _published(om, key: str = "pro", **changes):
    body = {"key": key, "name": "Pro", "currency": "USD", "billingCadence": "P1M", "phases": _phases()}
    body.update(changes)
    plan = om.create_plan(body=body)
    return om.publish_plan(plan_id=plan.id)


def _customer(om, key: str = "acme", **changes):
    return om.create_customer(body={"name": key.title(), "key": key, **changes})


def _raw(om, method: str, path: str, **kwargs):
    response = om._http.request(method, om.base_url + path, headers=om._headers, **kwargs)
    return response.status_code, response.json() if response.content else None


def _value(enum_or_str):
    return getattr(enum_or_str, "value", enum_or_str)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def test_create_from_a_plan_and_get_the_phases_and_items(om):
    plan = _published(om)
    customer = _customer(om)
    created = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}})
    assert _value(created.status) == "active"
    assert created.customer_id == customer.id and created.name == "Pro" and _value(getattr(created.currency, "root", created.currency)) == "USD"
    assert (created.plan.id, created.plan.key, created.plan.version) == (plan.id, "pro", 1)
    assert created.billing_anchor == created.active_from and created.active_to is None
    # The customer had no currency: it takes the subscription's; nothing else of it changes.
    after = om.get_customer(customer_id_or_key="acme")
    assert _value(getattr(after.currency, "root", after.currency)) == "USD" and after.name == customer.name and after.key == "acme"

    status, raw = _raw(om, "GET", f"/api/v1/subscriptions/{created.id}")
    assert status == 200
    trial, default = raw["phases"]
    start = dt.datetime.fromisoformat(raw["activeFrom"])
    assert trial["activeFrom"] == raw["activeFrom"]
    assert dt.datetime.fromisoformat(trial["activeTo"]) == start + dt.timedelta(days=14) == dt.datetime.fromisoformat(default["activeFrom"])
    assert "activeTo" not in default
    # The trial is the current phase: its item is shown; the default phase shows its first versions.
    assert [i["key"] for i in trial["items"]] == ["trial_fee"]
    assert sorted(i["key"] for i in default["items"]) == ["base_fee", "support"]
    base = next(i for i in default["items"] if i["key"] == "base_fee")
    assert base["price"] == {"type": "flat", "amount": "10.5", "paymentTerm": "in_advance"}  # exact decimal string
    assert sorted(default["itemTimelines"]) == ["base_fee", "support"]
    # The current aligned billing period is clipped to the trial phase.
    period = raw["alignment"]["currentAlignedBillingPeriod"]
    assert period["from"] == raw["activeFrom"] and period["to"] == trial["activeTo"]

    # With `at` (ruling 2) the view is taken at that time: in 20 days the default phase is current.
    later = om.get_subscription(subscription_id=created.id, at=start + dt.timedelta(days=20))
    assert _value(later.status) == "active"
    period = later.alignment.current_aligned_billing_period
    assert period.from_ == start + dt.timedelta(days=14)
    assert period.to.day == start.day or period.to > period.from_


def test_create_honours_plan_version_and_starting_phase(om):
    _published(om)
    v2 = om.publish_plan(plan_id=om.next_plan(plan_id_or_key="pro").id)
    _customer(om)
    _customer(om, "beta")
    # By key alone: the version active now (2); version 1 is archived and refused.
    assert om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}}).plan.version == 2
    with pytest.raises(BadRequestError):
        om.create_subscription(body={"customerKey": "beta", "plan": {"key": "pro", "version": 1}})
    with pytest.raises(NotFoundError):
        om.create_subscription(body={"customerKey": "beta", "plan": {"key": "pro", "version": 9}})
    sub = om.create_subscription(body={"customerKey": "beta", "plan": {"key": "pro", "version": 2}, "startingPhase": "default"})
    assert sub.plan.id == v2.id
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    trial, default = raw["phases"]
    # Phases before the starting phase are kept with zero length.
    assert trial["activeFrom"] == trial["activeTo"] == default["activeFrom"] == raw["activeFrom"]
    with pytest.raises(BadRequestError) as error:
        om.create_subscription(body={"customerKey": "beta", "plan": {"key": "pro"}, "startingPhase": "nope",
                                     "timing": _iso(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400))})  # fmt: skip
    assert "starting phase" in error.value.body["detail"]


def test_create_refusals(om):
    _published(om)
    _customer(om)
    with pytest.raises(BadRequestError):  # no customer
        om.create_subscription(body={"plan": {"key": "pro"}})
    with pytest.raises(NotFoundError):
        om.create_subscription(body={"customerKey": "nobody", "plan": {"key": "pro"}})
    with pytest.raises(NotFoundError):
        om.create_subscription(body={"customerKey": "acme", "plan": {"key": "unknown"}})
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    with pytest.raises(BadRequestError) as error:
        om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}, "timing": _iso(past)})
    assert "2 minutes in the past" in error.value.body["detail"]
    eur = _customer(om, "eur", currency="EUR")
    with pytest.raises(BadRequestError) as error:
        om.create_subscription(body={"customerId": eur.id, "plan": {"key": "pro"}})
    assert error.value.body["extensions"]["validationErrors"][0]["code"] == "currency_mismatch"
    gone = _customer(om, "gone")
    om.delete_customer(customer_id_or_key=gone.id)
    with pytest.raises(PreconditionFailedError):
        om.create_subscription(body={"customerId": gone.id, "plan": {"key": "pro"}})


def test_one_subscription_per_customer_at_a_time(om):
    _published(om)
    _customer(om)
    first = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}})
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=60)
    with pytest.raises(ConflictError) as error:
        om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}, "timing": _iso(future)})
    problem = error.value.body["extensions"]["validationErrors"][0]
    assert problem["code"] == "only_single_subscription_allowed_per_customer_at_a_time"
    # Once the first ends at the next billing cycle, a follow-up may start then (not before).
    canceled = om.cancel_subscription(subscription_id=first.id, body={"timing": "next_billing_cycle"})
    assert _value(canceled.status) == "canceled"
    with pytest.raises(ConflictError):
        om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}, "timing": _iso(canceled.active_to - dt.timedelta(hours=1))})
    follow = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}, "timing": _iso(canceled.active_to)})
    assert _value(follow.status) == "scheduled"
    # Continuing the first would overlap the scheduled follow-up: 409.
    with pytest.raises(ConflictError):
        om.unschedule_cancelation(subscription_id=first.id)
    # Restore deletes the scheduled follow-up and continues the first.
    restored = om.restore_subscription(subscription_id=first.id)
    assert _value(restored.status) == "active" and restored.active_to is None
    assert om.get_subscription(subscription_id=follow.id).deleted_at is not None
    listed = om.list_customer_subscriptions(customer_id_or_key="acme")
    assert [s.id for s in listed.items] == [first.id]


def test_cancel_unschedule_and_the_state_machine(om):
    _published(om, phases=[{"key": "default", "name": "Default", "duration": None, "rateCards": [_card()]}])
    _customer(om)
    sub = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}})
    start = sub.active_from
    with pytest.raises(ForbiddenError) as error:  # active: only edit/cancel/change
        om.delete_subscription(subscription_id=sub.id)
    assert error.value.body["detail"].endswith("transition delete in state active not allowed")
    with pytest.raises(ForbiddenError):
        om.unschedule_cancelation(subscription_id=sub.id)
    # An explicit cancel time must fall on a billing-period boundary.
    with pytest.raises(BadRequestError) as error:
        om.cancel_subscription(subscription_id=sub.id, body={"timing": _iso(start + dt.timedelta(days=40))})
    assert "misaligned" in error.value.body["detail"]
    boundary = om.get_subscription(subscription_id=sub.id).alignment.current_aligned_billing_period.to
    two_periods = om.get_subscription(subscription_id=sub.id, at=boundary).alignment.current_aligned_billing_period.to
    canceled = om.cancel_subscription(subscription_id=sub.id, body={"timing": _iso(two_periods)})
    assert _value(canceled.status) == "canceled" and canceled.active_to == two_periods
    with pytest.raises(ForbiddenError):
        om.cancel_subscription(subscription_id=sub.id, body={})
    continued = om.unschedule_cancelation(subscription_id=sub.id)
    assert _value(continued.status) == "active" and continued.active_to is None
    # Immediate cancel: inactive right away; nothing but create is allowed after.
    ended = om.cancel_subscription(subscription_id=sub.id, body={})
    assert _value(ended.status) == "inactive"
    for call in (lambda: om.unschedule_cancelation(subscription_id=sub.id), lambda: om.delete_subscription(subscription_id=sub.id)):
        with pytest.raises(ForbiddenError):
            call()
    with pytest.raises(NotFoundError):
        om.get_subscription(subscription_id="01JAAAAAAAAAAAAAAAAAAAAAAA")


def test_delete_scheduled_and_list_with_filters(om):
    _published(om)
    _customer(om)
    now = dt.datetime.now(dt.timezone.utc)
    later = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}, "timing": _iso(now + dt.timedelta(days=30))})
    assert _value(later.status) == "scheduled"
    listed = om.list_customer_subscriptions(customer_id_or_key="acme")
    assert (listed.total_count, listed.page, listed.page_size) == (1, 0, 0)
    assert [s.id for s in om.list_customer_subscriptions(customer_id_or_key="acme", status=["scheduled"]).items] == [later.id]
    assert om.list_customer_subscriptions(customer_id_or_key="acme", status=["active"]).items == []
    om.delete_subscription(subscription_id=later.id)
    assert om.list_customer_subscriptions(customer_id_or_key="acme").items == []
    with pytest.raises(NotFoundError):
        om.list_customer_subscriptions(customer_id_or_key="nobody")
    # The customers list finds customers by the plan key of their active subscription.
    om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}})
    assert [c.key for c in om.list_customers(plan_key="pro").items] == ["acme"]
    assert om.list_customers(plan_key="other").items == []


def test_list_orders_and_pages(om):
    _published(om)
    _customer(om)
    first = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}})
    ended = om.cancel_subscription(subscription_id=first.id, body={"timing": "next_billing_cycle"})
    second = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}, "timing": _iso(ended.active_to)})
    listed = om.list_customer_subscriptions(customer_id_or_key="acme")
    assert [s.id for s in listed.items] == [second.id, first.id]  # activeFrom, DESC by default
    by_end = om.list_customer_subscriptions(customer_id_or_key="acme", order_by="activeTo", order="ASC")
    assert [s.id for s in by_end.items] == [first.id, second.id]  # an open end sorts last
    page = om.list_customer_subscriptions(customer_id_or_key="acme", order="ASC", page=2, page_size=1)
    assert (page.total_count, page.page, page.page_size, [s.id for s in page.items]) == (2, 2, 1, [second.id])


def test_custom_plan_subscription(om):
    _customer(om)
    free = {"type": "flat_fee", "key": "support", "name": "Support", "billingCadence": None, "price": None}
    body = {"customerKey": "acme", "customPlan": {"name": "Bespoke", "currency": "USD", "billingCadence": "P1M", "metadata": None,
            "phases": [{"key": "default", "name": "Default", "duration": None, "rateCards": [_card("setup", "99.99"), free]}]}}  # fmt: skip
    sub = om.create_subscription(body=body)
    assert sub.plan is None and sub.name == "Bespoke"
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    setup, support = sorted(raw["phases"][0]["items"], key=lambda item: item["key"])
    assert setup["price"]["amount"] == "99.99"
    assert support["price"] is None and support["billingCadence"] is None  # a free item keeps its nulls
    bad = {"customerKey": "acme", "customPlan": {"name": "Bad", "currency": "USD", "billingCadence": "P1M",
           "phases": [{"key": "default", "name": "Default", "duration": None,
                       "rateCards": [_card("weekly", "1", cadence="P1W")]}]}}  # fmt: skip
    with pytest.raises(BadRequestError) as error:
        om.create_subscription(body=bad)
    codes = {p["code"] for p in error.value.body["extensions"]["validationErrors"]}
    assert "rate_card_billing_cadence_unaligned" in codes
    # A custom subscription cannot be migrated.
    with pytest.raises(BadRequestError):
        om.migrate_subscription(subscription_id=sub.id, body={})


def test_change_and_migrate(om):
    _published(om)
    _published(om, "team", name="Team")
    _customer(om)
    sub = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}})
    with pytest.raises(BadRequestError):  # no newer version yet
        om.migrate_subscription(subscription_id=sub.id, body={})
    changed = om.change_subscription(subscription_id=sub.id, body={"timing": "next_billing_cycle", "plan": {"key": "team", "version": 1}})
    assert _value(changed.current.status) == "canceled"
    assert changed.next.active_from == changed.current.active_to
    assert changed.next.plan.key == "team" and _value(changed.next.status) == "scheduled"
    assert changed.next.billing_anchor == sub.billing_anchor
    assert changed.current.annotations.root["subscription.superseding.id"] == changed.next.id if hasattr(changed.current.annotations, "root") else True
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{changed.next.id}")
    assert raw["annotations"] == {"subscription.previous.id": sub.id}
    # The scheduled successor may be deleted; the first can then be continued.
    om.delete_subscription(subscription_id=changed.next.id)
    assert _value(om.unschedule_cancelation(subscription_id=sub.id).status) == "active"

    om.publish_plan(plan_id=om.next_plan(plan_id_or_key="pro").id)
    migrated = om.migrate_subscription(subscription_id=sub.id, body={})
    assert _value(migrated.current.status) == "inactive"
    assert migrated.next.plan.version == 2 and _value(migrated.next.status) == "active"
    assert migrated.next.name == sub.name


def test_parallel_creates_leave_exactly_one(om):
    from concurrent.futures import ThreadPoolExecutor

    _published(om)
    _customer(om)

    def create(_: int) -> int:
        status, _body = _raw(om, "POST", "/api/v1/subscriptions", json={"customerKey": "acme", "plan": {"key": "pro"}})
        return status

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = sorted(pool.map(create, range(5)))
    assert statuses == [201, 409, 409, 409, 409]  # one wins, the others conflict; never a 5xx
    assert om.list_customer_subscriptions(customer_id_or_key="acme").total_count == 1


def test_edit_items_and_phases(om):
    _published(om)
    _customer(om)
    sub = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}})
    start = sub.active_from

    def edit(*ops, timing=None):
        body = {"customizations": list(ops)}
        if timing is not None:
            body["timing"] = timing
        return om.edit_subscription(subscription_id=sub.id, body=body)

    # Add an item to the current phase now, replace the base fee of the future phase's... not allowed (key has items).
    edited = edit({"op": "add_item", "phaseKey": "trial", "rateCard": _card("extra", "1.25")})
    assert _value(edited.status) == "active"
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    assert sorted(i["key"] for i in raw["phases"][0]["items"]) == ["extra", "trial_fee"]
    assert raw["phases"][0]["itemTimelines"]["extra"][0]["price"]["amount"] == "1.25"
    with pytest.raises(ForbiddenError):
        edit({"op": "add_item", "phaseKey": "default", "rateCard": _card()})
    with pytest.raises(BadRequestError):
        edit({"op": "add_item", "phaseKey": "nope", "rateCard": _card()})
    with pytest.raises(BadRequestError):
        edit({"op": "remove_item", "phaseKey": "default", "itemKey": "nope"})
    with pytest.raises(BadRequestError):  # custom timing is refused for edits
        edit({"op": "unschedule_edit"}, timing=_iso(start + dt.timedelta(days=1)))
    # Removing an item of a future phase drops it; of the current phase ends it now.
    edit({"op": "remove_item", "phaseKey": "default", "itemKey": "support"}, {"op": "remove_item", "phaseKey": "trial", "itemKey": "extra"})
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    assert [i["key"] for i in raw["phases"][1]["items"]] == ["base_fee"]
    assert [i["key"] for i in raw["phases"][0]["items"]] == ["trial_fee"]
    assert "activeTo" in raw["phases"][0]["itemTimelines"]["extra"][0]

    # Stretch the trial by a week: the default phase starts 21 days after the start.
    edit({"op": "stretch_phase", "phaseKey": "trial", "extendBy": "P7D"})
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    assert dt.datetime.fromisoformat(raw["phases"][1]["activeFrom"]) == start + dt.timedelta(days=21)
    with pytest.raises(ConflictError):  # shrinking the trial to nothing
        edit({"op": "stretch_phase", "phaseKey": "trial", "extendBy": "-P30D"})
    # Add a phase 30 days in, lasting 10 days: later phases move by what it takes.
    edit({"op": "add_phase", "phase": {"key": "promo", "name": "Promo", "startAfter": "P30D", "duration": "P10D"}})
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    assert [p["key"] for p in raw["phases"]] == ["trial", "default", "promo"]
    with pytest.raises(ConflictError):
        edit({"op": "add_phase", "phase": {"key": "promo", "name": "Again", "startAfter": "P40D"}})
    with pytest.raises(ForbiddenError):  # the trial has started
        edit({"op": "remove_phase", "phaseKey": "trial", "shift": "next"})
    edit({"op": "remove_phase", "phaseKey": "promo", "shift": "next"})
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    assert [p["key"] for p in raw["phases"]] == ["trial", "default"]
    # Edits need an active subscription.
    om.cancel_subscription(subscription_id=sub.id, body={})
    with pytest.raises(ForbiddenError):
        edit({"op": "unschedule_edit"})


def test_edit_at_next_billing_cycle_and_unschedule(om):
    _published(om, phases=[{"key": "default", "name": "Default", "duration": None, "rateCards": [_card()]}])
    _customer(om)
    sub = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}})
    om.edit_subscription(subscription_id=sub.id, body={"timing": "next_billing_cycle", "customizations": [
        {"op": "add_item", "phaseKey": "default", "rateCard": _card("base_fee", "20")}]})  # fmt: skip
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    versions = raw["phases"][0]["itemTimelines"]["base_fee"]
    assert [v["price"]["amount"] for v in versions] == ["10.5", "20"]
    assert versions[0]["activeTo"] == versions[1]["activeFrom"] == raw["alignment"]["currentAlignedBillingPeriod"]["to"]
    assert raw["phases"][0]["items"][0]["price"]["amount"] == "10.5"  # now, the old version
    om.edit_subscription(subscription_id=sub.id, body={"customizations": [{"op": "unschedule_edit"}]})
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    versions = raw["phases"][0]["itemTimelines"]["base_fee"]
    assert len(versions) == 1 and "activeTo" not in versions[0]


def test_a_customer_with_a_live_subscription_cannot_be_deleted(om):
    _published(om)
    _customer(om)
    sub = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}})
    with pytest.raises(BadRequestError) as error:
        om.delete_customer(customer_id_or_key="acme")
    assert sub.id in error.value.body["detail"]
    om.cancel_subscription(subscription_id=sub.id, body={})
    om.delete_customer(customer_id_or_key="acme")
    with pytest.raises(NotFoundError):
        om.get_customer(customer_id_or_key="acme")


def _with_addon(om, *, instance_type="multiple", addon_cards=None, max_quantity=3):
    _published(om)
    plan = om.get_plan(plan_id="pro")
    addon = om.create_addon(body={"key": "boost", "name": "Boost", "currency": "USD", "instanceType": instance_type,
                                  "rateCards": addon_cards or [_card("base_fee", "2.25"), _card("boost_fee", "5")]})  # fmt: skip
    om.publish_addon(addon_id=addon.id)
    # Assignments are made on a draft: the next version of the plan carries it.
    draft = om.next_plan(plan_id_or_key="pro")
    om.create_plan_addon(plan_id=draft.id, body={"addonId": addon.id, "fromPlanPhase": "trial", "maxQuantity": max_quantity})
    om.publish_plan(plan_id=draft.id)
    assert plan.version == 1
    _customer(om)
    return om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}}), addon


def test_addons_merge_into_items_and_change_quantity(om):
    sub, addon = _with_addon(om)
    created = om.create_subscription_addon(subscription_id=sub.id, body={"name": "Boost", "quantity": 2, "timing": "immediate",
                                                                          "addon": {"id": addon.id}})  # fmt: skip
    assert created.quantity == 2 and created.addon.key == "boost" and len(created.timeline) == 1
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    trial, default = raw["phases"]
    # base_fee exists in the default phase: 10.50 + 2 x 2.25; elsewhere add-on cards are new items (2 x amount).
    prices = {i["key"]: i["price"]["amount"] for i in default["items"]}
    assert prices == {"base_fee": "15", "support": "5.25", "boost_fee": "10"}
    assert {i["key"]: i["price"]["amount"] for i in trial["items"]} == {"trial_fee": "0", "base_fee": "4.5", "boost_fee": "10"}
    affected = {c.rate_card.root.key if hasattr(c.rate_card, "root") else c.rate_card.key: c.affected_subscription_item_ids
                for c in created.rate_cards}  # fmt: skip
    assert len(affected["boost_fee"]) == 2 and len(affected["base_fee"]) == 2
    # A second create is a quantity change; quantity 0 removes it from then on.
    again = om.create_subscription_addon(subscription_id=sub.id, body={"name": "Boost", "quantity": 1, "timing": "immediate",
                                                                        "addon": {"id": addon.id}})  # fmt: skip
    assert again.id == created.id and again.quantity == 1
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    assert {i["key"]: i["price"]["amount"] for i in raw["phases"][1]["items"]}["base_fee"] == "12.75"
    removed = om.update_subscription_addon(subscription_id=sub.id, subscription_addon_id=created.id,
                                           body={"quantity": 0, "timing": "immediate"})  # fmt: skip
    assert removed.quantity == 0
    _, raw = _raw(om, "GET", f"/api/v1/subscriptions/{sub.id}")
    assert {i["key"]: i["price"]["amount"] for i in raw["phases"][1]["items"]} == {"base_fee": "10.5", "support": "5.25"}
    assert {i["key"] for i in raw["phases"][0]["items"]} == {"trial_fee"}
    assert [a.id for a in om.list_subscription_addons(subscription_id=sub.id)] == [created.id]
    assert om.get_subscription_addon(subscription_id=sub.id, subscription_addon_id=created.id).quantity == 0
    # A subscription with add-ons cannot be edited.
    with pytest.raises(ForbiddenError):
        om.edit_subscription(subscription_id=sub.id, body={"customizations": [{"op": "unschedule_edit"}]})


def test_addon_refusals(om):
    sub, addon = _with_addon(om, max_quantity=2)
    body = {"name": "Boost", "quantity": 3, "timing": "immediate", "addon": {"id": addon.id}}
    with pytest.raises(BadRequestError):  # above maxQuantity
        om.create_subscription_addon(subscription_id=sub.id, body=body)
    other = om.create_addon(body={"key": "other", "name": "Other", "currency": "USD", "instanceType": "single",
                                  "rateCards": [_card("other_fee", "1")]})  # fmt: skip
    om.publish_addon(addon_id=other.id)
    with pytest.raises(BadRequestError) as error:  # not linked to the plan
        om.create_subscription_addon(subscription_id=sub.id, body={**body, "quantity": 1, "addon": {"id": other.id}})
    assert "not linked" in error.value.body["detail"]
    with pytest.raises(NotFoundError):
        om.create_subscription_addon(subscription_id=sub.id, body={**body, "quantity": 1, "addon": {"id": "01JAAAAAAAAAAAAAAAAAAAAAAA"}})
    with pytest.raises(NotFoundError):
        om.get_subscription_addon(subscription_id=sub.id, subscription_addon_id="01JAAAAAAAAAAAAAAAAAAAAAAA")
    status, raw = _raw(om, "PATCH", f"/api/v1/subscriptions/{sub.id}/addons/01JAAAAAAAAAAAAAAAAAAAAAAA", json={"name": "x"})
    assert status == 400  # quantity and timing are required (ruling 1)


def test_odd_inputs_on_a_real_subscription_are_4xx_never_500(om):
    _published(om)
    _customer(om)
    sub = om.create_subscription(body={"customerKey": "acme", "plan": {"key": "pro"}})
    base = f"/api/v1/subscriptions/{sub.id}"
    probes = [
        ("POST", "/api/v1/subscriptions", {"customerKey": "acme", "plan": {"key": "pro"}, "timing": "9999-12-31T23:59:59Z"}),
        ("GET", base + "?at=0001-01-01T00:00:00Z", None),
        ("GET", base + "?at=9999-12-31T23:59:59Z", None),
        ("POST", base + "/cancel", {"timing": "9999-12-31T23:59:59Z"}),
        ("POST", base + "/cancel", {"timing": "2001-01-01T00:00:00Z"}),
        ("PATCH", base, {"customizations": [{"op": "stretch_phase", "phaseKey": "trial", "extendBy": "P9999Y"}]}),
        ("PATCH", base, {"customizations": [{"op": "stretch_phase", "phaseKey": "trial", "extendBy": "soon"}]}),
        ("PATCH", base, {"customizations": [{"op": "add_phase", "phase": {"key": "x", "name": "X", "startAfter": "P9999Y"}}]}),
        ("PATCH", base, {"customizations": [{"op": "add_phase", "phase": {"key": "y", "name": "Y", "startAfter": "bad"}}]}),
        ("PATCH", base, {"customizations": [{"op": "add_item", "phaseKey": "trial", "rateCard": _card("ghost", featureKey="ghost") if False else
                                             {**_card("ghost"), "featureKey": "ghost"}}]}),  # fmt: skip
        ("POST", base + "/migrate", {"targetVersion": 99}),
        ("POST", base + "/change", {"timing": "2001-01-01T00:00:00Z", "plan": {"key": "pro"}}),
        ("POST", base + "/change", {"timing": "immediate", "plan": {"key": "nope"}}),
    ]
    for method, path, body in probes:
        status, answer = _raw(om, method, path, **({"json": body} if body is not None else {}))
        assert 200 <= status < 500, (method, path, body, status, answer)
