"""OpenMeter `Portal` operations: consumer portal tokens and the portal meter query."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.portal import PortalToken, PortalTokenService
from generated.openmeter import models
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
