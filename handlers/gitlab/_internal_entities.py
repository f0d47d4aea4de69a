"""Helpers of the REST v4 handler modules of the internal API's entities (deploy keys, protected
branches, broadcast messages, cluster agents, the two-factor extension)."""

from __future__ import annotations

import datetime as dt

from domain.errors import ForbiddenError, UnauthorizedError, ValidationError
from tollgate.context import RequestContext


def require_admin(ctx: RequestContext) -> int:
    """The caller's user id when it is an administrator in admin mode with scope `api`; else 401/403."""
    principal = ctx.principal_for("PersonalAccessToken")
    if principal is None:
        raise UnauthorizedError(body={"message": "401 Unauthorized"})
    claims = principal.claims
    if not (claims.get("admin") and claims.get("admin_mode") and "api" in claims.get("scopes", ())):
        raise ForbiddenError(body={"message": "403 Forbidden"})
    return int(claims["user_id"])


def parse_datetime(name: str, value: str | None) -> dt.datetime | None:
    """An RFC 3339 timestamp as UTC. Instants Python cannot hold (an offset past year 1 or 9999) are clamped."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name} is invalid", body={"error": f"{name} is invalid"}) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.timezone.utc)
    try:
        return parsed.astimezone(dt.timezone.utc)
    except OverflowError:
        edge = dt.datetime.min if parsed.year == 1 else dt.datetime.max
        return edge.replace(tzinfo=dt.timezone.utc)
