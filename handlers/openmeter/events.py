"""OpenMeter `Events` operations: ingest (CloudEvents, single or batch), list v1 and v2."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.errors import ValidationError
from domain.metering.events import (
    EventListing,
    EventService,
    StoredEvent,
    ceil_seconds,
    decode_cursor,
    encode_cursor,
    epoch_seconds,
    from_epoch,
    time_filter_seconds,
)
from domain.metering.query import validate_filter
from handlers._decoding import datetime_parameter, json_parameter
from tollgate.context import RequestContext

V1_DEFAULT_WINDOW = dt.timedelta(hours=72)


def ingest_events(ctx: RequestContext, *, body: Any) -> None:
    content_type = (ctx.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/cloudevents+json":
        if not isinstance(body, dict):
            raise ValidationError("invalid event: application/cloudevents+json takes one event object")
        events = [body]
    elif content_type == "application/cloudevents-batch+json":
        if not isinstance(body, list):
            raise ValidationError("invalid event: application/cloudevents-batch+json takes an array of events")
        events = body
    else:
        events = body if isinstance(body, list) else [body]
        if not events:
            raise ValidationError("invalid event: no events found")
    if events:
        EventService(ctx.session).ingest(events, now=ctx.now)


def _api(item: StoredEvent) -> dict[str, Any]:
    event = item.event
    cloud: dict[str, Any] = {
        "id": event.id, "source": event.source, "specversion": event.specversion, "type": event.type,
        "subject": event.subject, "time": from_epoch(event.time),
    }  # fmt: skip
    if event.dataschema:
        cloud["dataschema"] = event.dataschema
    if event.data is not None:
        cloud["datacontenttype"] = "application/json"
        cloud["data"] = event.data
    stamp = from_epoch(item.ingested_at)
    body: dict[str, Any] = {"event": cloud, "ingestedAt": stamp, "storedAt": stamp}
    if item.customer_id:
        body["customerId"] = item.customer_id
    if item.validation_error:
        body["validationError"] = item.validation_error
    return body


def list_events(
    ctx: RequestContext, *, client_id: str | None = None, ingested_at_from: Any = None, ingested_at_to: Any = None,
    id_: str | None = None, subject: str | None = None, customer_id: list[str] | None = None, from_: Any = None,
    to: Any = None, limit: int = 100,
) -> list[dict[str, Any]]:  # fmt: skip
    """Newest first. `from`/`to` and `ingestedAtFrom`/`ingestedAtTo` are inclusive; `id` and `subject`
    match partially; without `from` (and `ingestedAtFrom`) the last 72 hours (ruling 7)."""
    start, end = datetime_parameter("from", from_), datetime_parameter("to", to)
    ingested_start, ingested_end = datetime_parameter("ingestedAtFrom", ingested_at_from), datetime_parameter("ingestedAtTo", ingested_at_to)
    if start is None and ingested_start is None:
        start = ctx.now - V1_DEFAULT_WINDOW
    listing = EventListing(ctx.session)
    subjects = listing.customer_subjects(customer_id) if customer_id else None
    stored = listing.events.list(
        limit=limit,
        time_from=ceil_seconds(start) if start else None, time_to=epoch_seconds(end) if end else None,
        ingested_from=ceil_seconds(ingested_start) if ingested_start else None,
        ingested_to=epoch_seconds(ingested_end) if ingested_end else None,
        id_contains=id_ or None, subject_contains=subject or None, subjects=subjects,
    )  # fmt: skip
    return [_api(item) for item in listing.enrich(stored)]


def list_events_v2(ctx: RequestContext, *, cursor: str | None = None, limit: int = 100, client_id: str | None = None,
                   filter_: Any = None) -> dict[str, Any]:  # fmt: skip
    from storage.events import EventRow, string_condition, time_condition

    raw = json_parameter("filter", filter_) if isinstance(filter_, str) else filter_
    if raw is not None and not isinstance(raw, dict):
        raise ValidationError("filter must be a JSON object")
    raw = raw or {}
    listing = EventListing(ctx.session)
    conditions = []
    for name, column in (("id", EventRow.event_id), ("source", EventRow.source), ("subject", EventRow.subject), ("type", EventRow.type)):
        if raw.get(name) is not None:
            conditions.append(string_condition(column, validate_filter(raw[name], f"filter.{name}")))
    for name, column in (("time", EventRow.time), ("ingestedAt", EventRow.ingested_at)):
        if raw.get(name) is not None:
            conditions.append(time_condition(column, time_filter_seconds(raw[name], f"filter.{name}")))
    subjects = None
    customer = raw.get("customerId")
    if customer is not None:
        ids = customer.get("$in") if isinstance(customer, dict) else None
        if not isinstance(customer, dict) or not isinstance(ids or [], list) or not all(isinstance(i, str) for i in ids or []):
            raise ValidationError("filter.customerId takes {\"$in\": [ids]}")
        if customer.get("$in") is not None:
            subjects = listing.customer_subjects(customer["$in"]) if customer["$in"] else set()
    before = decode_cursor(cursor) if cursor else None
    if cursor and before is None:
        return {"items": []}  # a cursor this server never issued points past every event
    stored = listing.events.list(
        limit=limit, order_by_ingested=raw.get("ingestedAt") is not None, before=before, subjects=subjects,
        v2_filters=conditions,
    )  # fmt: skip
    body: dict[str, Any] = {"items": [_api(item) for item in listing.enrich(stored)]}
    if stored:
        last = stored[-1]
        stamp = last.ingested_at if raw.get("ingestedAt") is not None else last.event.time
        body["nextCursor"] = encode_cursor(stamp, last.event.id)
    return body
