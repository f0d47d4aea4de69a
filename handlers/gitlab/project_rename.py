"""GitLab REST v4 `PUT /projects/:id` for renames (ruling 23): a new name and/or path, the old path
kept as a redirect so `/internal/allowed` still finds the project by it."""

from __future__ import annotations

from typing import Any

from domain.gitlab.internal_entities import InternalEntityService
from handlers.gitlab._internal_entities import require_admin
from handlers.gitlab._rest import project_out
from tollgate.context import RequestContext


def rename_project(ctx: RequestContext, *, id_: str, body: dict[str, Any]) -> dict:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    project = service.rename_project(service.project(id_), name=body.get("name"), path=body.get("path"), now=ctx.now)
    return project_out(ctx, project)
