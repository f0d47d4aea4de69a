"""GitLab REST v4 `Protected Branches` (ruling 23), as python-gitlab's `project.protectedbranches` uses them."""

from __future__ import annotations

import re
from typing import Any

from domain.gitlab.internal_entities import LEVEL_DESCRIPTIONS, InternalEntityService
from generated.gitlab import models
from handlers.gitlab._rest import require_admin
from tollgate.context import Reply, RequestContext


def _branch(name: str) -> str:
    """The `name` path parameter: `%2F` stays encoded through routing (one segment), decoded here."""
    return re.sub("%2[fF]", "/", name)


def _levels(levels: tuple[int, ...]) -> list[models.ProtectedAccessLevelEntry]:
    return [models.ProtectedAccessLevelEntry(access_level=level, access_level_description=LEVEL_DESCRIPTIONS.get(level, str(level)))
            for level in levels]  # fmt: skip


def _out(branch) -> dict[str, Any]:
    return models.ProtectedBranch(
        id=branch.id, name=branch.name, push_access_levels=_levels(branch.push_access_levels),
        merge_access_levels=_levels(branch.merge_access_levels), unprotect_access_levels=_levels((40,)),
        allow_force_push=branch.allow_force_push, code_owner_approval_required=False,
    ).model_dump(mode="json", exclude_none=True)  # fmt: skip


def list_protected_branches(ctx: RequestContext, *, id_: str) -> list[dict[str, Any]]:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    return [_out(branch) for branch in service.protected_branches(service.project(id_))]


def protect_branch(ctx: RequestContext, *, id_: str, body: dict[str, Any]) -> Reply:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    branch = service.protect_branch(
        service.project(id_), name=body["name"], push_level=body.get("push_access_level", 40),
        merge_level=body.get("merge_access_level", 40), allow_force_push=bool(body.get("allow_force_push", False)), now=ctx.now,
    )  # fmt: skip
    return Reply(body=_out(branch), status=201)


def get_protected_branch(ctx: RequestContext, *, id_: str, name: str) -> dict[str, Any]:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    return _out(service.protected_branch(service.project(id_), _branch(name)))


def update_protected_branch(ctx: RequestContext, *, id_: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    return _out(service.update_protected_branch(service.project(id_), _branch(name), body))


def unprotect_branch(ctx: RequestContext, *, id_: str, name: str) -> None:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    service.unprotect_branch(service.project(id_), _branch(name))
