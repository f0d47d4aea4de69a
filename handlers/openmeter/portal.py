"""OpenMeter `Portal` operations: consumer portal tokens and the portal meter query."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.metering.query import QueryService
from domain.portal import PortalToken, PortalTokenService
from generated.openmeter import models
from handlers.openmeter._mapping import meter_query, meter_query_reply
from tollgate.context import RequestContext


def _to_api(token: PortalToken, now: dt.datetime, *, jwt: str | None = None) -> models.PortalToken:
    return models.PortalToken(
        id=token.id,
        subject=token.subject,
        expires_at=token.expires_at,
        expired=True if token.expired(now) else None,
        created_at=token.created_at,
        token=jwt,
        # Left out when the token may read every meter: the schema allows no empty list.
        allowed_meter_slugs=list(token.allowed_meter_slugs) or None,
    )


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value
    from handlers._decoding import decode

    return decode(models.PortalToken, {"subject": "-", "expiresAt": value}).expires_at


def create_portal_token(ctx: RequestContext, *, body: dict[str, Any]) -> models.PortalToken:
    issued = PortalTokenService(ctx.session).create(
        subject=body["subject"],
        allowed_meter_slugs=body.get("allowedMeterSlugs"),
        expires_at=_parse_time(body.get("expiresAt")),
        secret=ctx.secrets.portal_token_secret,
        default_ttl=dt.timedelta(seconds=ctx.settings.portal_token_ttl_seconds),
        now=ctx.now,
    )
    return _to_api(issued.record, ctx.now, jwt=issued.token)


def list_portal_tokens(ctx: RequestContext, *, limit: int = 25) -> list[models.PortalToken]:
    return [_to_api(token, ctx.now) for token in PortalTokenService(ctx.session).list(limit=limit)]


def invalidate_portal_tokens(ctx: RequestContext, *, body: dict[str, Any]) -> None:
    PortalTokenService(ctx.session).invalidate(token_id=body.get("id"), subject=body.get("subject"), now=ctx.now)


def query_portal_meter(
    ctx: RequestContext, *, meter_slug: str, client_id: str | None = None, from_: Any = None, to: Any = None,
    window_size: str | None = None, window_time_zone: str | None = None, filter_customer_id: list[str] | None = None,
    filter_group_by: dict[str, str] | None = None, advanced_meter_group_by_filters: Any = None,
    group_by: list[str] | None = None,
) -> Any:  # fmt: skip
    """`queryMeter` scoped to the token: its subject only, its allowed meters only (openmeter-core.md 6).

    Like OpenMeter, the customer and advanced filters are ignored: the token's subject is the scope.
    """
    principal = ctx.principal_for("PortalTokenAuth")
    if principal is None:  # the spec admits only portal tokens here; be explicit anyway
        from domain.errors import UnauthorizedError

        raise UnauthorizedError("a portal token is required")
    token = PortalTokenService(ctx.session).authorize(dict(principal.claims), meter_slug, now=ctx.now)
    query = meter_query(
        from_=from_, to=to, window_size=window_size, window_time_zone=window_time_zone, subject=[token.subject],
        filter_group_by=filter_group_by, group_by=group_by,
    )  # fmt: skip
    result = QueryService(ctx.session).run(meter_slug, query)
    reply = meter_query_reply(ctx, result)
    if client_id:
        from domain.progress import ProgressService

        ProgressService(ctx.session).record(client_id, success=len(result.rows), total=len(result.rows), now=ctx.now)
    return reply
