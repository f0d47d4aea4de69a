"""Request and response mapping shared by several OpenMeter handler modules.

One handler module serves one tag; what two of them decode or encode alike lives here, so that no
handler module imports another's helpers or calls another's operation.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from domain.errors import ValidationError
from domain.features import Page
from domain.metering.query import MeterQuery, QueryResult, to_csv
from handlers._decoding import datetime_parameter, instant_parameter, json_parameter
from tollgate.context import Reply, RequestContext

if TYPE_CHECKING:
    from domain.subscriptions.model import Subscription

# --- pagination ----------------------------------------------------------------------------------


def page_of(ctx: RequestContext, *, page: int | None, page_size: int | None, offset: int | None, limit: int | None) -> Page:
    """Dual pagination (openmeter-core.md 1.4): page/pageSize count, and the answer is the paginated
    object, only when the request sent page or pageSize; else offset/limit."""
    asked = "page" in ctx.query or "pageSize" in ctx.query
    return Page.of(page=page if asked else None, page_size=page_size if asked else None, offset=offset, limit=limit)


# --- meter usage queries (queryMeter, queryMeterPost, queryPortalMeter, queryFeatureCost) ----------


def meter_query(*, from_: Any, to: Any, window_size: str | None, window_time_zone: str | None,
                subject: list[str] | None = None, filter_customer_id: list[str] | None = None,
                filter_group_by: dict[str, str] | None = None, advanced_meter_group_by_filters: Any = None,
                group_by: list[str] | None = None, in_utc: bool = False) -> MeterQuery:  # fmt: skip
    """The usage query that queryMeter's query parameters describe (400 on a malformed one).

    `from`/`to` keep the offset they were sent with (the answer echoes them), or are turned to UTC
    with `in_utc`.
    """
    advanced = advanced_meter_group_by_filters
    if isinstance(advanced, str):
        advanced = json_parameter("advancedMeterGroupByFilters", advanced)
    if advanced is not None and not isinstance(advanced, dict):
        raise ValidationError("advancedMeterGroupByFilters must be an object")
    instant = instant_parameter if in_utc else datetime_parameter
    return MeterQuery(
        from_=instant("from", from_), to=instant("to", to), window_size=window_size, window_time_zone=window_time_zone or "UTC",
        subjects=list(subject) if subject else None, customer_ids=list(filter_customer_id) if filter_customer_id else None,
        group_by=list(group_by or []),
        filter_group_by={key: [value] for key, value in (filter_group_by or {}).items()} or None,
        advanced_filters=advanced or None,
    )  # fmt: skip


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


def meter_query_body(result: QueryResult) -> dict[str, Any]:
    """The spec's `MeterQueryResult` as JSON."""
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


def meter_query_reply(ctx: RequestContext, result: QueryResult) -> Any:
    """A usage query's answer as the client asked: CSV (with subject display names) when it accepts
    text/csv but not JSON, else the JSON body."""
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
    return meter_query_body(result)


# --- subscriptions (Subscriptions and Customers tags) ---------------------------------------------


def subscription_to_api(subscription: Subscription, now: dt.datetime) -> dict[str, Any]:
    """The spec's `Subscription`."""
    data: dict[str, Any] = {
        "id": subscription.id,
        "name": subscription.name,
        "createdAt": subscription.created_at,
        "updatedAt": subscription.updated_at,
        "activeFrom": subscription.active_from,
        "status": subscription.status(now),
        "customerId": subscription.customer_id,
        "currency": subscription.currency,
        "billingCadence": subscription.billing_cadence,
        "proRatingConfig": dict(subscription.pro_rating),
        "billingAnchor": subscription.billing_anchor,
        "alignment": {"billablesMustAlign": True},
        "annotations": dict(subscription.annotations),
    }
    if subscription.description is not None:
        data["description"] = subscription.description
    if subscription.metadata is not None:
        data["metadata"] = dict(subscription.metadata)
    if subscription.deleted_at is not None:
        data["deletedAt"] = subscription.deleted_at
    if subscription.active_to is not None:
        data["activeTo"] = subscription.active_to
    if subscription.plan is not None:
        data["plan"] = {"id": subscription.plan.id, "key": subscription.plan.key, "version": subscription.plan.version}
    return data
