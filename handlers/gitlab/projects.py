"""GitLab REST v4 `Projects`: projects in namespaces and project members (admin only)."""

from __future__ import annotations

from domain.errors import ValidationError
from domain.gitlab.members import PROJECT_SOURCE, MemberService
from domain.gitlab.namespaces import NamespaceService
from domain.gitlab.projects import ProjectService
from domain.gitlab.users import UserService
from handlers.gitlab._rest import member_out, paginated, parse_date, project_full, require_admin
from tollgate.context import Reply, RequestContext


def create_project(ctx: RequestContext, *, body: dict) -> dict:
    creator = require_admin(ctx)
    if not body.get("name") and not body.get("path"):
        raise ValidationError(body={"error": "name, path are missing, at least one parameter must be provided"})
    if body.get("namespace_id") is not None:
        namespace = NamespaceService(ctx.session).get(body["namespace_id"])
    else:
        users = UserService(ctx.session)
        namespace = users.ensure_namespace(users.get(creator), now=ctx.now)
    project = ProjectService(ctx.session).create(
        namespace=namespace, name=body.get("name") or None, path=body.get("path"),
        visibility=body.get("visibility", "private"), description=body.get("description", ""),
        default_branch=body.get("default_branch", "main"), creator_id=creator, now=ctx.now,
    )  # fmt: skip
    return _project(ctx, project)


def _project(ctx: RequestContext, project) -> dict:
    return project_full(ctx, project)


def edit_project(ctx: RequestContext, *, id_: str, body: dict) -> dict:
    require_admin(ctx)
    service = ProjectService(ctx.session)
    changes = {key: body[key] for key in ("name", "path", "visibility", "description", "default_branch") if key in body}
    return _project(ctx, service.edit(service.get(id_), changes=changes, now=ctx.now))


def list_projects(ctx: RequestContext, *, search: str | None = None, page: int = 1, per_page: int = 20) -> Reply:
    require_admin(ctx)
    projects = ProjectService(ctx.session).list(search=search)
    chosen = projects[(page - 1) * per_page: page * per_page]
    return paginated(ctx, [project_full(ctx, p) for p in chosen], path="/projects", page=page, per_page=per_page,
                     total=len(projects), already_sliced=True)  # fmt: skip


def get_project(ctx: RequestContext, *, id_: str) -> dict:
    require_admin(ctx)
    return _project(ctx, ProjectService(ctx.session).get(id_))


def list_project_members(ctx: RequestContext, *, id_: str, page: int = 1, per_page: int = 20) -> Reply:
    require_admin(ctx)
    project = ProjectService(ctx.session).get(id_)
    members = MemberService(ctx.session).list(PROJECT_SOURCE, project.id)
    return paginated(ctx, [member_out(ctx, m) for m in members], path=f"/projects/{project.id}/members", page=page,
                     per_page=per_page)  # fmt: skip


def add_project_member(ctx: RequestContext, *, id_: str, body: dict) -> dict:
    creator = require_admin(ctx)
    project = ProjectService(ctx.session).get(id_)
    member = MemberService(ctx.session).add(
        PROJECT_SOURCE, project.id, user_id=body["user_id"], access_level=body["access_level"],
        expires_at=parse_date(body.get("expires_at"), "expires_at"), created_by_id=creator, now=ctx.now,
    )  # fmt: skip
    return member_out(ctx, member)


def get_project_member(ctx: RequestContext, *, id_: str, user_id: int) -> dict:
    require_admin(ctx)
    project = ProjectService(ctx.session).get(id_)
    return member_out(ctx, MemberService(ctx.session).get(PROJECT_SOURCE, project.id, user_id))


def edit_project_member(ctx: RequestContext, *, id_: str, user_id: int, body: dict) -> dict:
    require_admin(ctx)
    project = ProjectService(ctx.session).get(id_)
    member = MemberService(ctx.session).update(PROJECT_SOURCE, project.id, user_id=user_id, access_level=body["access_level"],
                                               expires_at=parse_date(body.get("expires_at"), "expires_at"), now=ctx.now)  # fmt: skip
    return member_out(ctx, member)


def remove_project_member(ctx: RequestContext, *, id_: str, user_id: int) -> None:
    require_admin(ctx)
    project = ProjectService(ctx.session).get(id_)
    MemberService(ctx.session).remove(PROJECT_SOURCE, project.id, user_id)
