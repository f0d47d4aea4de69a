"""kas (GitLab Kubernetes Agent Server) internal API: agent tokens, project access for GitOps sync,
usage counters and Cilium alerts. shared/reference/gitlab-internal.md section 12; ruling 17.

The kas JWT is verified by the security layer (`tollgate.auth.gitlab_kas_jwt`, 401); this module
resolves the agent token (403 when missing or unknown).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any, Mapping

from domain.errors import ForbiddenError, NotFoundError, ValidationError
from domain.gitlab.entities import EntityReader, Project
from domain.gitlab.internal import GITALY_ADDRESS, STORAGE_NAME, hashed_path
from domain.gitlab.internal_entities import InternalEntityService

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from storage.gitlab_internal import ClusterAgent

USAGE_COUNTERS = {"gitops_sync_count": "gitops_sync", "k8s_api_proxy_request_count": "k8s_api_proxy_request"}
MAX_ALERT_BYTES = 1024 * 1024
MAX_ALERT_DEPTH = 20


def agent_token_from(authorization: str | None) -> str | None:
    """`Bearer <token>` or `Token token=<token>` (GitLab's token finders accept both)."""
    if not authorization:
        return None
    kind, _, rest = authorization.strip().partition(" ")
    rest = rest.strip()
    if kind.lower() == "bearer" and rest:
        return rest
    if kind.lower() == "token" and rest.startswith("token="):
        return rest[len("token="):].strip('"') or None
    return None


def _depth(value: Any, level: int = 1) -> int:
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level)
    return level


class KasService:
    def __init__(self, session: Session):
        self.entities = EntityReader(session)
        self.internal = InternalEntityService(session)

    def agent(self, authorization: str | None, *, now: dt.datetime) -> ClusterAgent:
        secret = agent_token_from(authorization)
        agent = self.internal.agent_by_token(secret, now=now) if secret else None
        if agent is None:
            raise ForbiddenError("agent token", body={"message": "403 Forbidden"})
        return agent

    @staticmethod
    def gitaly(project: Project) -> tuple[dict[str, Any], dict[str, Any]]:
        info = {"address": GITALY_ADDRESS, "token": None, "features": {}}
        repository = {"storage_name": STORAGE_NAME, "relative_path": hashed_path(project.id) + ".git",
                      "gl_repository": f"project-{project.id}", "gl_project_path": project.full_path}  # fmt: skip
        return info, repository

    def agent_info(self, agent: ClusterAgent) -> dict[str, Any]:
        project = self.entities.project(agent.project_id)
        if project is None:
            raise NotFoundError("project", body={"message": "404 Not Found"})
        info, repository = self.gitaly(project)
        return {"project_id": project.id, "agent_id": agent.id, "agent_name": agent.name, "gitaly_info": info,
                "gitaly_repository": repository}  # fmt: skip

    def project_info(self, agent: ClusterAgent, id_or_path: str) -> dict[str, Any]:
        project = self.entities.project(id_or_path)
        if project is None or not (project.visibility == "public" or project.id == agent.project_id):
            raise NotFoundError("project", body={"message": "404 Not Found"})
        info, repository = self.gitaly(project)
        return {"project_id": project.id, "gitaly_info": info, "gitaly_repository": repository}

    def count_usage(self, amounts: Mapping[str, int | None]) -> None:
        for parameter, counter in USAGE_COUNTERS.items():
            amount = amounts.get(parameter)
            if amount is None or amount == 0:
                continue
            if amount < 0:
                event = parameter.removesuffix("_count")
                raise ValidationError(event, body={"message": f"400 Bad request - {event} count must be greater than or equal to zero"})
            self.internal.repository.increment_counter(counter, amount)

    def usage_counters(self) -> dict[str, int]:
        return self.internal.repository.counters()

    def cilium_alert(self, agent: ClusterAgent, alert: dict[str, Any], *, now: dt.datetime) -> int:
        project = self.entities.project(agent.project_id)
        if project is None:
            raise NotFoundError("project", body={"message": "404 Not Found"})
        encoded = json.dumps(alert, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if len(encoded.encode("utf-8")) > MAX_ALERT_BYTES or _depth(alert) > MAX_ALERT_DEPTH:
            raise ValidationError("payload", body={"message": "400 Bad request - The payload is too big"})
        basis = str(alert["fingerprint"]) if alert.get("fingerprint") not in (None, "") else encoded
        fingerprint = hashlib.sha1(basis.encode("utf-8"), usedforsecurity=False).hexdigest()
        repository = self.internal.repository
        open_alert = repository.open_alert(project.id, fingerprint)
        if open_alert is not None:
            repository.add_alert_event(open_alert, now)
            return open_alert
        title = alert.get("title") if isinstance(alert.get("title"), str) and alert.get("title").strip() else "New: Alert"
        return repository.add_alert(project_id=project.id, agent_id=agent.id, fingerprint=fingerprint, title=title[:255],
                                    payload=alert, now=now)  # fmt: skip

    def alerts(self, project_id: int) -> list[dict[str, Any]]:
        return self.internal.repository.alerts(project_id)
