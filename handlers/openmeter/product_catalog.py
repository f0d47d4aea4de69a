"""OpenMeter `Product Catalog` operations: features (list, create, get, archive) and their cost.

Plans and add-ons of this tag belong to a later issue and are not defined here (they answer 501).
"""

from __future__ import annotations

from typing import Any

from domain.errors import ValidationError
from domain.features import Feature, FeatureCreate, FeatureService
from generated.openmeter import models
from handlers._decoding import decode
from handlers.openmeter._mapping import meter_query, page_of
from tollgate.context import RequestContext


def _feature_to_api(feature: Feature) -> models.Feature:
    return models.Feature(
        id=feature.id,
        key=feature.key,
        name=feature.name,
        metadata=feature.metadata or None,
        meter_slug=feature.meter_slug,
        meter_group_by_filters=feature.legacy_group_by_filters,
        advanced_meter_group_by_filters=feature.meter_group_by_filters or None,
        unit_cost=feature.unit_cost,
        created_at=feature.created_at,
        updated_at=feature.updated_at,
        archived_at=feature.archived_at,
    )


def list_features(ctx: RequestContext, *, meter_slug: list[str] | None = None, include_archived: bool = False,
                  page: int | None = None, page_size: int | None = None, offset: int | None = None, limit: int | None = None,
                  order: str | None = None, order_by: str | None = None) -> Any:  # fmt: skip
    paging = page_of(ctx, page=page, page_size=page_size, offset=offset, limit=limit)
    features, total = FeatureService(ctx.session).list(
        meter_slugs=meter_slug, include_archived=bool(include_archived), order_by=order_by, descending=order == "DESC", page=paging
    )
    items = [_feature_to_api(f) for f in features]
    if paging.paginated:
        return models.FeaturePaginatedResponse(total_count=total, page=paging.page, page_size=paging.page_size, items=items)
    return items


def create_feature(ctx: RequestContext, *, body: dict[str, Any]) -> models.Feature:
    data = decode(models.FeatureCreateInputs, body)
    advanced = None
    if data.advanced_meter_group_by_filters is not None:
        advanced = {key: value.model_dump(by_alias=True, exclude_none=True) for key, value in data.advanced_meter_group_by_filters.items()}
    unit_cost = data.unit_cost.model_dump(by_alias=True, exclude_none=True) if data.unit_cost is not None else None
    inputs = FeatureCreate(
        key=data.key, name=data.name, metadata=data.metadata, meter_slug=data.meter_slug,
        meter_group_by_filters=data.meter_group_by_filters, advanced_meter_group_by_filters=advanced, unit_cost=unit_cost,
    )  # fmt: skip
    return _feature_to_api(FeatureService(ctx.session).create(inputs, now=ctx.now))


def get_feature(ctx: RequestContext, *, feature_id: str) -> models.Feature:
    return _feature_to_api(FeatureService(ctx.session).get(feature_id))


def delete_feature(ctx: RequestContext, *, feature_id: str) -> None:
    FeatureService(ctx.session).archive(feature_id, now=ctx.now)


def query_feature_cost(ctx: RequestContext, *, feature_id: str, client_id: str | None = None, from_: Any = None, to: Any = None,
                       window_size: str | None = None, window_time_zone: str | None = None, subject: list[str] | None = None,
                       filter_customer_id: list[str] | None = None, filter_group_by: dict[str, str] | None = None,
                       advanced_meter_group_by_filters: Any = None, group_by: list[str] | None = None) -> models.FeatureCostQueryResult:  # fmt: skip
    from domain.features import feature_cost, number_text

    feature = FeatureService(ctx.session).get(feature_id)
    query = meter_query(
        from_=from_, to=to, window_size=window_size, window_time_zone=window_time_zone, subject=subject,
        filter_customer_id=filter_customer_id, filter_group_by=filter_group_by,
        advanced_meter_group_by_filters=advanced_meter_group_by_filters, group_by=group_by, in_utc=True,
    )  # fmt: skip
    result = feature_cost(ctx.session, feature, query)
    rows = [
        models.FeatureCostQueryRow(
            usage=number_text(r.usage), cost=number_text(r.cost), currency=result.currency, detail=r.detail,
            window_start=r.window_start, window_end=r.window_end, subject=r.subject, customer_id=r.customer_id,
            group_by=r.group_by or None,
        )
        for r in result.rows
    ]  # fmt: skip
    return models.FeatureCostQueryResult(from_=result.from_, to=result.to, window_size=result.window_size,
                                         currency=result.currency, data=rows)  # fmt: skip


# --- plans, add-ons, plan<->add-on assignments (domain/catalog) ----------------------------------
# Responses are built as JSON dicts: a rate card's `price` and `billingCadence` and a resource's
# `validationErrors` are required but nullable, and a model dump would drop their nulls.


def _catalog_query(*, include_deleted: Any = False, id_: list[str] | None = None, key: list[str] | None = None,
                   key_version: Any = None, status: list[str] | None = None, currency: list[str] | None = None,
                   page: int | None = None, page_size: int | None = None, order: str | None = None,
                   order_by: str | None = None, raw_query: Any = None) -> Any:  # fmt: skip
    from domain.catalog.model import ListQuery

    versions: dict[str, list[int]] = {}
    # Every occurrence of keyVersion[<key>] counts (the parser keeps only one of repeated values).
    raw = {name[len("keyVersion["):-1]: values for name, values in (raw_query or {}).items()
           if name.startswith("keyVersion[") and name.endswith("]")}  # fmt: skip
    for name, values in (raw or {key: [value] for key, value in (key_version or {}).items()}).items():
        values = values if isinstance(values, list) else [values]
        try:
            versions[str(name)] = [int(v) for v in values]
        except (TypeError, ValueError):
            raise ValidationError(f"keyVersion[{name}] must be an integer") from None
    return ListQuery(
        ids=list(id_) if id_ else None, keys=list(key) if key else None, key_versions=versions or None,
        statuses=list(status) if status else None, currencies=list(currency) if currency else None,
        include_deleted=bool(include_deleted), order_by=order_by or "id", descending=order == "DESC",
        page=page or 1, page_size=page_size or 100,
    )  # fmt: skip


def _with_meta(data: dict[str, Any], *, description: str | None, metadata: Any) -> dict[str, Any]:
    if description is not None:
        data["description"] = description
    if metadata is not None:
        data["metadata"] = metadata
    return data


def _plan_to_api(plan: Any, now: Any) -> dict[str, Any]:
    from domain.catalog.plans import plan_warnings

    data = _with_meta({"id": plan.id, "key": plan.key, "version": plan.version, "name": plan.name},
                      description=plan.description, metadata=plan.metadata)  # fmt: skip
    data.update({"currency": plan.currency, "billingCadence": plan.billing_cadence, "proRatingConfig": plan.pro_rating})
    if plan.effective_from is not None:
        data["effectiveFrom"] = plan.effective_from
    if plan.effective_to is not None:
        data["effectiveTo"] = plan.effective_to
    data.update({"status": plan.status(now), "phases": plan.phases,
                 "validationErrors": [i.as_api() for i in plan_warnings(plan)],
                 "createdAt": plan.created_at, "updatedAt": plan.updated_at})  # fmt: skip
    if plan.deleted_at is not None:
        data["deletedAt"] = plan.deleted_at
    return data


def _plan_input(body: dict[str, Any], model: Any) -> Any:
    from domain.catalog.plans import PlanInput

    decode(model, body)  # the model's own rules (discriminators, patterns) as a 400
    pro_rating = body.get("proRatingConfig")
    return PlanInput(
        name=body["name"], billing_cadence=body["billingCadence"], phases=list(body["phases"]),
        description=body.get("description"), metadata=body.get("metadata"),
        pro_rating={"enabled": pro_rating["enabled"], "mode": pro_rating["mode"]} if pro_rating else None,
        key=body.get("key", ""), currency=body.get("currency") or "USD",
    )  # fmt: skip


def list_plans(ctx: RequestContext, *, include_deleted: bool = False, id_: list[str] | None = None, key: list[str] | None = None,
               key_version: Any = None, status: list[str] | None = None, currency: list[str] | None = None,
               page: int | None = None, page_size: int | None = None, order: str | None = None,
               order_by: str | None = None) -> dict[str, Any]:  # fmt: skip
    from domain.catalog.plans import PlanService

    query = _catalog_query(include_deleted=include_deleted, id_=id_, key=key, key_version=key_version, status=status,
                           currency=currency, page=page, page_size=page_size, order=order, order_by=order_by, raw_query=ctx.query)  # fmt: skip
    plans, total = PlanService(ctx.session).list(query, now=ctx.now)
    return {"totalCount": total, "page": query.page, "pageSize": query.page_size,
            "items": [_plan_to_api(plan, ctx.now) for plan in plans]}  # fmt: skip


def create_plan(ctx: RequestContext, *, body: dict[str, Any]) -> dict[str, Any]:
    from domain.catalog.plans import PlanService

    plan = PlanService(ctx.session).create(_plan_input(body, models.PlanCreate), now=ctx.now)
    return _plan_to_api(plan, ctx.now)


def get_plan(ctx: RequestContext, *, plan_id: str, include_latest: bool = False) -> dict[str, Any]:
    from domain.catalog.plans import PlanService

    return _plan_to_api(PlanService(ctx.session).get(plan_id, include_latest=bool(include_latest), now=ctx.now), ctx.now)


def update_plan(ctx: RequestContext, *, plan_id: str, body: dict[str, Any]) -> dict[str, Any]:
    from domain.catalog.plans import PlanService

    plan = PlanService(ctx.session).update(plan_id, _plan_input(body, models.PlanReplaceUpdate), now=ctx.now)
    return _plan_to_api(plan, ctx.now)


def delete_plan(ctx: RequestContext, *, plan_id: str) -> None:
    from domain.catalog.plans import PlanService

    PlanService(ctx.session).delete(plan_id, now=ctx.now)


def archive_plan(ctx: RequestContext, *, plan_id: str) -> dict[str, Any]:
    from domain.catalog.plans import PlanService

    return _plan_to_api(PlanService(ctx.session).archive(plan_id, now=ctx.now), ctx.now)


def publish_plan(ctx: RequestContext, *, plan_id: str) -> dict[str, Any]:
    from domain.catalog.plans import PlanService

    return _plan_to_api(PlanService(ctx.session).publish(plan_id, now=ctx.now), ctx.now)


def next_plan(ctx: RequestContext, *, plan_id_or_key: str) -> dict[str, Any]:
    from domain.catalog.plans import PlanService

    return _plan_to_api(PlanService(ctx.session).next_version(plan_id_or_key, now=ctx.now), ctx.now)


def _addon_to_api(addon: Any, now: Any) -> dict[str, Any]:
    from domain.catalog.addons import addon_warnings

    data = _with_meta({"id": addon.id, "key": addon.key, "version": addon.version, "name": addon.name},
                      description=addon.description, metadata=addon.metadata)  # fmt: skip
    data.update({"instanceType": addon.instance_type, "currency": addon.currency})
    if addon.effective_from is not None:
        data["effectiveFrom"] = addon.effective_from
    if addon.effective_to is not None:
        data["effectiveTo"] = addon.effective_to
    data.update({"status": addon.status(now), "rateCards": addon.rate_cards,
                 "validationErrors": [i.as_api() for i in addon_warnings(addon)],
                 "createdAt": addon.created_at, "updatedAt": addon.updated_at})  # fmt: skip
    if addon.deleted_at is not None:
        data["deletedAt"] = addon.deleted_at
    return data


def _addon_input(body: dict[str, Any], model: Any) -> Any:
    from domain.catalog.addons import AddonInput

    decode(model, body)
    return AddonInput(
        name=body["name"], instance_type=body["instanceType"], rate_cards=list(body.get("rateCards") or []),
        description=body.get("description"), metadata=body.get("metadata"), key=body.get("key", ""),
        currency=body.get("currency") or "USD",
    )  # fmt: skip


def list_addons(ctx: RequestContext, *, include_deleted: bool = False, id_: list[str] | None = None, key: list[str] | None = None,
                key_version: Any = None, status: list[str] | None = None, currency: list[str] | None = None,
                page: int | None = None, page_size: int | None = None, order: str | None = None,
                order_by: str | None = None) -> dict[str, Any]:  # fmt: skip
    from domain.catalog.addons import AddonService

    query = _catalog_query(include_deleted=include_deleted, id_=id_, key=key, key_version=key_version, status=status,
                           currency=currency, page=page, page_size=page_size, order=order, order_by=order_by, raw_query=ctx.query)  # fmt: skip
    addons, total = AddonService(ctx.session).list(query, now=ctx.now)
    return {"totalCount": total, "page": query.page, "pageSize": query.page_size,
            "items": [_addon_to_api(addon, ctx.now) for addon in addons]}  # fmt: skip


def create_addon(ctx: RequestContext, *, body: dict[str, Any]) -> dict[str, Any]:
    from domain.catalog.addons import AddonService

    return _addon_to_api(AddonService(ctx.session).create(_addon_input(body, models.AddonCreate), now=ctx.now), ctx.now)


def get_addon(ctx: RequestContext, *, addon_id: str, include_latest: bool = False) -> dict[str, Any]:
    from domain.catalog.addons import AddonService

    return _addon_to_api(AddonService(ctx.session).get(addon_id, include_latest=bool(include_latest), now=ctx.now), ctx.now)


def update_addon(ctx: RequestContext, *, addon_id: str, body: dict[str, Any]) -> dict[str, Any]:
    from domain.catalog.addons import AddonService

    addon = AddonService(ctx.session).update(addon_id, _addon_input(body, models.AddonReplaceUpdate), now=ctx.now)
    return _addon_to_api(addon, ctx.now)


def delete_addon(ctx: RequestContext, *, addon_id: str) -> None:
    from domain.catalog.addons import AddonService

    AddonService(ctx.session).delete(addon_id, now=ctx.now)


def archive_addon(ctx: RequestContext, *, addon_id: str) -> dict[str, Any]:
    from domain.catalog.addons import AddonService

    return _addon_to_api(AddonService(ctx.session).archive(addon_id, now=ctx.now), ctx.now)


def publish_addon(ctx: RequestContext, *, addon_id: str) -> dict[str, Any]:
    from domain.catalog.addons import AddonService

    return _addon_to_api(AddonService(ctx.session).publish(addon_id, now=ctx.now), ctx.now)


def _plan_addon_to_api(plan: Any, assignment: Any, addon: Any, now: Any) -> dict[str, Any]:
    from domain.catalog.plan_addons import compatibility

    data: dict[str, Any] = {"createdAt": assignment.created_at, "updatedAt": assignment.updated_at}
    if assignment.deleted_at is not None:
        data["deletedAt"] = assignment.deleted_at
    if assignment.metadata is not None:
        data["metadata"] = assignment.metadata
    data.update({"addon": _addon_to_api(addon, now), "fromPlanPhase": assignment.from_plan_phase})
    if assignment.max_quantity is not None:
        data["maxQuantity"] = assignment.max_quantity
    data["validationErrors"] = [i.as_api() for i in compatibility(plan, addon, assignment, now=now)]
    return data


def _plan_addon_input(body: dict[str, Any], model: Any) -> Any:
    from domain.catalog.plan_addons import PlanAddonInput

    decode(model, body)
    return PlanAddonInput(from_plan_phase=body["fromPlanPhase"], max_quantity=body.get("maxQuantity"),
                          metadata=body.get("metadata"), addon_id=body.get("addonId", ""))  # fmt: skip


def list_plan_addons(ctx: RequestContext, *, plan_id: str, include_deleted: bool = False, id_: list[str] | None = None,
                     key: list[str] | None = None, key_version: Any = None, page: int | None = None,
                     page_size: int | None = None, order: str | None = None, order_by: str | None = None) -> dict[str, Any]:  # fmt: skip
    from domain.catalog.plan_addons import PlanAddonService

    query = _catalog_query(include_deleted=include_deleted, id_=id_, key=key, key_version=key_version, page=page,
                           page_size=page_size, order=order, order_by=order_by, raw_query=ctx.query)  # fmt: skip
    plan, rows, total = PlanAddonService(ctx.session).list(plan_id, query, now=ctx.now)
    return {"totalCount": total, "page": query.page, "pageSize": query.page_size,
            "items": [_plan_addon_to_api(plan, assignment, addon, ctx.now) for assignment, addon in rows]}  # fmt: skip


def create_plan_addon(ctx: RequestContext, *, plan_id: str, body: dict[str, Any]) -> dict[str, Any]:
    from domain.catalog.plan_addons import PlanAddonService

    inputs = _plan_addon_input(body, models.PlanAddonCreate)
    plan, assignment, addon = PlanAddonService(ctx.session).create(plan_id, inputs, now=ctx.now)
    return _plan_addon_to_api(plan, assignment, addon, ctx.now)


def get_plan_addon(ctx: RequestContext, *, plan_id: str, plan_addon_id: str) -> dict[str, Any]:
    from domain.catalog.plan_addons import PlanAddonService

    plan, assignment, addon = PlanAddonService(ctx.session).get(plan_id, plan_addon_id, now=ctx.now)
    return _plan_addon_to_api(plan, assignment, addon, ctx.now)


def update_plan_addon(ctx: RequestContext, *, plan_id: str, plan_addon_id: str, body: dict[str, Any]) -> dict[str, Any]:
    from domain.catalog.plan_addons import PlanAddonService

    inputs = _plan_addon_input(body, models.PlanAddonReplaceUpdate)
    plan, assignment, addon = PlanAddonService(ctx.session).update(plan_id, plan_addon_id, inputs, now=ctx.now)
    return _plan_addon_to_api(plan, assignment, addon, ctx.now)


def delete_plan_addon(ctx: RequestContext, *, plan_id: str, plan_addon_id: str) -> None:
    from domain.catalog.plan_addons import PlanAddonService

    PlanAddonService(ctx.session).delete(plan_id, plan_addon_id, now=ctx.now)
