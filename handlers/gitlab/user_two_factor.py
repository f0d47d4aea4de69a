"""Tollgate's admin-only extension (ruling 23): turn a user's two-factor authentication on or off."""

from __future__ import annotations

from typing import Any

from domain.gitlab.internal_entities import InternalEntityService
from generated.gitlab import models
from handlers.gitlab._rest import require_admin
from tollgate.context import RequestContext


def set_user_two_factor(ctx: RequestContext, *, id_: int, body: dict[str, Any]) -> models.TwoFactorState:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    service.set_two_factor(id_, bool(body["two_factor_enabled"]), now=ctx.now)
    return models.TwoFactorState(id=id_, two_factor_enabled=service.two_factor_enabled(id_))
