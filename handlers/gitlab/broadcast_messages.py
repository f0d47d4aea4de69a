"""GitLab REST v4 `Broadcast Messages` (ruling 23), as python-gitlab's `gl.broadcastmessages` uses them."""

from __future__ import annotations

from typing import Any

from domain.gitlab.internal_entities import InternalEntityService
from generated.gitlab import models
from handlers.gitlab._rest import parse_datetime, require_admin
from tollgate.context import Reply, RequestContext


def _out(ctx: RequestContext, message) -> dict[str, Any]:
    return models.BroadcastMessage(
        id=message.id, message=message.message, starts_at=message.starts_at, ends_at=message.ends_at,
        color=message.color, font=message.font, active=message.starts_at <= ctx.now < message.ends_at,
        target_access_levels=[], target_path=message.target_path or "", broadcast_type=message.broadcast_type,
        dismissable=message.dismissable,
    )  # fmt: skip


def _values(body: dict[str, Any]) -> dict[str, Any]:
    values = {name: body.get(name) for name in ("message", "color", "font", "target_path", "broadcast_type", "dismissable")}
    values["starts_at"] = parse_datetime(body.get("starts_at"), "starts_at")
    values["ends_at"] = parse_datetime(body.get("ends_at"), "ends_at")
    return values


def list_broadcast_messages(ctx: RequestContext) -> list:
    require_admin(ctx)
    return [_out(ctx, message) for message in InternalEntityService(ctx.session).broadcasts()]


def create_broadcast_message(ctx: RequestContext, *, body: dict[str, Any]) -> Reply:
    require_admin(ctx)
    message = InternalEntityService(ctx.session).add_broadcast(**_values(body), now=ctx.now)
    return Reply(body=_out(ctx, message), status=201)


def get_broadcast_message(ctx: RequestContext, *, id_: int):
    require_admin(ctx)
    return _out(ctx, InternalEntityService(ctx.session).broadcast(id_))


def update_broadcast_message(ctx: RequestContext, *, id_: int, body: dict[str, Any]):
    require_admin(ctx)
    values = {name: value for name, value in _values(body).items() if name in body}
    return _out(ctx, InternalEntityService(ctx.session).update_broadcast(id_, values))


def delete_broadcast_message(ctx: RequestContext, *, id_: int) -> None:
    require_admin(ctx)
    InternalEntityService(ctx.session).delete_broadcast(id_)
