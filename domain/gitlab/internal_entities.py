"""The REST v4 entities only the internal API needs (ruling 23): project deploy keys (`can_push`),
protected branches (push/merge access levels, `allow_force_push`), broadcast messages, cluster agents
and their tokens, and the admin-only two-factor extension. GitLab's rules and messages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.errors import ConflictError, NotFoundError
from domain.gitlab.entities import EntityReader, Project
from domain.gitlab.users import ParsedKey, model_error

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from storage.gitlab_internal import (
        BroadcastMessage,
        ClusterAgent,
        ClusterAgentToken,
        DeployKeyLink,
        ProtectedBranchRecord,
    )

PUSH_LEVELS = (0, 30, 40, 60)
LEVEL_DESCRIPTIONS = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
BROADCAST_COLOR = "#E75E40"
BROADCAST_FONT = "#FFFFFF"
AGENT_TOKEN_PREFIX = "glagent-"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewAgentToken:
    token: ClusterAgentToken
    secret: str


class InternalEntityService:
    def __init__(self, session: Session):
        from storage.gitlab_internal import GitlabInternalRepository

        self.entities = EntityReader(session)
        self.repository = GitlabInternalRepository(session)

    def project(self, id_or_path: str | int) -> Project:
        project = self.entities.project(id_or_path)
        if project is None:
            raise NotFoundError("project not found", resource="Project")
        return project

    # --- deploy keys ---
    def deploy_keys(self, project: Project) -> list[DeployKeyLink]:
        return self.repository.deploy_key_links(project.id)

    def deploy_key(self, project: Project, key_id: int) -> DeployKeyLink:
        link = self.repository.deploy_key_link(key_id, project.id)
        if link is None:
            raise NotFoundError("deploy key not found", resource="Deploy Key")
        return link

    def add_deploy_key(self, project: Project, *, title: str, key: str, can_push: bool, expires_at: dt.datetime | None,
                       user_id: int | None, now: dt.datetime) -> DeployKeyLink:  # fmt: skip
        """GitLab reuses a deploy key already known by its key text and enables it for the project."""
        parsed = ParsedKey(key)
        if not parsed.valid:
            raise model_error(key=["is invalid"], fingerprint_sha256=["cannot be generated"])
        existing = self.repository.deploy_key_by_fingerprint(sha256=parsed.fingerprint_sha256)
        if existing is None:
            if self.entities.ssh_key_by_fingerprint(parsed.fingerprint_sha256) is not None:
                raise ConflictError("key taken", body={"message": {"fingerprint_sha256": ["has already been taken"]}})
            if expires_at is not None and expires_at <= now:
                raise model_error(expires_at=["must be in the future"])
            existing = self.repository.add_deploy_key(
                user_id=user_id, title=title, key=parsed.normalized, md5=parsed.fingerprint_md5,
                sha256=parsed.fingerprint_sha256, expires_at=expires_at, now=now,
            )  # fmt: skip
        elif self.repository.deploy_key_link(existing.id, project.id) is not None:
            return self.repository.deploy_key_link(existing.id, project.id)  # type: ignore[return-value]
        self.repository.link_deploy_key(existing.id, project.id, can_push=can_push, now=now)
        return self.deploy_key(project, existing.id)

    def enable_deploy_key(self, project: Project, key_id: int, *, now: dt.datetime) -> DeployKeyLink:
        if self.repository.deploy_key(key_id) is None:
            raise NotFoundError("deploy key not found", resource="Deploy Key")
        if self.repository.deploy_key_link(key_id, project.id) is None:
            self.repository.link_deploy_key(key_id, project.id, can_push=False, now=now)
        return self.deploy_key(project, key_id)

    def update_deploy_key(self, project: Project, key_id: int, *, title: str | None, can_push: bool | None,
                          now: dt.datetime) -> DeployKeyLink:  # fmt: skip
        link = self.deploy_key(project, key_id)
        if title is not None:
            self.repository.update_deploy_key_title(key_id, title)
        if can_push is not None:
            self.repository.link_deploy_key(key_id, project.id, can_push=can_push, now=now)
        return self.deploy_key(project, link.key.id)

    def remove_deploy_key(self, project: Project, key_id: int) -> None:
        """Disables the key for the project; a key no project uses any more is deleted (as GitLab does)."""
        self.deploy_key(project, key_id)
        self.repository.unlink_deploy_key(key_id, project.id)
        if self.repository.count_deploy_key_links(key_id) == 0:
            self.repository.delete_deploy_key(key_id)

    # --- protected branches ---
    def protected_branches(self, project: Project) -> list[ProtectedBranchRecord]:
        return self.repository.protected_branches(project.id)

    def protected_branch(self, project: Project, name: str) -> ProtectedBranchRecord:
        found = self.repository.protected_branch(project.id, name)
        if found is None:
            raise NotFoundError("protected branch not found", resource="Protected Branch")
        return found

    def protect_branch(self, project: Project, *, name: str, push_level: int, merge_level: int, allow_force_push: bool,
                       now: dt.datetime) -> ProtectedBranchRecord:  # fmt: skip
        if self.repository.protected_branch(project.id, name) is not None:
            raise ConflictError("exists", body={"message": f"Protected branch '{name}' already exists"})
        return self.repository.add_protected_branch(project_id=project.id, name=name, push=[push_level],
                                                    merge=[merge_level], allow_force_push=allow_force_push, now=now)  # fmt: skip

    def update_protected_branch(self, project: Project, name: str, changes: dict[str, Any]) -> ProtectedBranchRecord:
        branch = self.protected_branch(project, name)
        values: dict[str, Any] = {}
        if changes.get("allow_force_push") is not None:
            values["allow_force_push"] = bool(changes["allow_force_push"])
        if changes.get("push_access_level") is not None:
            values["push_access_levels"] = [int(changes["push_access_level"])]
        if changes.get("merge_access_level") is not None:
            values["merge_access_levels"] = [int(changes["merge_access_level"])]
        return self.repository.update_protected_branch(branch.id, **values) if values else branch

    def unprotect_branch(self, project: Project, name: str) -> None:
        self.repository.delete_protected_branch(self.protected_branch(project, name).id)

    # --- broadcast messages ---
    def broadcasts(self) -> list[BroadcastMessage]:
        return self.repository.broadcasts()

    def broadcast(self, message_id: int) -> BroadcastMessage:
        found = self.repository.broadcast(message_id)
        if found is None:
            raise NotFoundError("broadcast message not found", resource="Broadcast Message")
        return found

    def add_broadcast(self, *, message: str, starts_at: dt.datetime | None, ends_at: dt.datetime | None,
                      color: str | None, font: str | None, target_path: str | None, broadcast_type: str | None,
                      dismissable: bool | None, now: dt.datetime) -> BroadcastMessage:  # fmt: skip
        starts = starts_at or now
        if ends_at is None:
            ceiling = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
            ends_at = starts + dt.timedelta(hours=1) if starts < ceiling - dt.timedelta(hours=1) else ceiling
        ends = ends_at
        return self.repository.add_broadcast(
            now, message=message, starts_at=starts, ends_at=ends, color=color or BROADCAST_COLOR,
            font=font or BROADCAST_FONT, target_path=target_path or None, broadcast_type=broadcast_type or "banner",
            dismissable=bool(dismissable),
        )  # fmt: skip

    def update_broadcast(self, message_id: int, changes: dict[str, Any]) -> BroadcastMessage:
        current = self.broadcast(message_id)
        values = {name: value for name, value in changes.items() if value is not None}
        if "target_path" in values and values["target_path"] == "":
            values["target_path"] = None
        return self.repository.update_broadcast(message_id, **values) if values else current

    def delete_broadcast(self, message_id: int) -> None:
        self.broadcast(message_id)
        self.repository.delete_broadcast(message_id)

    # --- cluster agents ---
    def agents(self, project: Project) -> list[ClusterAgent]:
        return self.repository.agents(project.id)

    def agent(self, project: Project, agent_id: int) -> ClusterAgent:
        found = self.repository.agent(agent_id)
        if found is None or found.project_id != project.id:
            raise NotFoundError("agent not found", resource="Agent")
        return found

    def add_agent(self, project: Project, *, name: str, user_id: int | None, now: dt.datetime) -> ClusterAgent:
        if self.repository.agent_by_name(project.id, name) is not None:
            raise model_error(name=["has already been taken"])
        return self.repository.add_agent(project_id=project.id, name=name, user_id=user_id, now=now)

    def delete_agent(self, project: Project, agent_id: int) -> None:
        self.repository.delete_agent(self.agent(project, agent_id).id)

    def agent_tokens(self, project: Project, agent_id: int) -> list[ClusterAgentToken]:
        return self.repository.agent_tokens(self.agent(project, agent_id).id)

    def agent_token(self, project: Project, agent_id: int, token_id: int) -> ClusterAgentToken:
        found = self.repository.agent_token(self.agent(project, agent_id).id, token_id)
        if found is None:
            raise NotFoundError("token not found", resource="Agent Token")
        return found

    def create_agent_token(self, project: Project, agent_id: int, *, name: str, description: str | None,
                           user_id: int | None, now: dt.datetime) -> NewAgentToken:  # fmt: skip
        agent = self.agent(project, agent_id)
        secret = AGENT_TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = self.repository.add_agent_token(agent_id=agent.id, name=name, description=description,
                                                digest=token_digest(secret), user_id=user_id, now=now)  # fmt: skip
        return NewAgentToken(token, secret)

    def revoke_agent_token(self, project: Project, agent_id: int, token_id: int) -> None:
        self.repository.revoke_agent_token(self.agent_token(project, agent_id, token_id).id)

    def agent_by_token(self, secret: str, *, now: dt.datetime) -> ClusterAgent | None:
        found = self.repository.agent_by_token_digest(token_digest(secret))
        if found is None:
            return None
        agent, token_id = found
        self.repository.touch_agent_token(token_id, now)
        return agent

    # --- project rename ---
    def rename_project(self, project: Project, *, name: str | None, path: str | None, now: dt.datetime) -> Project:
        """New name and/or path; the old full path keeps leading to the project (a redirect route), as
        GitLab's redirect routes do for git remotes after a rename."""
        from domain.gitlab.namespaces import path_problem
        from domain.gitlab.users import model_conflict

        new_name = name if name is not None else project.name
        new_path = path if path is not None else project.path
        problem = path_problem(new_path)
        if problem:
            raise model_error(path=[problem])
        old_full, new_full = project.full_path, f"{project.namespace.full_path}/{new_path}"
        if new_full.lower() != old_full.lower() and self.entities.repository.full_path_taken(new_full):
            raise model_conflict(path=["has already been taken"])
        self.repository.rename_project(project.id, name=new_name, path=new_path, full_path=new_full, now=now)
        if new_full != old_full:
            self.repository.drop_redirect(new_full)
            if new_full.lower() != old_full.lower():
                self.repository.add_redirect(project.id, old_full, now)
        return self.project(project.id)

    # --- two-factor (admin-only extension) ---
    def set_two_factor(self, user_id: int, enabled: bool, *, now: dt.datetime) -> None:
        if self.entities.user(user_id) is None:
            raise NotFoundError("user not found", resource="User")
        self.repository.save_two_factor(user_id, enabled=enabled, digests=[], now=now)

    def two_factor_enabled(self, user_id: int) -> bool:
        return self.repository.two_factor(user_id)[0]
