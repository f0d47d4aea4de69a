"""OpenMeter `Meters` operations: meters CRUD, usage queries (JSON and CSV), subjects, group-by values."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.errors import ValidationError
from domain.metering.events import EventService, ceil_seconds, epoch_seconds
from domain.metering.meters import Aggregation, Meter, MeterChanges, MeterInput, MeterService
from domain.metering.query import MeterQuery, QueryResult, QueryService, to_csv
from generated.openmeter import models
from handlers._decoding import datetime_parameter, decode, json_parameter
from tollgate.context import Reply, RequestContext


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


def _rfc3339(value: dt.datetime) -> str:
    """RFC 3339 as OpenMeter writes it: `Z` for UTC, fractional seconds only when non-zero."""
    text = value.isoformat()
    if value.microsecond:
        head, _, tail = text.partition(".")
        text = f"{head}.{tail[:6].rstrip('0')}{tail[6:]}"
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _row(row, stamps: dict[dt.datetime, str]) -> dict[str, Any]:
    # Many rows share a window: each distinct instant is formatted once.
    start = stamps.get(row.window_start) or stamps.setdefault(row.window_start, _rfc3339(row.window_start))
    end = stamps.get(row.window_end) or stamps.setdefault(row.window_end, _rfc3339(row.window_end))
    data: dict[str, Any] = {
        "value": row.value,
        "windowStart": start,
        "windowEnd": end,
        "subject": row.subject,
        "groupBy": dict(row.group_by),
    }
    if row.customer_id is not None:
        data["customerId"] = row.customer_id
    return data


def _result(result: QueryResult, from_raw: Any, to_raw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if result.query.from_ is not None:
        body["from"] = result.query.from_
    if result.query.to is not None:
        body["to"] = result.query.to
    if result.query.window_size is not None:
        body["windowSize"] = result.query.window_size
    stamps: dict[dt.datetime, str] = {}
    body["data"] = [_row(row, stamps) for row in result.rows]
    return body


def query_meter(
    ctx: RequestContext, *, meter_id_or_slug: str, client_id: str | None = None, from_: Any = None, to: Any = None,
    window_size: str | None = None, window_time_zone: str | None = None, subject: list[str] | None = None,
    filter_customer_id: list[str] | None = None, filter_group_by: dict[str, str] | None = None,
    advanced_meter_group_by_filters: Any = None, group_by: list[str] | None = None,
) -> Any:  # fmt: skip
    advanced = advanced_meter_group_by_filters
    if isinstance(advanced, str):
        advanced = json_parameter("advancedMeterGroupByFilters", advanced)
    if advanced is not None and not isinstance(advanced, dict):
        raise ValidationError("advancedMeterGroupByFilters must be an object")
    query = MeterQuery(
        from_=datetime_parameter("from", from_), to=datetime_parameter("to", to), window_size=window_size, window_time_zone=window_time_zone or "UTC",
        subjects=list(subject) if subject else None, customer_ids=list(filter_customer_id) if filter_customer_id else None,
        group_by=list(group_by or []),
        filter_group_by={key: [value] for key, value in (filter_group_by or {}).items()} or None,
        advanced_filters=advanced or None,
    )  # fmt: skip
    result = QueryService(ctx.session).run(meter_id_or_slug, query)
    if ctx.accepts("text/csv") and not ctx.accepts("application/json"):
        names: dict[str, str] = {}
        if result.by_subject:
            from domain.subjects import SubjectService

            subjects = SubjectService(ctx.session).subjects.active_by_keys(sorted({r.subject for r in result.rows if r.subject}))
            names = {key: s.display_name or "" for key, s in subjects.items()}
        return Reply(
            body=to_csv(result, names),
            media_type="text/csv",
            headers={"Content-Disposition": f"attachment; filename={result.meter.key}.csv"},
        )
    return _result(result, from_, to)


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
    return _result(QueryService(ctx.session).run(meter_id_or_slug, query), None, None)


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
