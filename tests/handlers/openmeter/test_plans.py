"""OpenMeter plans through the generated client, on every backend (openmeter-billing.md 1.1, 1.2)."""

from __future__ import annotations

import pytest

from generated.runtime import BadRequestError, ConflictError, NotFoundError


def _card(key: str = "base_fee", **changes):
    card = {"type": "flat_fee", "key": key, "name": key.replace("_", " ").title(), "billingCadence": "P1M",
            "price": {"type": "flat", "amount": "10.50"}}  # fmt: skip
    card.update(changes)
    return card


def _plan(key: str = "pro", **changes):
    body = {"key": key, "name": "Pro", "currency": "USD", "billingCadence": "P1M",
            "phases": [{"key": "default", "name": "Default", "duration": None, "rateCards": [_card()]}]}  # fmt: skip
    body.update(changes)
    return body


def _raw(om, method: str, path: str, **kwargs):
    """The raw HTTP answer (status and JSON), for what the typed client hides (nulls, unknown statuses)."""
    response = om._http.request(method, om.base_url + path, headers=om._headers, **kwargs)
    return response.status_code, response.json() if response.content else None


def test_create_get_and_the_stored_shape(om):
    plan = om.create_plan(body=_plan(description="For teams", metadata={"tier": "pro"}))
    assert (plan.key, plan.version, plan.status if hasattr(plan.status, "root") else plan.status) == ("pro", 1, "draft")
    assert plan.description == "For teams" and plan.metadata.root == {"tier": "pro"} if hasattr(plan.metadata, "root") else True
    assert plan.effective_from is None and plan.effective_to is None
    assert plan.pro_rating_config.enabled is True  # the default
    status, raw = _raw(om, "GET", f"/api/v1/plans/{plan.id}")
    assert status == 200
    card = raw["phases"][0]["rateCards"][0]
    # Money is exact and canonical; the flat price's payment term defaults to in_advance.
    assert card["price"] == {"type": "flat", "amount": "10.5", "paymentTerm": "in_advance"}
    assert raw["phases"][0]["duration"] is None and raw["validationErrors"] == []
    # By key, only the active version is found; includeLatest finds the draft.
    with pytest.raises(NotFoundError):
        om.get_plan(plan_id="pro")
    assert om.get_plan(plan_id="pro", include_latest=True).id == plan.id


def test_free_and_one_time_rate_cards_keep_their_nulls(om):
    body = _plan(phases=[{"key": "default", "name": "Default", "duration": None, "rateCards": [
        _card("setup", billingCadence=None, price={"type": "flat", "amount": "99", "paymentTerm": "in_arrears"}),
        _card("support", price=None),
        {"type": "usage_based", "key": "api_calls", "name": "API calls", "billingCadence": "P1M",
         "price": {"type": "tiered", "mode": "graduated", "tiers": [
             {"upToAmount": "1000", "flatPrice": None, "unitPrice": {"type": "unit", "amount": "0.0100"}},
             {"flatPrice": {"type": "flat", "amount": "5"}, "unitPrice": {"type": "unit", "amount": "0.005"}}]}},
    ]}])  # fmt: skip
    plan = om.create_plan(body=body)
    _, raw = _raw(om, "GET", f"/api/v1/plans/{plan.id}")
    setup, support, api = raw["phases"][0]["rateCards"]
    assert setup["billingCadence"] is None and setup["price"]["paymentTerm"] == "in_arrears"
    assert support["price"] is None
    assert api["price"]["tiers"][0] == {"upToAmount": "1000", "flatPrice": None, "unitPrice": {"type": "unit", "amount": "0.01"}}
    assert raw["validationErrors"] == []


def test_critical_issues_block_create_and_all_are_reported(om):
    om.create_feature(body={"key": "other", "name": "Other"})
    body = _plan(phases=[
        {"key": "trial", "name": "Trial", "duration": "P14D", "rateCards": [_card("seats", featureKey="other")]},
        {"key": "trial", "name": "Again", "duration": None, "rateCards": [
            _card("cfg", entitlementTemplate={"type": "static", "config": "not json"})]},
    ])  # fmt: skip
    with pytest.raises(BadRequestError) as error:
        om.create_plan(body=body)
    problems = error.value.body["extensions"]["validationErrors"]
    assert sorted(p["code"] for p in problems) == ["entitlement_template_invalid_json_config", "rate_card_key_feature_key_mismatch"]
    assert {p["severity"] for p in problems} == {"critical"}
    assert "$.phases[?(@.key=='trial')].rateCards[?(@.key=='seats')].key" in [p["field"] for p in problems]
    assert om.list_plans().total_count == 0


def test_warnings_are_kept_on_the_plan_and_block_publish(om):
    body = _plan(phases=[
        {"key": "trial", "name": "Trial", "duration": None, "rateCards": [_card("weekly", billingCadence="P1W")]},
        {"key": "main", "name": "Main", "duration": "P1Y", "rateCards": []},
        {"key": "main", "name": "Main again", "duration": "PT5M", "rateCards": [_card(), _card()]},
    ])  # fmt: skip
    plan = om.create_plan(body=body)
    codes = sorted(e.code for e in plan.validation_errors)
    assert codes == ["plan_has_last_phase_with_duration", "plan_has_non_last_phase_with_no_duration",
                     "plan_phase_duplicated_key", "plan_phase_duration_less_then_an_hour", "plan_phase_has_no_rate_cards",
                     "rate_card_billing_cadence_unaligned", "rate_card_duplicated_key"]  # fmt: skip
    assert {e.attributes.root.get("severity") if hasattr(e.attributes, "root") else e.attributes["severity"]
            for e in plan.validation_errors} == {"warning"}  # fmt: skip
    with pytest.raises(BadRequestError) as error:
        om.publish_plan(plan_id=plan.id)
    assert sorted(p["code"] for p in error.value.body["extensions"]["validationErrors"]) == codes
    assert om.get_plan(plan_id=plan.id).effective_from is None


def test_lifecycle_publish_next_version_archive(om):
    v1 = om.create_plan(body=_plan())
    # Only one draft per key.
    with pytest.raises(ConflictError) as error:
        om.create_plan(body=_plan(name="Pro 2"))
    assert "single draft" in error.value.body["detail"]
    assert error.value.body["extensions"]["conflictingEntityId"] == v1.id

    published = om.publish_plan(plan_id=v1.id)
    assert published.status == "active" and published.effective_from is not None
    assert om.get_plan(plan_id="pro").id == v1.id
    with pytest.raises(BadRequestError):
        om.update_plan(plan_id=v1.id, body={"name": "x", "billingCadence": "P1M", "phases": _plan()["phases"]})
    with pytest.raises(BadRequestError):
        om.delete_plan(plan_id=v1.id)

    v2 = om.next_plan(plan_id_or_key="pro")  # 201, a copy as a new draft
    assert (v2.version, v2.status, v2.name) == (2, "draft", "Pro")
    with pytest.raises(ConflictError):
        om.next_plan(plan_id_or_key=v1.id)  # a draft exists already
    updated = om.update_plan(plan_id=v2.id, body={"name": "Pro v2", "billingCadence": "P1Y",
                                                  "phases": [{"key": "default", "name": "Default", "duration": None,
                                                              "rateCards": [_card(billingCadence="P1Y")]}]})  # fmt: skip
    assert (updated.name, updated.billing_cadence, updated.version) == ("Pro v2", "P1Y", 2)

    om.publish_plan(plan_id=v2.id)
    old = om.get_plan(plan_id=v1.id)
    assert old.status == "archived" and old.effective_to is not None
    assert om.get_plan(plan_id="pro").id == v2.id

    archived = om.archive_plan(plan_id=v2.id)
    assert archived.status == "archived"
    with pytest.raises(BadRequestError):
        om.archive_plan(plan_id=v2.id)
    with pytest.raises(NotFoundError):
        om.get_plan(plan_id="pro")

    # A third version by creating with the same key.
    v3 = om.create_plan(body=_plan())
    assert v3.version == 3


def test_delete_is_soft_and_versions_keep_counting(om):
    plan = om.create_plan(body=_plan())
    om.delete_plan(plan_id=plan.id)
    deleted = om.get_plan(plan_id=plan.id)
    assert deleted.deleted_at is not None
    with pytest.raises(NotFoundError):
        om.delete_plan(plan_id=plan.id)
    assert om.list_plans().total_count == 0
    assert om.list_plans(include_deleted=True).total_count == 1
    assert om.create_plan(body=_plan()).version == 2


def test_list_filters_order_and_pages(om):
    a = om.create_plan(body=_plan("alpha"))
    b = om.create_plan(body=_plan("beta", currency="EUR"))
    c = om.create_plan(body=_plan("gamma"))
    om.publish_plan(plan_id=b.id)
    assert [p.key for p in om.list_plans().items] == ["alpha", "beta", "gamma"]
    assert [p.key for p in om.list_plans(order="DESC", order_by="key").items] == ["gamma", "beta", "alpha"]
    assert [p.key for p in om.list_plans(status=["active"]).items] == ["beta"]
    assert [p.key for p in om.list_plans(status=["draft"]).items] == ["alpha", "gamma"]
    assert [p.key for p in om.list_plans(currency=["EUR"]).items] == ["beta"]
    assert [p.key for p in om.list_plans(key=["gamma", "alpha"]).items] == ["alpha", "gamma"]
    assert [p.id for p in om.list_plans(id=[c.id]).items] == [c.id]
    page = om.list_plans(page=2, page_size=2)
    assert (page.total_count, page.page, page.page_size, [p.id for p in page.items]) == (3, 2, 2, [c.id])
    assert om.list_plans(page=10**12).items == []
    a2 = om.next_plan(plan_id_or_key=b.id)  # beta v2
    assert [p.id for p in om.list_plans(key_version={"alpha": "1"}).items] == [a.id]
    assert [p.id for p in om.list_plans(key_version={"beta": "2", "alpha": "1"}).items] == [a.id, a2.id]
    # Several versions of one key: repeat the parameter.
    status, raw = _raw(om, "GET", "/api/v1/plans", params=[("keyVersion[beta]", "1"), ("keyVersion[beta]", "2")])
    assert status == 200 and [p["version"] for p in raw["items"]] == [1, 2]


def test_unknown_feature_is_404_and_known_feature_is_accepted(om):
    with pytest.raises(NotFoundError):
        om.create_plan(body=_plan(phases=[{"key": "default", "name": "D", "duration": None,
                                           "rateCards": [_card("seats", featureKey="seats")]}]))  # fmt: skip
    om.create_feature(body={"key": "seats", "name": "Seats"})
    plan = om.create_plan(body=_plan(phases=[{"key": "default", "name": "D", "duration": None, "rateCards": [
        _card("seats", featureKey="seats", entitlementTemplate={"type": "boolean"})]}]))  # fmt: skip
    # The feature archived after create: publish names it.
    om.delete_feature(feature_id="seats")
    with pytest.raises(BadRequestError) as error:
        om.publish_plan(plan_id=plan.id)
    assert [p["code"] for p in error.value.body["extensions"]["validationErrors"]] == ["rate_card_feature_not_found"]


def test_unknown_plan_is_404(om):
    for call in (lambda: om.get_plan(plan_id="nope"), lambda: om.publish_plan(plan_id="01G65Z755AFWAKHE12NY0CQ9FH"),
                 lambda: om.archive_plan(plan_id="01G65Z755AFWAKHE12NY0CQ9FH"), lambda: om.next_plan(plan_id_or_key="nope"),
                 lambda: om.delete_plan(plan_id="01G65Z755AFWAKHE12NY0CQ9FH")):  # fmt: skip
        with pytest.raises(NotFoundError):
            call()


def test_an_unparsable_duration_is_400(om):
    with pytest.raises(BadRequestError):
        om.create_plan(body=_plan(phases=[{"key": "default", "name": "D", "duration": None,
                                           "rateCards": [_card(billingCadence="monthly")]}]))  # fmt: skip
