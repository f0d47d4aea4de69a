"""OpenMeter add-ons through the generated client, on every backend (openmeter-billing.md 1.3)."""

from __future__ import annotations

import pytest

from generated.runtime import BadRequestError, ConflictError, NotFoundError


def _card(key: str = "extra_seats", **changes):
    card = {"type": "flat_fee", "key": key, "name": "Extra", "billingCadence": "P1M", "price": {"type": "flat", "amount": "5.00"}}
    card.update(changes)
    return card


def _addon(key: str = "seats_pack", **changes):
    body = {"key": key, "name": "Seats pack", "currency": "USD", "instanceType": "single", "rateCards": [_card()]}
    body.update(changes)
    return body


def test_create_publish_next_version_and_archive(om):
    v1 = om.create_addon(body=_addon(description="Ten more seats"))
    assert (v1.version, v1.status, v1.instance_type, v1.description) == (1, "draft", "single", "Ten more seats")
    assert v1.rate_cards[0].price.amount == "5"
    with pytest.raises(ConflictError) as error:
        om.create_addon(body=_addon())
    assert error.value.body["extensions"]["conflictingEntityId"] == v1.id
    with pytest.raises(NotFoundError):
        om.get_addon(addon_id="seats_pack")  # by key: only the active version
    assert om.get_addon(addon_id="seats_pack", include_latest=True).id == v1.id

    updated = om.update_addon(addon_id=v1.id, body={"name": "Seats", "instanceType": "multiple", "rateCards": [_card()]})
    assert (updated.name, updated.instance_type) == ("Seats", "multiple")

    active = om.publish_addon(addon_id=v1.id)
    assert active.status == "active" and active.effective_from is not None
    assert om.get_addon(addon_id="seats_pack").id == v1.id
    with pytest.raises(BadRequestError) as error:
        om.publish_addon(addon_id=v1.id)
    assert error.value.body["extensions"]["validationErrors"][0]["code"] == "addon_invalid_status_for_publish"
    with pytest.raises(BadRequestError):
        om.update_addon(addon_id=v1.id, body={"name": "x", "instanceType": "single", "rateCards": []})
    with pytest.raises(BadRequestError):
        om.delete_addon(addon_id=v1.id)  # active

    v2 = om.create_addon(body=_addon())
    assert v2.version == 2
    om.publish_addon(addon_id=v2.id)
    assert om.get_addon(addon_id=v1.id).status == "archived"
    assert om.archive_addon(addon_id=v2.id).status == "archived"
    om.delete_addon(addon_id=v2.id)
    assert om.get_addon(addon_id=v2.id).deleted_at is not None
    assert [a.version for a in om.list_addons().items] == [1]
    assert [a.version for a in om.list_addons(include_deleted=True).items] == [1, 2]


def test_publish_rules_report_every_problem(om):
    body = _addon(instanceType="multiple", rateCards=[
        _card("a"),
        {"type": "usage_based", "key": "b", "name": "B", "billingCadence": "P1Y", "price": {"type": "unit", "amount": "1"}},
    ])  # fmt: skip
    addon = om.create_addon(body=body)
    assert addon.validation_errors == []
    with pytest.raises(BadRequestError) as error:
        om.publish_addon(addon_id=addon.id)
    codes = sorted(p["code"] for p in error.value.body["extensions"]["validationErrors"])
    assert codes == ["addon_invalid_ratecard_price_for_multi_instance", "rate_card_multiple_billing_cadence"]

    empty = om.create_addon(body=_addon("empty", rateCards=[]))
    with pytest.raises(BadRequestError) as error:
        om.publish_addon(addon_id=empty.id)
    assert [p["code"] for p in error.value.body["extensions"]["validationErrors"]] == ["addon_has_no_rate_cards"]


def test_list_filters(om):
    a = om.create_addon(body=_addon("alpha"))
    om.create_addon(body=_addon("beta", currency="EUR"))
    om.publish_addon(addon_id=a.id)
    assert [x.key for x in om.list_addons(status=["active"]).items] == ["alpha"]
    assert [x.key for x in om.list_addons(currency=["EUR"]).items] == ["beta"]
    assert [x.key for x in om.list_addons(order="DESC", order_by="key").items] == ["beta", "alpha"]
    page = om.list_addons(page=2, page_size=1)
    assert (page.total_count, [x.key for x in page.items]) == (2, ["beta"])


def test_unknown_add_on_and_feature(om):
    with pytest.raises(NotFoundError):
        om.get_addon(addon_id="01G65Z755AFWAKHE12NY0CQ9FH")
    with pytest.raises(NotFoundError):
        om.publish_addon(addon_id="01G65Z755AFWAKHE12NY0CQ9FH")
    with pytest.raises(NotFoundError):
        om.create_addon(body=_addon(rateCards=[_card("gpu", featureKey="gpu")]))
