"""Helpers shared by the GitLab REST v4 handler modules: admin auth, GitLab pagination, encoding."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Sequence
from urllib.parse import urlencode

from pydantic import BaseModel

from domain.errors import ForbiddenError, UnauthorizedError, ValidationError
from domain.gitlab.entities import Member, Namespace, Project, User
from generated.gitlab import models
from tollgate.context import Reply, RequestContext


def require_admin(ctx: RequestContext) -> int:
    """The caller's user id when it is an administrator in admin mode with scope `api`; else 401/403."""
    principal = ctx.principal_for("PersonalAccessToken")
    if principal is None:
        raise UnauthorizedError(body={"message": "401 Unauthorized"})
    claims = principal.claims
    if not (claims.get("admin") and claims.get("admin_mode") and "api" in claims.get("scopes", ())):
        raise ForbiddenError(body={"message": "403 Forbidden"})
    return int(claims["user_id"])


def dump(model: BaseModel) -> dict[str, Any]:
    """GitLab writes nulls: keep every field the handler set, `None` included."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


def base_url(ctx: RequestContext) -> str:
    return ctx.settings.external_url.rstrip("/")


_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _invalid(name: str) -> ValidationError:
    return ValidationError(f"{name} is invalid", body={"error": f"{name} is invalid"})


def parse_date(value: str | None, name: str) -> dt.date | None:
    """A `YYYY-MM-DD` date; anything else is Grape's `<name> is invalid` (the validator does not check
    the `date` format, so an impossible date such as 2020-13-01 arrives here)."""
    if value is None:
        return None
    if not _DATE.match(value):
        raise _invalid(name)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _invalid(name) from None


def parse_datetime(value: str | None, name: str) -> dt.datetime | None:
    """An RFC 3339 timestamp as UTC (clamped at the ends of Python's range); else `<name> is invalid`."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(name) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.timezone.utc)
    try:
        return parsed.astimezone(dt.timezone.utc)
    except OverflowError:
        edge = dt.datetime.min if parsed.year == 1 else dt.datetime.max
        return edge.replace(tzinfo=dt.timezone.utc)


def paginated(ctx: RequestContext, items: Sequence[Any], *, path: str, page: int, per_page: int,
              total: int | None = None, already_sliced: bool = False) -> Reply:  # fmt: skip
    """A GitLab page: the items of `page` plus X-Total, X-Page, ... and a Link header (`path` under /api/v4)."""
    total = len(items) if total is None else total
    pages = max(1, math.ceil(total / per_page))
    body = list(items) if already_sliced else list(items[(page - 1) * per_page: page * per_page])
    host = ctx.headers.get("host") or base_url(ctx).split("://", 1)[-1]
    scheme = ctx.headers.get("x-forwarded-proto", "http")
    path = "/api/v4" + path

    def link(number: int, rel: str) -> str:
        query = {key: values[-1] for key, values in ctx.query.items() if key not in ("page", "per_page", "private_token")}
        query.update(page=number, per_page=per_page)
        return f'<{scheme}://{host}{path}?{urlencode(query)}>; rel="{rel}"'

    links = []
    if page < pages:
        links.append(link(page + 1, "next"))
    if page > 1:
        links.append(link(page - 1, "prev"))
    links += [link(1, "first"), link(pages, "last")]
    headers = {
        "X-Total": str(total), "X-Total-Pages": str(pages), "X-Page": str(page), "X-Per-Page": str(per_page),
        "X-Next-Page": str(page + 1) if page < pages else "", "X-Prev-Page": str(page - 1) if page > 1 else "",
        "Link": ", ".join(links),
    }  # fmt: skip
    return Reply(body=body, headers=headers)


# --- entity encoders shared by several tags ----------------------------------------------------


def user_web_url(ctx: RequestContext, username: str) -> str:
    return f"{base_url(ctx)}/{username}"


def namespace_web_url(ctx: RequestContext, namespace: Namespace) -> str:
    if namespace.kind == "user":
        return f"{base_url(ctx)}/{namespace.path}"
    return f"{base_url(ctx)}/groups/{namespace.full_path}"


def namespace_basic(ctx: RequestContext, namespace: Namespace) -> models.NamespaceBasic:
    return models.NamespaceBasic(
        id=namespace.id, name=namespace.name, path=namespace.path, kind=namespace.kind, full_path=namespace.full_path,
        parent_id=namespace.parent_id, avatar_url=None, web_url=namespace_web_url(ctx, namespace),
    )  # fmt: skip


def user_out(ctx: RequestContext, user: User, namespace_id: int | None, *, two_factor_enabled: bool = False) -> dict:
    return dump(models.User(
        id=user.id, username=user.username, name=user.name, state=user.state, locked=False, avatar_url=None,
        web_url=user_web_url(ctx, user.username), created_at=user.created_at, bot=user.bot, public_email=None,
        email=user.email, is_admin=user.admin, namespace_id=namespace_id, can_create_group=True,
        two_factor_enabled=two_factor_enabled, external=False,
    ))  # fmt: skip


def member_out(ctx: RequestContext, member: Member) -> dict:
    user = member.user
    return dump(models.Member(
        id=user.id, username=user.username, name=user.name, state=user.state, locked=False, avatar_url=None,
        web_url=user_web_url(ctx, user.username), access_level=member.access_level, created_at=member.created_at,
        expires_at=member.expires_at, membership_state="active",
    ))  # fmt: skip


def project_out(ctx: RequestContext, project: Project, namespace_names: list[str] | None = None) -> dict:
    """`namespace_names`: the names from the root namespace down to the project's (for `name_with_namespace`)."""
    base = base_url(ctx)
    host = base.split("://", 1)[-1].split("/")[0].split(":")[0]
    return dump(models.Project(
        id=project.id, description=project.description, name=project.name, name_with_namespace=" / ".join([*(namespace_names or [project.namespace.name]), project.name]),
        path=project.path, path_with_namespace=project.full_path, created_at=project.created_at,
        default_branch=project.default_branch, visibility=project.visibility, web_url=f"{base}/{project.full_path}",
        ssh_url_to_repo=f"git@{host}:{project.full_path}.git", http_url_to_repo=f"{base}/{project.full_path}.git",
        namespace=namespace_basic(ctx, project.namespace), archived=project.archived, creator_id=project.creator_id,
    ))  # fmt: skip


def project_full(ctx: RequestContext, project: Project) -> dict:
    """The project, `name_with_namespace` naming the whole namespace chain."""
    from domain.gitlab.namespaces import NamespaceService

    chain = NamespaceService(ctx.session).repository.ancestors(project.namespace)
    return project_out(ctx, project, [namespace.name for namespace in reversed(chain)])
