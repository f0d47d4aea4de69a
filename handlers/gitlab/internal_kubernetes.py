"""GitLab `Internal Kubernetes` operations: the API kas calls (kas JWT, then the agent token)."""

from __future__ import annotations

from typing import Any

from domain.gitlab.kubernetes import KasService
from generated.gitlab import models
from tollgate.context import RequestContext


def internal_kubernetes_agent_info(ctx: RequestContext) -> models.KasAgentInfo:
    service = KasService(ctx.session)
    agent = service.agent(ctx.headers.get("Authorization"), now=ctx.now)
    return models.KasAgentInfo.model_validate(service.agent_info(agent))


def internal_kubernetes_project_info(ctx: RequestContext, *, id_: str) -> models.KasProjectInfo:
    service = KasService(ctx.session)
    agent = service.agent(ctx.headers.get("Authorization"), now=ctx.now)
    return models.KasProjectInfo.model_validate(service.project_info(agent, id_))


def internal_kubernetes_usage_metrics(ctx: RequestContext, *, body: dict[str, Any] | None = None) -> None:
    KasService(ctx.session).count_usage(body or {})


def internal_kubernetes_cilium_alert(ctx: RequestContext, *, body: dict[str, Any]) -> dict[str, Any]:
    service = KasService(ctx.session)
    agent = service.agent(ctx.headers.get("Authorization"), now=ctx.now)
    service.cilium_alert(agent, body["alert"], now=ctx.now)
    return {}
