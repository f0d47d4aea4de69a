"""GitLab `Internal` operations: the API GitLab Shell and Gitaly call (shared-secret auth)."""

from __future__ import annotations

from generated.gitlab import models
from tollgate.context import RequestContext

GITLAB_VERSION = "13.10.0-tollgate"
GITLAB_REVISION = "tollgate"


def internal_check(ctx: RequestContext) -> models.InstanceCheck:
    # GitLab reports whether Redis answers a ping; Tollgate keeps that state in its database.
    return models.InstanceCheck(
        api_version="v4", gitlab_version=GITLAB_VERSION, gitlab_rev=GITLAB_REVISION, redis=ctx.database.ping()
    )
