"""OpenMeter `Entitlements` operations, v1 (subject routes, admin lists, grants) and v2 (customer routes).

Decode into generated models, call domain.entitlements, encode. Behaviour: openmeter-core.md section 7,
DECISIONS rulings 2, 5, 7 and 8.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from domain.credit import Interval, expiration_time
from domain.entitlements.customers import CustomerRef
from domain.entitlements.model import FAR_FUTURE_EXPIRATION, METERED, STATIC, Entitlement, StoredGrant
from domain.entitlements.service import EntitlementCreate, EntitlementService, EntitlementView, GrantCreate, Value
from domain.errors import NotFoundError, ValidationError
from domain.features import Page
from generated.openmeter import models
from handlers._decoding import decode, instant_parameter
from handlers.openmeter._mapping import page_of
from tollgate.context import RequestContext

# --- encoding ------------------------------------------------------------------------------------


def _recurring_period(interval_iso: str, anchor: dt.datetime) -> models.RecurringPeriod:
    interval = Interval.parse(interval_iso)
    return models.RecurringPeriod.model_construct(interval=interval.name or interval.iso, anchor=anchor, interval_iso=interval.iso)


def _period(period) -> models.Period | None:
    return models.Period(from_=period.from_, to=period.to) if period is not None else None


def _common(view: EntitlementView) -> dict[str, Any]:
    e = view.entitlement
    common: dict[str, Any] = dict(
        id=e.id, type=e.type, feature_id=e.feature_id, feature_key=e.feature_key, created_at=e.created_at,
        updated_at=e.updated_at, deleted_at=e.deleted_at, active_from=e.active_from, active_to=e.active_to,
        metadata=e.metadata or None, annotations=e.annotations or None,
        current_usage_period=_period(view.current_usage_period),
    )  # fmt: skip
    if e.usage_period_interval is not None and e.usage_period_anchor is not None:
        common["usage_period"] = _recurring_period(e.usage_period_interval, e.usage_period_anchor)
    if e.type == METERED:
        common.update(
            is_soft_limit=e.is_soft_limit, is_unlimited=False, preserve_overage_at_reset=e.preserve_overage_at_reset,
            issue_after_reset=e.issue_after_reset if e.issue_after_reset is not None else Decimal(0),
            issue_after_reset_priority=e.issue_after_reset_priority, measure_usage_from=e.measure_usage_from,
            last_reset=view.last_reset,
        )  # fmt: skip
    elif e.type == STATIC:
        common["config"] = e.config
    return common


_V1 = {"metered": models.EntitlementMetered, "static": models.EntitlementStatic, "boolean": models.EntitlementBoolean}
_V2 = {"metered": models.EntitlementMeteredV2, "static": models.EntitlementStaticV2, "boolean": models.EntitlementBooleanV2}


def _entitlement_v1(view: EntitlementView):
    return _V1[view.entitlement.type](subject_key=view.customer.subject_key, **_common(view))


def _entitlement_v2(view: EntitlementView):
    data = _common(view)
    e = view.entitlement
    data.pop("is_unlimited", None)
    if e.type == METERED and e.issue_after_reset is not None:
        data["issue"] = models.IssueAfterReset(amount=e.issue_after_reset, priority=e.issue_after_reset_priority or 1)
    return _V2[e.type](customer_id=view.customer.id, customer_key=view.customer.key, **data)


def _grant_common(grant: StoredGrant, now: dt.datetime) -> dict[str, Any]:
    data: dict[str, Any] = dict(
        id=grant.id, entitlement_id=grant.entitlement_id, amount=grant.amount, priority=grant.priority,
        effective_at=grant.effective_at, min_rollover_amount=grant.min_rollover, max_rollover_amount=grant.max_rollover,
        metadata=grant.metadata or None, annotations=grant.annotations or None, created_at=grant.created_at,
        updated_at=grant.updated_at, deleted_at=grant.deleted_at, voided_at=grant.voided_at,
    )  # fmt: skip
    if grant.expiration_duration is not None:
        data["expiration"] = models.ExpirationPeriod(duration=grant.expiration_duration, count=grant.expiration_count)
        data["expires_at"] = grant.expires_at
    if grant.recurrence_interval is not None:
        anchor = grant.recurrence_anchor or grant.effective_at
        data["recurrence"] = _recurring_period(grant.recurrence_interval, anchor)
        from domain.credit import Recurrence

        data["next_recurrence"] = Recurrence(grant.recurrence_interval, anchor).next_after(max(now, grant.effective_at), inclusive=True)
    return data


def _grant_v1(grant: StoredGrant, now: dt.datetime) -> models.EntitlementGrant:
    data = _grant_common(grant, now)
    if "expiration" not in data:
        # The v1 schema requires an expiration: a grant that never expires reports a far-future one (ruling 8).
        duration, count = FAR_FUTURE_EXPIRATION
        data["expiration"] = models.ExpirationPeriod(duration=duration, count=count)
        data["expires_at"] = expiration_time(grant.effective_at, duration, count)
    return models.EntitlementGrant(**data)


def _grant_v2(grant: StoredGrant, now: dt.datetime) -> models.EntitlementGrantV2:
    return models.EntitlementGrantV2(**_grant_common(grant, now))


def _value_to_api(value: Value) -> models.EntitlementValue:
    return models.EntitlementValue(
        has_access=value.has_access, balance=value.balance, usage=value.usage, overage=value.overage,
        total_available_grant_amount=value.total_available_grant_amount, config=value.config,
    )  # fmt: skip


# --- decoding ------------------------------------------------------------------------------------


def _interval_text(interval: Any) -> str:
    return interval.root if hasattr(interval, "root") else str(interval)


def _grant_input(data: Any, fields: set[str]) -> GrantCreate:
    expiration = (data.expiration.duration, data.expiration.count) if getattr(data, "expiration", None) is not None else None
    recurrence = data.recurrence
    return GrantCreate(
        amount=Decimal(str(data.amount)), effective_at=data.effective_at, priority=data.priority, expiration=expiration,
        min_rollover=Decimal(str(data.min_rollover_amount)) if "min_rollover_amount" in fields and data.min_rollover_amount is not None else None,
        max_rollover=Decimal(str(data.max_rollover_amount)) if "max_rollover_amount" in fields and data.max_rollover_amount is not None else None,
        recurrence_interval=_interval_text(recurrence.interval) if recurrence is not None else None,
        recurrence_anchor=recurrence.anchor if recurrence is not None else None,
        metadata=data.metadata, annotations=getattr(data, "annotations", None),
    )  # fmt: skip


def _entitlement_input(body: dict[str, Any], *, v2: bool) -> EntitlementCreate:
    model = models.EntitlementV2CreateInputs if v2 else models.EntitlementCreateInputs
    data = decode(model, body).root
    period = data.usage_period
    common: dict[str, Any] = dict(
        type=data.type, feature_id=data.feature_id, feature_key=data.feature_key, metadata=data.metadata,
        usage_period_interval=_interval_text(period.interval) if period is not None else None,
        usage_period_anchor=period.anchor if period is not None else None,
    )  # fmt: skip
    if data.type == "static":
        return EntitlementCreate(**common, config=data.config)
    if data.type == "boolean":
        return EntitlementCreate(**common)
    sent = data.model_fields_set
    issue = data.issue_after_reset
    priority = data.issue_after_reset_priority if "issue_after_reset_priority" in sent else None
    grants: list[GrantCreate] = []
    if v2:
        if data.issue is not None:
            if "issue_after_reset" in sent or "issue_after_reset_priority" in sent:
                raise ValidationError("use either issue or issueAfterReset, not both")
            issue = data.issue.amount
            priority = data.issue.priority if "priority" in data.issue.model_fields_set else None
        grants = [_grant_input(g, g.model_fields_set) for g in data.grants or []]
        if grants and issue is not None:
            raise ValidationError("issue after reset and grants cannot be used together")
    measure = data.measure_usage_from
    if hasattr(measure, "root"):
        measure = measure.root
    return EntitlementCreate(
        **common, measure_usage_from=measure, is_soft_limit=bool(data.is_soft_limit),
        issue_after_reset=Decimal(str(issue)) if issue is not None else None, issue_after_reset_priority=priority,
        preserve_overage_at_reset=bool(data.preserve_overage_at_reset), grants=grants,
    )  # fmt: skip


def _paginated(ctx: RequestContext, page: int | None, page_size: int | None) -> Page:
    return Page.of(page=page or 1, page_size=page_size or 100, offset=None, limit=None)


# --- v1 subject routes -------------------------------------------------------------------------------


def _service(ctx: RequestContext) -> EntitlementService:
    return EntitlementService(ctx.session)


def create_entitlement(ctx: RequestContext, *, subject_id_or_key: str, body: dict[str, Any]):
    service = _service(ctx)
    customer = service.customer_of_subject(subject_id_or_key)
    entitlement = service.create(customer, _entitlement_input(body, v2=False), now=ctx.now)
    return _entitlement_v1(service.view(entitlement, now=ctx.now))


def list_subject_entitlements(ctx: RequestContext, *, subject_id_or_key: str, include_deleted: bool = False):
    service = _service(ctx)
    customer = service.customer_of_subject(subject_id_or_key)
    entitlements, _ = service.list(customer_ids=[customer.id], include_deleted=bool(include_deleted),
                                   active_at=None if include_deleted else ctx.now)  # fmt: skip
    return [_entitlement_v1(service.view(e, now=ctx.now)) for e in entitlements]


def get_entitlement(ctx: RequestContext, *, subject_id_or_key: str, entitlement_id: str):
    service = _service(ctx)
    return _entitlement_v1(service.view(service.get(entitlement_id), now=ctx.now))


def delete_entitlement(ctx: RequestContext, *, subject_id_or_key: str, entitlement_id: str) -> None:
    service = _service(ctx)
    service.delete(service.get(entitlement_id), now=ctx.now)


def override_entitlement(ctx: RequestContext, *, subject_id_or_key: str, entitlement_id_or_feature_key: str, body: dict[str, Any]):
    service = _service(ctx)
    customer = service.customer_of_subject(subject_id_or_key)
    entitlement = service.override(customer, entitlement_id_or_feature_key, _entitlement_input(body, v2=False), now=ctx.now)
    return _entitlement_v1(service.view(entitlement, now=ctx.now))


def get_entitlement_value(ctx: RequestContext, *, subject_id_or_key: str, entitlement_id_or_feature_key: str,
                          time: dt.datetime | None = None) -> models.EntitlementValue:  # fmt: skip
    service = _service(ctx)
    customer = service.customer_of_subject(subject_id_or_key)
    at = _at(time, ctx)
    entitlement = service.find_for(customer, entitlement_id_or_feature_key, now=at)
    if entitlement is None:
        raise NotFoundError(f"entitlement not found: {entitlement_id_or_feature_key}")
    return _value_to_api(service.value(entitlement, at=at))


def get_entitlement_history(ctx: RequestContext, *, subject_id_or_key: str, entitlement_id: str, window_size: str,
                            from_: dt.datetime | None = None, to: dt.datetime | None = None,
                            window_time_zone: str = "UTC") -> models.WindowedBalanceHistory:  # fmt: skip
    service = _service(ctx)
    return _history(service, service.get(entitlement_id), ctx, window_size, from_, to, window_time_zone)


def reset_entitlement_usage(ctx: RequestContext, *, subject_id_or_key: str, entitlement_id: str, body: dict[str, Any] | None = None) -> None:
    service = _service(ctx)
    _reset(service, service.get(entitlement_id), body, ctx)


def list_entitlement_grants(ctx: RequestContext, *, subject_id_or_key: str, entitlement_id_or_feature_key: str,
                            include_deleted: bool = False, order_by: str | None = None) -> list[models.EntitlementGrant]:  # fmt: skip
    service = _service(ctx)
    customer = service.customer_of_subject(subject_id_or_key)
    entitlement = service.resolve(customer, entitlement_id_or_feature_key, now=ctx.now)
    return [_grant_v1(g, ctx.now) for g in service.grants(entitlement)]


def create_grant(ctx: RequestContext, *, subject_id_or_key: str, entitlement_id_or_feature_key: str,
                 body: dict[str, Any]) -> models.EntitlementGrant:  # fmt: skip
    service = _service(ctx)
    customer = service.customer_of_subject(subject_id_or_key)
    entitlement = service.resolve(customer, entitlement_id_or_feature_key, now=ctx.now)
    data = decode(models.EntitlementGrantCreateInput, body)
    grant = service.create_grant(entitlement, _grant_input(data, data.model_fields_set), now=ctx.now, v2=False)
    return _grant_v1(grant, ctx.now)


# --- v1 admin --------------------------------------------------------------------------------------------


def _customers_of_subjects(service: EntitlementService, subjects: list[str] | None) -> list[str] | None:
    if not subjects:
        return None
    ids = []
    for key in subjects:
        customer = service.customers.by_subject_key(key)
        if customer is not None:
            ids.append(customer.id)
    return ids


def list_entitlements(ctx: RequestContext, *, feature: list[str] | None = None, subject: list[str] | None = None,
                      entitlement_type: list[str] | None = None, exclude_inactive: bool = False, page: int | None = None,
                      page_size: int | None = None, offset: int | None = None, limit: int | None = None,
                      order: str | None = None, order_by: str | None = None):  # fmt: skip
    service = _service(ctx)
    paging = page_of(ctx, page=page, page_size=page_size, offset=offset, limit=limit)
    entitlements, total = service.list(
        customer_ids=_customers_of_subjects(service, subject), features=feature, types=entitlement_type,
        active_at=ctx.now if exclude_inactive else None, order_by=order_by, descending=order == "DESC",
        offset=paging.offset, limit=paging.limit,
    )  # fmt: skip
    items = [_entitlement_v1(service.view(e, now=ctx.now)) for e in entitlements]
    if paging.paginated:
        return models.EntitlementPaginatedResponse(total_count=total, page=paging.page, page_size=paging.page_size, items=items)
    return items


def get_entitlement_by_id(ctx: RequestContext, *, entitlement_id: str):
    service = _service(ctx)
    return _entitlement_v1(service.view(service.get(entitlement_id), now=ctx.now))


def list_grants(ctx: RequestContext, *, feature: list[str] | None = None, subject: list[str] | None = None,
                include_deleted: bool = False, page: int | None = None, page_size: int | None = None,
                offset: int | None = None, limit: int | None = None, order: str | None = None, order_by: str | None = None):  # fmt: skip
    service = _service(ctx)
    paging = page_of(ctx, page=page, page_size=page_size, offset=offset, limit=limit)
    grants, total = service.list_grants(
        customer_ids=_customers_of_subjects(service, subject), features=feature, include_deleted=bool(include_deleted),
        order_by=order_by, descending=order == "DESC", offset=paging.offset, limit=paging.limit,
    )  # fmt: skip
    items = [_grant_v1(g, ctx.now) for g in grants]
    if paging.paginated:
        return models.GrantPaginatedResponse(total_count=total, page=paging.page, page_size=paging.page_size, items=items)
    return items


def void_grant(ctx: RequestContext, *, grant_id: str, at: dt.datetime | None = None) -> None:
    _service(ctx).void_grant(grant_id, at=instant_parameter("at", at), now=ctx.now)


# --- v2 customer routes ------------------------------------------------------------------------------


def create_customer_entitlement_v2(ctx: RequestContext, *, customer_id_or_key: str, body: dict[str, Any]):
    service = _service(ctx)
    customer = service.customer(customer_id_or_key)
    entitlement = service.create(customer, _entitlement_input(body, v2=True), now=ctx.now)
    return _entitlement_v2(service.view(entitlement, now=ctx.now))


def list_customer_entitlements_v2(ctx: RequestContext, *, customer_id_or_key: str, include_deleted: bool = False,
                                  page: int | None = None, page_size: int | None = None, order: str | None = None,
                                  order_by: str | None = None) -> models.EntitlementV2PaginatedResponse:  # fmt: skip
    service = _service(ctx)
    customer = service.customer(customer_id_or_key)
    paging = _paginated(ctx, page, page_size)
    entitlements, total = service.list(customer_ids=[customer.id], include_deleted=bool(include_deleted),
                                       order_by=order_by, descending=order == "DESC", offset=paging.offset, limit=paging.limit)  # fmt: skip
    items = [_entitlement_v2(service.view(e, now=ctx.now)) for e in entitlements]
    return models.EntitlementV2PaginatedResponse(total_count=total, page=paging.page, page_size=paging.page_size, items=items)


def get_customer_entitlement_v2(ctx: RequestContext, *, customer_id_or_key: str, entitlement_id_or_feature_key: str):
    service = _service(ctx)
    customer = service.customer(customer_id_or_key)
    return _entitlement_v2(service.view(service.resolve(customer, entitlement_id_or_feature_key, now=ctx.now), now=ctx.now))


def delete_customer_entitlement_v2(ctx: RequestContext, *, customer_id_or_key: str, entitlement_id_or_feature_key: str) -> None:
    service = _service(ctx)
    customer = service.customer(customer_id_or_key)
    service.delete(service.resolve(customer, entitlement_id_or_feature_key, now=ctx.now), now=ctx.now)


def override_customer_entitlement_v2(ctx: RequestContext, *, customer_id_or_key: str, entitlement_id_or_feature_key: str,
                                     body: dict[str, Any]):  # fmt: skip
    service = _service(ctx)
    customer = service.customer(customer_id_or_key)
    entitlement = service.override(customer, entitlement_id_or_feature_key, _entitlement_input(body, v2=True), now=ctx.now)
    return _entitlement_v2(service.view(entitlement, now=ctx.now))


def list_customer_entitlement_grants_v2(ctx: RequestContext, *, customer_id_or_key: str, entitlement_id_or_feature_key: str,
                                        include_deleted: bool = False, page: int | None = None, page_size: int | None = None,
                                        offset: int | None = None, limit: int | None = None, order: str | None = None,
                                        order_by: str | None = None) -> models.GrantV2PaginatedResponse:  # fmt: skip
    service = _service(ctx)
    customer = service.customer(customer_id_or_key)
    entitlement = service.resolve(customer, entitlement_id_or_feature_key, now=ctx.now)
    paging = _paginated(ctx, page, page_size)
    grants, total = service.list_grants(entitlement_ids=[entitlement.id], include_deleted=bool(include_deleted),
                                        order_by=order_by, descending=order == "DESC", offset=paging.offset, limit=paging.limit)  # fmt: skip
    return models.GrantV2PaginatedResponse(total_count=total, page=paging.page, page_size=paging.page_size,
                                           items=[_grant_v2(g, ctx.now) for g in grants])  # fmt: skip


def create_customer_entitlement_grant_v2(ctx: RequestContext, *, customer_id_or_key: str, entitlement_id_or_feature_key: str,
                                         body: dict[str, Any]) -> models.EntitlementGrantV2:  # fmt: skip
    service = _service(ctx)
    customer = service.customer(customer_id_or_key)
    entitlement = service.resolve(customer, entitlement_id_or_feature_key, now=ctx.now)
    data = decode(models.EntitlementGrantCreateInputV2, body)
    grant = service.create_grant(entitlement, _grant_input(data, data.model_fields_set), now=ctx.now, v2=True)
    return _grant_v2(grant, ctx.now)


def get_customer_entitlement_history_v2(ctx: RequestContext, *, customer_id_or_key: str, entitlement_id_or_feature_key: str,
                                        window_size: str, from_: dt.datetime | None = None, to: dt.datetime | None = None,
                                        window_time_zone: str = "UTC") -> models.WindowedBalanceHistory:  # fmt: skip
    service = _service(ctx)
    customer = service.customer(customer_id_or_key)
    entitlement = service.resolve(customer, entitlement_id_or_feature_key, now=ctx.now)
    return _history(service, entitlement, ctx, window_size, from_, to, window_time_zone)


def reset_customer_entitlement_usage_v2(ctx: RequestContext, *, customer_id_or_key: str, entitlement_id_or_feature_key: str,
                                        body: dict[str, Any] | None = None) -> None:  # fmt: skip
    service = _service(ctx)
    customer = service.customer(customer_id_or_key)
    _reset(service, service.resolve(customer, entitlement_id_or_feature_key, now=ctx.now), body, ctx)


def get_customer_entitlement_value_v2(ctx: RequestContext, *, customer_id_or_key: str, entitlement_id_or_feature_key: str,
                                      time: dt.datetime | None = None) -> models.EntitlementValue:  # fmt: skip
    return _customer_value(ctx, customer_id_or_key, entitlement_id_or_feature_key, time)


def get_customer_entitlement_value(ctx: RequestContext, *, customer_id_or_key: str, feature_key: str,
                                   time: dt.datetime | None = None) -> models.EntitlementValue:  # fmt: skip
    return _customer_value(ctx, customer_id_or_key, feature_key, time)


def get_customer_access(ctx: RequestContext, *, customer_id_or_key: str) -> models.CustomerAccess:
    service = _service(ctx)
    customer = service.customer(customer_id_or_key)
    entitlements, _ = service.list(customer_ids=[customer.id], active_at=ctx.now)
    return models.CustomerAccess(
        entitlements={e.feature_key: _value_to_api(service.value(e, at=ctx.now)) for e in entitlements}
    )


def list_entitlements_v2(ctx: RequestContext, *, feature: list[str] | None = None, customer_keys: list[str] | None = None,
                         customer_ids: list[str] | None = None, entitlement_type: list[str] | None = None,
                         exclude_inactive: bool = False, page: int | None = None, page_size: int | None = None,
                         offset: int | None = None, limit: int | None = None, order: str | None = None,
                         order_by: str | None = None) -> models.EntitlementV2PaginatedResponse:  # fmt: skip
    service = _service(ctx)
    paging = _paginated(ctx, page, page_size)
    ids = _customer_ids(service, list(customer_ids or []) + list(customer_keys or []))
    entitlements, total = service.list(
        customer_ids=ids, features=feature, types=entitlement_type, active_at=ctx.now if exclude_inactive else None,
        order_by=order_by, descending=order == "DESC", offset=paging.offset, limit=paging.limit,
    )  # fmt: skip
    items = [_entitlement_v2(service.view(e, now=ctx.now)) for e in entitlements]
    return models.EntitlementV2PaginatedResponse(total_count=total, page=paging.page, page_size=paging.page_size, items=items)


def get_entitlement_by_id_v2(ctx: RequestContext, *, entitlement_id: str):
    service = _service(ctx)
    return _entitlement_v2(service.view(service.get(entitlement_id), now=ctx.now))


def list_grants_v2(ctx: RequestContext, *, feature: list[str] | None = None, customer: list[str] | None = None,
                   include_deleted: bool = False, page: int | None = None, page_size: int | None = None,
                   offset: int | None = None, limit: int | None = None, order: str | None = None,
                   order_by: str | None = None) -> models.GrantV2PaginatedResponse:  # fmt: skip
    service = _service(ctx)
    paging = _paginated(ctx, page, page_size)
    grants, total = service.list_grants(
        customer_ids=_customer_ids(service, customer), features=feature, include_deleted=bool(include_deleted),
        order_by=order_by, descending=order == "DESC", offset=paging.offset, limit=paging.limit,
    )  # fmt: skip
    return models.GrantV2PaginatedResponse(total_count=total, page=paging.page, page_size=paging.page_size,
                                           items=[_grant_v2(g, ctx.now) for g in grants])  # fmt: skip


# --- shared ----------------------------------------------------------------------------------------------


def _at(time: Any, ctx: RequestContext) -> dt.datetime:
    return instant_parameter("time", time) or ctx.now


def _customer_ids(service: EntitlementService, ids_or_keys: list[str] | None) -> list[str] | None:
    if not ids_or_keys:
        return None
    ids = []
    for id_or_key in ids_or_keys:
        try:
            ids.append(service.customers.get(id_or_key).id)
        except NotFoundError:
            continue
    return ids


def _customer_value(ctx: RequestContext, customer_id_or_key: str, id_or_feature_key: str, time: dt.datetime | None):
    service = _service(ctx)
    customer: CustomerRef = service.customer(customer_id_or_key)
    at = _at(time, ctx)
    entitlement = service.find_for(customer, id_or_feature_key, now=at)
    if entitlement is None:
        return models.EntitlementValue(has_access=False)
    return _value_to_api(service.value(entitlement, at=at))


def _reset(service: EntitlementService, entitlement: Entitlement, body: dict[str, Any] | None, ctx: RequestContext) -> None:
    data = decode(models.ResetEntitlementUsageInput, body or {})
    service.reset(entitlement, effective_at=data.effective_at, retain_anchor=data.retain_anchor,
                  preserve_overage=data.preserve_overage, now=ctx.now)  # fmt: skip


def _history(service: EntitlementService, entitlement: Entitlement, ctx: RequestContext, window_size: str,
             from_: dt.datetime | None, to: dt.datetime | None, time_zone: str) -> models.WindowedBalanceHistory:  # fmt: skip
    from domain.credit import resolve_time_zone

    from_, to = instant_parameter("from", from_), instant_parameter("to", to)
    history = service.history(entitlement, window_size=window_size, from_=from_, to=to, time_zone=time_zone or "UTC", now=ctx.now)
    zone = resolve_time_zone(time_zone or "UTC")
    windows = [
        models.BalanceHistoryWindow(period=models.Period(from_=w.period.from_.astimezone(zone), to=w.period.to.astimezone(zone)),
                                    usage=w.usage, balance_at_start=w.balance_at_start)
        for w in history.windows
    ]  # fmt: skip
    segments = [
        models.GrantBurnDownHistorySegment(
            period=models.Period(from_=s.period.from_, to=s.period.to), usage=s.usage, overage=s.overage,
            balance_at_start=s.balance_at_start, grant_balances_at_start=dict(s.grant_balances_at_start),
            balance_at_end=s.balance_at_end, grant_balances_at_end=dict(s.grant_balances_at_end),
            grant_usages=[models.GrantUsageRecord(grant_id=u.grant_id, usage=u.usage) for u in s.grant_usages],
        )
        for s in history.segments
    ]  # fmt: skip
    return models.WindowedBalanceHistory(windowed_history=windows, burndown_history=segments)
