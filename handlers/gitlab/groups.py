"""GitLab REST v4 `Groups`: groups and subgroups, group sharing, group members (admin only)."""

from __future__ import annotations

from domain.gitlab.members import GROUP_SOURCE, MemberService
from domain.gitlab.namespaces import NamespaceService
from generated.gitlab import models
from domain.gitlab.projects import ProjectService
from handlers.gitlab._rest import base_url, dump, member_out, paginated, parse_date, project_full, require_admin
from tollgate.context import Reply, RequestContext


def _group(ctx: RequestContext, service: NamespaceService, group) -> dict:
    chain = service.repository.ancestors(group)
    shared = [
        models.SharedWithGroup(group_id=invited.id, group_name=invited.name, group_full_path=invited.full_path,
                               group_access_level=link.group_access, expires_at=link.expires_at)  # fmt: skip
        for link, invited in service.shared_with(group)
    ]
    return dump(models.Group(
        id=group.id, web_url=f"{base_url(ctx)}/groups/{group.full_path}", name=group.name, path=group.path,
        description=group.description, visibility=group.visibility,
        full_name=" / ".join(namespace.name for namespace in reversed(chain)), full_path=group.full_path,
        parent_id=group.parent_id, avatar_url=None, created_at=group.created_at, shared_with_groups=shared,
    ))  # fmt: skip


def list_groups(ctx: RequestContext, *, search: str | None = None, page: int = 1, per_page: int = 20) -> Reply:
    require_admin(ctx)
    service = NamespaceService(ctx.session)
    groups = service.list_groups(search=search)
    chosen = groups[(page - 1) * per_page: page * per_page]
    return paginated(ctx, [_group(ctx, service, group) for group in chosen], path="/groups", page=page,
                     per_page=per_page, total=len(groups), already_sliced=True)  # fmt: skip


def create_group(ctx: RequestContext, *, body: dict) -> dict:
    creator = require_admin(ctx)
    service = NamespaceService(ctx.session)
    group = service.create_group(
        name=body["name"], path=body["path"], parent_id=body.get("parent_id"),
        visibility=body.get("visibility", "private"), description=body.get("description", ""), creator_id=creator,
        now=ctx.now,
    )  # fmt: skip
    return _group(ctx, service, group)


def get_group(ctx: RequestContext, *, id_: str) -> dict:
    require_admin(ctx)
    service = NamespaceService(ctx.session)
    return _group(ctx, service, service.group(id_))


def list_subgroups(ctx: RequestContext, *, id_: str, page: int = 1, per_page: int = 20) -> Reply:
    require_admin(ctx)
    service = NamespaceService(ctx.session)
    group = service.group(id_)
    subgroups = service.subgroups(group)
    chosen = subgroups[(page - 1) * per_page: page * per_page]
    return paginated(ctx, [_group(ctx, service, g) for g in chosen], path=f"/groups/{group.id}/subgroups", page=page,
                     per_page=per_page, total=len(subgroups), already_sliced=True)  # fmt: skip


def list_group_projects(ctx: RequestContext, *, id_: str, include_subgroups: bool = False, page: int = 1,
                        per_page: int = 20) -> Reply:  # fmt: skip
    require_admin(ctx)
    group = NamespaceService(ctx.session).group(id_)
    projects = ProjectService(ctx.session).in_group(group, include_subgroups=include_subgroups)
    chosen = projects[(page - 1) * per_page: page * per_page]
    return paginated(ctx, [project_full(ctx, p) for p in chosen], path=f"/groups/{group.id}/projects", page=page,
                     per_page=per_page, total=len(projects), already_sliced=True)  # fmt: skip


def share_group(ctx: RequestContext, *, id_: str, body: dict) -> dict:
    require_admin(ctx)
    service = NamespaceService(ctx.session)
    group = service.group(id_)
    service.share(group, with_group_id=body["group_id"], group_access=body["group_access"],
                  expires_at=parse_date(body.get("expires_at"), "expires_at"), now=ctx.now)  # fmt: skip
    return _group(ctx, service, group)


def unshare_group(ctx: RequestContext, *, id_: str, group_id: int) -> None:
    require_admin(ctx)
    service = NamespaceService(ctx.session)
    service.unshare(service.group(id_), group_id)


def list_group_members(ctx: RequestContext, *, id_: str, page: int = 1, per_page: int = 20) -> Reply:
    require_admin(ctx)
    group = NamespaceService(ctx.session).group(id_)
    members = MemberService(ctx.session).list(GROUP_SOURCE, group.id)
    return paginated(ctx, [member_out(ctx, m) for m in members], path=f"/groups/{group.id}/members", page=page,
                     per_page=per_page)  # fmt: skip


def add_group_member(ctx: RequestContext, *, id_: str, body: dict) -> dict:
    creator = require_admin(ctx)
    group = NamespaceService(ctx.session).group(id_)
    member = MemberService(ctx.session).add(
        GROUP_SOURCE, group.id, user_id=body["user_id"], access_level=body["access_level"],
        expires_at=parse_date(body.get("expires_at"), "expires_at"), created_by_id=creator, now=ctx.now,
    )  # fmt: skip
    return member_out(ctx, member)


def get_group_member(ctx: RequestContext, *, id_: str, user_id: int) -> dict:
    require_admin(ctx)
    group = NamespaceService(ctx.session).group(id_)
    return member_out(ctx, MemberService(ctx.session).get(GROUP_SOURCE, group.id, user_id))


def edit_group_member(ctx: RequestContext, *, id_: str, user_id: int, body: dict) -> dict:
    require_admin(ctx)
    group = NamespaceService(ctx.session).group(id_)
    member = MemberService(ctx.session).update(GROUP_SOURCE, group.id, user_id=user_id, access_level=body["access_level"],
                                               expires_at=parse_date(body.get("expires_at"), "expires_at"), now=ctx.now)  # fmt: skip
    return member_out(ctx, member)


def remove_group_member(ctx: RequestContext, *, id_: str, user_id: int) -> None:
    require_admin(ctx)
    group = NamespaceService(ctx.session).group(id_)
    MemberService(ctx.session).remove(GROUP_SOURCE, group.id, user_id)
