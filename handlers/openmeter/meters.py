"""OpenMeter `Meters` operations: meters CRUD, usage queries (JSON and CSV), subjects, group-by values."""

from __future__ import annotations

from typing import Any

from domain.metering.events import EventService, ceil_seconds, epoch_seconds
from domain.metering.meters import Aggregation, Meter, MeterChanges, MeterInput, MeterService
from domain.metering.query import MeterQuery, QueryService
from generated.openmeter import models
from handlers._decoding import datetime_parameter, decode
from handlers.openmeter._mapping import meter_query, meter_query_body, meter_query_reply
from tollgate.context import RequestContext


def _to_api(meter: Meter) -> models.Meter:
    return models.Meter(
        id=meter.id,
        slug=meter.key,
        name=meter.name,
        description=meter.description,
        aggregation=meter.aggregation.value,
        event_type=meter.event_type,
        event_from=meter.event_from,
        value_property=meter.value_property,
        group_by=dict(meter.group_by) or None,
        metadata=meter.metadata,
        created_at=meter.created_at,
        updated_at=meter.updated_at,
        deleted_at=meter.deleted_at,
    )


# --- meters ------------------------------------------------------------------------------------


def list_meters(ctx: RequestContext, *, page: int = 1, page_size: int = 100, order: str = "ASC", order_by: str = "key",
                include_deleted: bool = False) -> list[models.Meter]:  # fmt: skip
    if (page - 1) * page_size > 2**40:
        return []  # far past the last meter
    meters = MeterService(ctx.session).list(
        include_deleted=include_deleted, order_by=order_by or "key", descending=(order == "DESC"),
        offset=(page - 1) * page_size, limit=page_size,
    )  # fmt: skip
    return [_to_api(meter) for meter in meters]


def create_meter(ctx: RequestContext, *, body: dict) -> models.Meter:
    data = decode(models.MeterCreate, body).root
    meter = MeterService(ctx.session).create(
        MeterInput(
            slug=data.slug,
            aggregation=Aggregation(data.aggregation),
            event_type=data.event_type,
            name=data.name,
            description=data.description,
            event_from=data.event_from,
            value_property=data.value_property,
            group_by=dict(data.group_by or {}),
            metadata=data.metadata,
        ),
        now=ctx.now,
    )
    return _to_api(meter)


def get_meter(ctx: RequestContext, *, meter_id_or_slug: str) -> models.Meter:
    return _to_api(MeterService(ctx.session).get(meter_id_or_slug))


def update_meter(ctx: RequestContext, *, meter_id_or_slug: str, body: dict) -> models.Meter:
    data = decode(models.MeterUpdate, body)
    changes = MeterChanges(name=data.name, description=data.description, group_by=dict(data.group_by or {}), metadata=data.metadata)
    return _to_api(MeterService(ctx.session).update(meter_id_or_slug, changes, now=ctx.now))


def delete_meter(ctx: RequestContext, *, meter_id_or_slug: str) -> None:
    MeterService(ctx.session).delete(meter_id_or_slug, now=ctx.now)


# --- queries -----------------------------------------------------------------------------------


def query_meter(
    ctx: RequestContext, *, meter_id_or_slug: str, client_id: str | None = None, from_: Any = None, to: Any = None,
    window_size: str | None = None, window_time_zone: str | None = None, subject: list[str] | None = None,
    filter_customer_id: list[str] | None = None, filter_group_by: dict[str, str] | None = None,
    advanced_meter_group_by_filters: Any = None, group_by: list[str] | None = None,
) -> Any:  # fmt: skip
    query = meter_query(
        from_=from_, to=to, window_size=window_size, window_time_zone=window_time_zone, subject=subject,
        filter_customer_id=filter_customer_id, filter_group_by=filter_group_by,
        advanced_meter_group_by_filters=advanced_meter_group_by_filters, group_by=group_by,
    )  # fmt: skip
    return meter_query_reply(ctx, QueryService(ctx.session).run(meter_id_or_slug, query))


def query_meter_post(ctx: RequestContext, *, meter_id_or_slug: str, body: dict) -> dict[str, Any]:
    data = decode(models.MeterQueryRequest, body)
    advanced = None
    if data.advanced_meter_group_by_filters:
        advanced = {key: value.model_dump(by_alias=True, exclude_none=True) for key, value in data.advanced_meter_group_by_filters.items()}
    query = MeterQuery(
        from_=data.from_, to=data.to, window_size=data.window_size, window_time_zone=data.window_time_zone or "UTC",
        subjects=list(data.subject) if data.subject else None,
        customer_ids=list(data.filter_customer_id) if data.filter_customer_id else None,
        group_by=list(data.group_by or []),
        filter_group_by={key: list(values) for key, values in (data.filter_group_by or {}).items()} or None,
        advanced_filters=advanced,
    )  # fmt: skip
    return meter_query_body(QueryService(ctx.session).run(meter_id_or_slug, query))


def list_meter_subjects(ctx: RequestContext, *, meter_id_or_slug: str, from_: Any = None, to: Any = None) -> list[str]:
    meter = MeterService(ctx.session).get(meter_id_or_slug)
    start, end = datetime_parameter("from", from_), datetime_parameter("to", to)
    return EventService(ctx.session).subjects(
        meter, lo=epoch_seconds(start) if start else None, hi=ceil_seconds(end) if end else None
    )


def list_meter_group_by_values(ctx: RequestContext, *, meter_id_or_slug: str, group_by_key: str, from_: Any = None,
                               to: Any = None) -> list[str]:  # fmt: skip
    from domain.metering.query import group_by_values

    meter = MeterService(ctx.session).get(meter_id_or_slug)
    return group_by_values(ctx.session, meter, group_by_key, datetime_parameter("from", from_), datetime_parameter("to", to), now=ctx.now)
