"""GitLab REST v4 `Namespaces`: a user namespace or group by id or full path (admin only)."""

from __future__ import annotations

from domain.gitlab.namespaces import NamespaceService
from generated.gitlab import models
from handlers.gitlab._rest import dump, namespace_basic, require_admin
from tollgate.context import RequestContext


def get_namespace(ctx: RequestContext, *, id_: str) -> dict:
    require_admin(ctx)
    service = NamespaceService(ctx.session)
    namespace = service.get(id_)
    fields = namespace_basic(ctx, namespace).model_dump()
    if namespace.is_group:
        fields["members_count_with_descendants"] = service.members_count_with_descendants(namespace)
    return dump(models.Namespace(**fields))
