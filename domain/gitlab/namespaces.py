"""Namespaces (user namespaces and groups), groups with subgroups, and group sharing."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from domain.errors import NotFoundError
from domain.gitlab.entities import ACCESS_LEVELS, OWNER, GroupLink, Namespace, parse_id_or_path
from domain.gitlab.members import GROUP_SOURCE
from domain.gitlab.users import model_conflict, model_error

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

# GitLab's namespace path rule, as the served spec states it: letters, digits, `_`, `-`, `.`;
# neither starting with `-` or `.` nor ending with `.`.
PATH_PATTERN = re.compile(r"^[a-zA-Z0-9_]([a-zA-Z0-9_.\-]*[a-zA-Z0-9_\-])?$")


def path_problem(path: str) -> str | None:
    if not PATH_PATTERN.match(path):
        return "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or '.', or end in '.'"
    return None


class NamespaceService:
    def __init__(self, session: Session):
        from storage.gitlab_entities import GitlabEntityRepository

        self.repository = GitlabEntityRepository(session)

    def find(self, id_or_path: str | int) -> Namespace | None:
        ref = parse_id_or_path(id_or_path)
        return self.repository.namespace(ref) if isinstance(ref, int) else self.repository.namespace_by_full_path(ref)

    def get(self, id_or_path: str | int, *, resource: str = "Namespace") -> Namespace:
        namespace = self.find(id_or_path)
        if namespace is None:
            raise NotFoundError(f"namespace {id_or_path} not found", resource=resource)
        return namespace

    def group(self, id_or_path: str | int, *, resource: str = "Group") -> Namespace:
        namespace = self.find(id_or_path)
        if namespace is None or not namespace.is_group:
            raise NotFoundError(f"group {id_or_path} not found", resource=resource)
        return namespace

    def root_of(self, namespace: Namespace) -> Namespace:
        return self.repository.ancestors(namespace)[-1]

    def create_group(self, *, name: str, path: str, parent_id: int | None, visibility: str, description: str,
                     creator_id: int | None, now: dt.datetime) -> Namespace:  # fmt: skip
        parent = None
        if parent_id is not None:
            parent = self.repository.namespace(parent_id)
            if parent is None or not parent.is_group:
                raise NotFoundError(f"parent group {parent_id} not found", resource="Parent Group")
        problem = path_problem(path)
        if problem:
            raise model_error(path=[problem])
        full_path = f"{parent.full_path}/{path}" if parent else path
        if self.repository.full_path_taken(full_path):
            raise model_conflict(path=["has already been taken"])
        group = self.repository.add_namespace(name=name, path=path, kind="group", parent=parent, owner_id=None,
                                              visibility=visibility, description=description, now=now)  # fmt: skip
        if creator_id is not None:
            # GitLab makes the creator an owner of the new group.
            self.repository.save_member(source_type=GROUP_SOURCE, source_id=group.id, user_id=creator_id,
                                        access_level=OWNER, expires_at=None, created_by_id=creator_id, now=now)  # fmt: skip
        return group

    def members_count_with_descendants(self, group: Namespace) -> int:
        """Distinct users who are direct members of the group or of any subgroup, at any access level."""
        members = self.repository.members(GROUP_SOURCE, self.repository.descendant_ids(group.id))
        return len({member.user.id for member in members})

    def subgroups(self, group: Namespace) -> list[Namespace]:
        return self.repository.subgroups(group.id)

    def list_namespaces(self, *, search: str | None = None) -> list[Namespace]:
        return self.repository.namespaces(search=search)

    def list_groups(self, *, search: str | None = None) -> list[Namespace]:
        return self.repository.groups(search=search)

    def share(self, group: Namespace, *, with_group_id: int, group_access: int, expires_at: dt.date | None,
              now: dt.datetime) -> GroupLink:  # fmt: skip
        invited = self.repository.namespace(with_group_id)
        if invited is None or not invited.is_group:
            raise NotFoundError(f"group {with_group_id} not found", resource="Group")
        if group_access not in ACCESS_LEVELS:
            raise model_error(group_access=["is not included in the list"])
        if invited.id == group.id:
            raise model_error(shared_with_group=["cannot be the same as the shared group"])
        return self.repository.upsert_group_link(shared_group_id=group.id, shared_with_group_id=invited.id,
                                                 group_access=group_access, expires_at=expires_at, now=now)  # fmt: skip

    def unshare(self, group: Namespace, with_group_id: int) -> None:
        if not self.repository.delete_group_link(group.id, with_group_id):
            raise NotFoundError("group link not found", resource="Group Link")

    def shared_with(self, group: Namespace) -> list[tuple[GroupLink, Namespace]]:
        links = self.repository.links_of_shared_groups([group.id])
        return [(link, self.repository.namespace(link.shared_with_group_id)) for link in links]
