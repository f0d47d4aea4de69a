"""OpenMeter `Product Catalog` operations: features (list, create, get, archive) and their cost.

Plans and add-ons of this tag belong to a later issue and are not defined here (they answer 501).
"""

from __future__ import annotations

from typing import Any

from domain.errors import ValidationError
from domain.features import Feature, FeatureCreate, FeatureService, Page
from generated.openmeter import models
from handlers._decoding import decode
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


def _page_of(ctx: RequestContext, *, page: int | None, page_size: int | None, offset: int | None, limit: int | None) -> Page:
    """Dual pagination (openmeter-core.md 1.4): the paginated object only when page or pageSize was sent."""
    asked = "page" in ctx.query or "pageSize" in ctx.query
    return Page.of(page=page if asked else None, page_size=page_size if asked else None, offset=offset, limit=limit) if asked \
        else Page.of(page=None, page_size=None, offset=offset, limit=limit)  # fmt: skip


def list_features(ctx: RequestContext, *, meter_slug: list[str] | None = None, include_archived: bool = False,
                  page: int | None = None, page_size: int | None = None, offset: int | None = None, limit: int | None = None,
                  order: str | None = None, order_by: str | None = None) -> Any:  # fmt: skip
    paging = _page_of(ctx, page=page, page_size=page_size, offset=offset, limit=limit)
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
    from domain.metering.query import MeterQuery
    from handlers._decoding import json_parameter
    from handlers.openmeter.entitlements import _instant

    feature = FeatureService(ctx.session).get(feature_id)
    advanced = advanced_meter_group_by_filters
    if isinstance(advanced, str):
        advanced = json_parameter("advancedMeterGroupByFilters", advanced)
    if advanced is not None and not isinstance(advanced, dict):
        raise ValidationError("advancedMeterGroupByFilters must be an object")
    query = MeterQuery(
        from_=_instant(from_, "from"), to=_instant(to, "to"), window_size=window_size, window_time_zone=window_time_zone or "UTC",
        subjects=list(subject) if subject else None, customer_ids=list(filter_customer_id) if filter_customer_id else None,
        group_by=list(group_by or []), filter_group_by={k: [v] for k, v in (filter_group_by or {}).items()} or None,
        advanced_filters=advanced or None,
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
                   order_by: str | None = None) -> Any:  # fmt: skip
    from domain.catalog.model import ListQuery

    versions: dict[str, list[int]] = {}
    for name, values in (key_version or {}).items():
        values = values if isinstance(values, list) else [values]
        try:
            versions[str(name)] = [int(v) for v in values]
        except (TypeError, ValueError):
            raise ValidationError(f"keyVersion[{name}] must be a list of integers") from None
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
                           currency=currency, page=page, page_size=page_size, order=order, order_by=order_by)  # fmt: skip
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
