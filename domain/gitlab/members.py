"""Group and project members, and the effective access level of a user.

A user's access to a project is the highest of:
- a direct project membership;
- a membership of the project's group or any ancestor group (inherited);
- through group sharing: when the project's group or an ancestor is shared with (invites) another
  group, that group's members (direct or inherited from its ancestors) get
  min(their level there, the link's `group_access`);
- the owner of a personal project's user namespace is its OWNER.
Expired memberships and expired links count for nothing. User state (blocked, deactivated) is not
considered here: callers decide what a blocked user may do.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from domain.errors import ConflictError, NotFoundError, ProblemCollector
from domain.gitlab.entities import ACCESS_LEVELS, MINIMAL_ACCESS, NO_ACCESS, OWNER, Member, Namespace, Project

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from storage.gitlab_entities import GitlabEntityRepository

GROUP_SOURCE = "Namespace"
PROJECT_SOURCE = "Project"


def group_access_level(repository: GitlabEntityRepository, user_id: int, group: Namespace, *, today: dt.date) -> int:
    """Direct or inherited membership of `group`, or membership of a group it is shared with (capped).

    Sharing is not transitive in GitLab: only the invited group's own (and inherited) members count.
    The storage answers it in one query (a recursive walk up the ancestry and up each invited group's)."""
    if group.kind == "user":
        return OWNER if group.owner_id == user_id else NO_ACCESS
    return repository.access_level(user_id, project_id=None, namespace_id=group.id, today=today)


def project_access_level(repository: GitlabEntityRepository, user_id: int, project: Project, *, today: dt.date) -> int:
    namespace = project.namespace
    if namespace.kind == "user":
        owner = OWNER if namespace.owner_id == user_id else NO_ACCESS
        return max(owner, repository.access_level(user_id, project_id=project.id, namespace_id=None, today=today))
    return repository.access_level(user_id, project_id=project.id, namespace_id=namespace.id, today=today)


def validate_access_level(level: int, *, source_type: str, field: str = "access_level") -> None:
    problems = ProblemCollector()
    allowed = ACCESS_LEVELS + ((MINIMAL_ACCESS,) if source_type == GROUP_SOURCE else ())
    problems.check(level in allowed, "is not included in the list", field=field)
    problems.raise_if_any()


class MemberService:
    def __init__(self, session: Session):
        from storage.gitlab_entities import GitlabEntityRepository

        self.repository = GitlabEntityRepository(session)

    def _user(self, user_id: int):
        user = self.repository.user(user_id)
        if user is None:
            raise NotFoundError(f"user {user_id} not found", resource="User")
        return user

    def list(self, source_type: str, source_id: int) -> list[Member]:
        return self.repository.members(source_type, [source_id])

    def get(self, source_type: str, source_id: int, user_id: int) -> Member:
        member = self.repository.member(source_type, source_id, user_id)
        if member is None:
            raise NotFoundError("member not found", resource="Member")
        return member

    def add(self, source_type: str, source_id: int, *, user_id: int, access_level: int, expires_at: dt.date | None,
            created_by_id: int | None, now: dt.datetime) -> Member:  # fmt: skip
        validate_access_level(access_level, source_type=source_type)
        self._user(user_id)
        if self.repository.member(source_type, source_id, user_id) is not None:
            raise ConflictError("Member already exists", body={"message": "Member already exists"})
        return self.repository.save_member(source_type=source_type, source_id=source_id, user_id=user_id,
                                           access_level=access_level, expires_at=expires_at,
                                           created_by_id=created_by_id, now=now)  # fmt: skip

    def update(self, source_type: str, source_id: int, *, user_id: int, access_level: int,
               expires_at: dt.date | None, now: dt.datetime) -> Member:  # fmt: skip
        validate_access_level(access_level, source_type=source_type)
        current = self.get(source_type, source_id, user_id)
        return self.repository.save_member(source_type=source_type, source_id=source_id, user_id=user_id,
                                           access_level=access_level, expires_at=expires_at,
                                           created_by_id=current.created_by_id, now=now)  # fmt: skip

    def remove(self, source_type: str, source_id: int, user_id: int) -> None:
        if not self.repository.delete_member(source_type, source_id, user_id):
            raise NotFoundError("member not found", resource="Member")
