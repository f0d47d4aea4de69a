"""OpenMeter features through the generated client, on every backend."""

from __future__ import annotations

import pytest

from generated.openmeter import models
from generated.runtime import BadRequestError, ConflictError, NotFoundError


def _items(result):
    return result.root if hasattr(result, "root") else result


def test_create_get_and_archive_a_static_feature(om):
    created = om.create_feature(body={"key": "sso", "name": "Single sign-on", "metadata": {"tier": "pro"}})
    assert created.key == "sso" and created.meter_slug is None and created.archived_at is None
    assert created.metadata == {"tier": "pro"}
    assert om.get_feature(feature_id="sso").id == created.id
    assert om.get_feature(feature_id=created.id).key == "sso"

    om.delete_feature(feature_id="sso")
    with pytest.raises(NotFoundError):
        om.get_feature(feature_id="sso")
    with pytest.raises(NotFoundError):
        om.get_feature(feature_id=created.id)
    with pytest.raises(NotFoundError):
        om.delete_feature(feature_id="sso")
    # The key is free again.
    again = om.create_feature(body={"key": "sso", "name": "SSO v2"})
    assert again.id != created.id


def test_duplicate_key_is_a_conflict_naming_the_existing_feature(om):
    first = om.create_feature(body={"key": "seats", "name": "Seats"})
    with pytest.raises(ConflictError) as error:
        om.create_feature(body={"key": "seats", "name": "Seats again"})
    assert first.id in error.value.body["detail"]


def test_a_ulid_shaped_key_is_refused(om):
    with pytest.raises(BadRequestError) as error:
        om.create_feature(body={"key": "01hzxyzabcdefghjkmnpqrstvw", "name": "x"})
    assert "ULID" in error.value.body["detail"]


def test_unknown_meter_is_404(om):
    with pytest.raises(NotFoundError):
        om.create_feature(body={"key": "tokens", "name": "Tokens", "meterSlug": "no_such_meter"})


def test_list_is_an_array_unless_paginated(om):
    for key in ("c_feature", "a_feature", "b_feature"):
        om.create_feature(body={"key": key, "name": key.upper()})
    om.delete_feature(feature_id="b_feature")

    plain = _items(om.list_features())
    assert [f.key for f in plain] == ["a_feature", "c_feature"]
    assert [f.key for f in _items(om.list_features(include_archived=True))] == ["a_feature", "b_feature", "c_feature"]
    assert [f.key for f in _items(om.list_features(limit=1, offset=1))] == ["c_feature"]
    assert [f.key for f in _items(om.list_features(order="DESC", order_by="name"))] == ["c_feature", "a_feature"]

    paged = _items(om.list_features(page=1, page_size=1))
    assert isinstance(paged, models.FeaturePaginatedResponse)
    assert paged.total_count == 2 and paged.page == 1 and paged.page_size == 1
    assert [f.key for f in paged.items] == ["a_feature"]


def test_feature_cost_is_usage_times_unit_cost(om, clean_server):
    from decimal import Decimal

    from tests.handlers.openmeter.entitlement_setup import customer, ingest, metered_feature

    customer(om)
    metered_feature(om, clean_server, key="gpt4_tokens", group_by={"model": "$.model", "type": "$.type"},
                    meterGroupByFilters={"model": "gpt-4"}, unitCost={"type": "manual", "amount": "0.002"})  # fmt: skip
    om.create_feature(body={"key": "llm_tokens", "name": "LLM", "meterSlug": "tokens", "unitCost": {
        "type": "llm", "tokenTypeProperty": "type", "pricing": {"inputPerToken": "0.001", "outputPerToken": "0.01"}}})
    ingest(om, clean_server, "tokens", "acme-sub", {"tokens": 1000, "model": "gpt-4", "type": "input"})
    ingest(om, clean_server, "tokens", "acme-sub", {"tokens": 500, "model": "gpt-4", "type": "output"})
    ingest(om, clean_server, "tokens", "acme-sub", {"tokens": 7, "model": "gpt-3", "type": "input"})

    cost = om.query_feature_cost(feature_id="gpt4_tokens")
    assert cost.currency == "USD"
    assert [(Decimal(r.usage), Decimal(r.cost)) for r in cost.data] == [(Decimal(1500), Decimal(3))]

    by_type = om.query_feature_cost(feature_id="llm_tokens", group_by=["type"])
    assert sorted((r.group_by["type"], r.usage, r.cost) for r in by_type.data) == [("input", "1007", "1.007"), ("output", "500", "5")]

    om.create_feature(body={"key": "no_cost", "name": "x", "meterSlug": "tokens"})
    unpriced = om.query_feature_cost(feature_id="no_cost").data
    assert [(r.usage, r.cost) for r in unpriced] == [("1507", "0")] and "no unit cost" in unpriced[0].detail
    om.create_feature(body={"key": "no_meter", "name": "x", "unitCost": {"type": "manual", "amount": "1"}})
    assert om.query_feature_cost(feature_id="no_meter").data == []
    with pytest.raises(NotFoundError):
        om.query_feature_cost(feature_id="missing")
