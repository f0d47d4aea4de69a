"""GitLab REST v4 `Cluster Agents` and their tokens (ruling 23); tokens are stored as digests only."""

from __future__ import annotations

from typing import Any

from domain.gitlab.internal_entities import InternalEntityService
from generated.gitlab import models
from handlers.gitlab._rest import require_admin
from tollgate.context import Reply, RequestContext


def _agent(service: InternalEntityService, agent) -> models.ClusterAgent:
    project = service.project(agent.project_id)
    config = models.AgentConfigProject(id=project.id, name=project.name, path=project.path,
                                       path_with_namespace=project.full_path, created_at=project.created_at)  # fmt: skip
    return models.ClusterAgent(id=agent.id, name=agent.name, config_project=config, created_at=agent.created_at,
                               created_by_user_id=agent.created_by_user_id)  # fmt: skip


def _token(token, secret: str | None = None) -> dict[str, Any]:
    body = models.ClusterAgentToken(
        id=token.id, name=token.name, description=token.description, agent_id=token.agent_id, status=token.status,
        created_at=token.created_at, created_by_user_id=token.created_by_user_id, last_used_at=token.last_used_at,
        token=secret,
    ).model_dump(mode="json")  # fmt: skip
    if secret is None:
        body.pop("token")
    return body


def list_cluster_agents(ctx: RequestContext, *, id_: str) -> list[models.ClusterAgent]:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    return [_agent(service, agent) for agent in service.agents(service.project(id_))]


def create_cluster_agent(ctx: RequestContext, *, id_: str, body: dict[str, Any]) -> Reply:
    user_id = require_admin(ctx)
    service = InternalEntityService(ctx.session)
    agent = service.add_agent(service.project(id_), name=body["name"], user_id=user_id, now=ctx.now)
    return Reply(body=_agent(service, agent), status=201)


def get_cluster_agent(ctx: RequestContext, *, id_: str, agent_id: int) -> models.ClusterAgent:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    return _agent(service, service.agent(service.project(id_), agent_id))


def delete_cluster_agent(ctx: RequestContext, *, id_: str, agent_id: int) -> None:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    service.delete_agent(service.project(id_), agent_id)


def list_cluster_agent_tokens(ctx: RequestContext, *, id_: str, agent_id: int) -> list[dict[str, Any]]:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    return [_token(token) for token in service.agent_tokens(service.project(id_), agent_id)]


def create_cluster_agent_token(ctx: RequestContext, *, id_: str, agent_id: int, body: dict[str, Any]) -> Reply:
    user_id = require_admin(ctx)
    service = InternalEntityService(ctx.session)
    created = service.create_agent_token(service.project(id_), agent_id, name=body["name"], description=body.get("description"),
                                         user_id=user_id, now=ctx.now)  # fmt: skip
    return Reply(body=_token(created.token, created.secret), status=201)


def get_cluster_agent_token(ctx: RequestContext, *, id_: str, agent_id: int, token_id: int) -> dict[str, Any]:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    return _token(service.agent_token(service.project(id_), agent_id, token_id))


def revoke_cluster_agent_token(ctx: RequestContext, *, id_: str, agent_id: int, token_id: int) -> None:
    require_admin(ctx)
    service = InternalEntityService(ctx.session)
    service.revoke_agent_token(service.project(id_), agent_id, token_id)
