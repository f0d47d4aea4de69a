"""GitLab REST v4 `Deploy Keys` of a project (ruling 23), as python-gitlab's `project.keys` uses them."""

from __future__ import annotations

from typing import Any

from domain.gitlab.internal_entities import InternalEntityService
from generated.gitlab import models
from handlers.gitlab._rest import parse_datetime, require_admin
from tollgate.context import Reply, RequestContext


def _out(link) -> models.DeployKey:
    key = link.key
    return models.DeployKey(
        id=key.id, title=key.title, key=key.key, fingerprint=key.fingerprint_md5,
        fingerprint_sha256=key.fingerprint_sha256.removeprefix("SHA256:"), created_at=key.created_at,
        expires_at=key.expires_at, can_push=link.can_push,
    )  # fmt: skip


def list_project_deploy_keys(ctx: RequestContext, *, id_: str) -> list[models.DeployKey]:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    return [_out(link) for link in service.deploy_keys(service.project(id_))]


def add_project_deploy_key(ctx: RequestContext, *, id_: str, body: dict[str, Any]) -> Reply:
    user_id = require_admin(ctx)
    service = InternalEntityService(ctx.session)
    project = service.project(id_)
    link = service.add_deploy_key(
        project, title=body["title"], key=body["key"], can_push=bool(body.get("can_push", False)),
        expires_at=parse_datetime(body.get("expires_at"), "expires_at"), user_id=user_id, now=ctx.now,
    )  # fmt: skip
    return Reply(body=_out(link), status=201)


def get_project_deploy_key(ctx: RequestContext, *, id_: str, key_id: int) -> models.DeployKey:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    return _out(service.deploy_key(service.project(id_), key_id))


def update_project_deploy_key(ctx: RequestContext, *, id_: str, key_id: int, body: dict[str, Any]) -> models.DeployKey:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    link = service.update_deploy_key(service.project(id_), key_id, title=body.get("title"), can_push=body.get("can_push"),
                                     now=ctx.now)  # fmt: skip
    return _out(link)


def delete_project_deploy_key(ctx: RequestContext, *, id_: str, key_id: int) -> None:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    service.remove_deploy_key(service.project(id_), key_id)


def enable_project_deploy_key(ctx: RequestContext, *, id_: str, key_id: int) -> Reply:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    return Reply(body=_out(service.enable_deploy_key(service.project(id_), key_id, now=ctx.now)), status=201)

