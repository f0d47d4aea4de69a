"""GitLab REST v4 `Namespaces`: a user namespace or group by id or full path (admin only)."""

from __future__ import annotations

from domain.gitlab.namespaces import NamespaceService
from domain.gitlab.subscriptions import SubscriptionsService
from generated.gitlab import models
from handlers.gitlab._rest import dump, namespace_basic, paginated, require_admin
from tollgate.context import Reply, RequestContext


def get_namespace(ctx: RequestContext, *, id_: str) -> dict:
    require_admin(ctx)
    service = NamespaceService(ctx.session)
    namespace = service.get(id_)
    fields = namespace_basic(ctx, namespace).model_dump()
    if namespace.is_group:
        fields["members_count_with_descendants"] = service.members_count_with_descendants(namespace)
    # GitLab.com's namespace entity carries the billing fields an administrator sees.
    billing = SubscriptionsService(ctx.session).namespace_view(namespace, basic={}, now=ctx.now)
    for key in ("billable_members_count", "plan", "trial_ends_on", "trial"):
        fields[key] = billing[key]
    return dump(models.Namespace(**fields))


def list_namespaces(ctx: RequestContext, *, search: str | None = None, page: int = 1, per_page: int = 20) -> Reply:
    require_admin(ctx)
    namespaces = NamespaceService(ctx.session).list_namespaces(search=search)
    chosen = namespaces[(page - 1) * per_page: page * per_page]
    return paginated(ctx, [dump(namespace_basic(ctx, n)) for n in chosen], path="/namespaces", page=page, per_page=per_page,
                     total=len(namespaces), already_sliced=True)  # fmt: skip
