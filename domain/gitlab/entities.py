"""The GitLab entity model as plain values: users, SSH keys, namespaces, group links, projects, members.

Read services the other GitLab APIs build on (`EntityReader`):
- users by id or username, SSH keys by id or fingerprint (MD5 `aa:bb:...` or `SHA256:...`),
- namespaces and projects by id or full path (case-insensitive, as GitLab routes are),
- the effective access level of a user on a project or group (`domain.gitlab.members`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

# Access levels, as GitLab numbers them.
NO_ACCESS = 0
MINIMAL_ACCESS = 5
GUEST = 10
REPORTER = 20
DEVELOPER = 30
MAINTAINER = 40
OWNER = 50
ACCESS_LEVELS = (GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER)

VISIBILITIES = ("private", "internal", "public")
USER_STATES = ("active", "blocked", "deactivated")


@dataclass(frozen=True)
class User:
    id: int
    username: str
    name: str
    email: str
    state: str
    admin: bool
    bot: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def active(self) -> bool:
        return self.state == "active"


@dataclass(frozen=True)
class SshKey:
    id: int
    user_id: int
    title: str
    key: str
    key_type: str
    fingerprint_md5: str
    """`aa:bb:...`: MD5 of the decoded key blob, as GitLab stores `fingerprint`."""
    fingerprint_sha256: str
    """`SHA256:<unpadded base64>` as `ssh-keygen -l` prints it; GitLab stores it without the prefix."""
    usage_type: str
    expires_at: dt.datetime | None
    created_at: dt.datetime

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True)
class Namespace:
    id: int
    name: str
    path: str
    kind: str
    """`user` (a user's personal namespace) or `group`."""
    parent_id: int | None
    owner_id: int | None
    """The user of a user namespace; None for groups."""
    full_path: str
    visibility: str
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def is_group(self) -> bool:
        return self.kind == "group"

    @property
    def is_root(self) -> bool:
        return self.parent_id is None


@dataclass(frozen=True)
class GroupLink:
    """`shared_group` is shared with (invites) `shared_with_group`, whose members get at most `group_access`."""

    shared_group_id: int
    shared_with_group_id: int
    group_access: int
    expires_at: dt.date | None
    created_at: dt.datetime

    def active(self, today: dt.date) -> bool:
        return self.expires_at is None or self.expires_at > today


@dataclass(frozen=True)
class Project:
    id: int
    namespace: Namespace
    creator_id: int | None
    name: str
    path: str
    visibility: str
    description: str
    default_branch: str
    archived: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def full_path(self) -> str:
        return f"{self.namespace.full_path}/{self.path}"

    @property
    def name_with_namespace(self) -> str:
        return f"{self.namespace.name} / {self.name}"


@dataclass(frozen=True)
class Member:
    source_type: str
    """`Namespace` for group members, `Project` for project members."""
    source_id: int
    user: User
    access_level: int
    expires_at: dt.date | None
    created_by_id: int | None
    created_at: dt.datetime

    def active(self, today: dt.date) -> bool:
        return self.expires_at is None or self.expires_at > today


def parse_id_or_path(value: str | int) -> int | str:
    """GitLab's `:id`: a numeric id, else a full path (`%2F`, kept encoded by the router, is `/`)."""
    text = str(value).replace("%2F", "/").replace("%2f", "/")
    return int(text) if is_numeric_id(text) else text


def is_numeric_id(text: str) -> bool:
    """ASCII digits that fit a database integer (a longer run of digits cannot be an id)."""
    return text.isascii() and text.isdigit() and int(text) <= 2147483647


class EntityReader:
    """Read services over the entity model, for every GitLab API (internal, subscriptions, REST)."""

    def __init__(self, session: Session):
        from storage.gitlab_entities import GitlabEntityRepository

        self.repository = GitlabEntityRepository(session)

    def user(self, user_id: int) -> User | None:
        return self.repository.user(user_id)

    def user_by_username(self, username: str) -> User | None:
        return self.repository.user_by_username(username)

    def ssh_key(self, key_id: int) -> SshKey | None:
        return self.repository.key(key_id)

    def ssh_key_with_owner(self, key_id: int) -> tuple[SshKey | None, User | None]:
        """A user SSH key and its owner (one read)."""
        return self.repository.key_and_owner(key_id)

    def ssh_key_by_fingerprint(self, fingerprint: str) -> SshKey | None:
        """By MD5 (`aa:bb:..`) or SHA256 (`SHA256:...`) fingerprint."""
        return self.repository.key_by_fingerprint(fingerprint)

    def namespace(self, id_or_path: str | int) -> Namespace | None:
        ref = parse_id_or_path(id_or_path)
        return self.repository.namespace(ref) if isinstance(ref, int) else self.repository.namespace_by_full_path(ref)

    def project(self, id_or_path: str | int) -> Project | None:
        ref = parse_id_or_path(id_or_path)
        return self.repository.project(ref) if isinstance(ref, int) else self.repository.project_by_full_path(ref)

    def project_with_access_level(self, id_or_path: str | int, user_id: int, *, today: dt.date) -> tuple[Project | None, int]:
        """`project(id_or_path)` and `project_access_level(user_id, it)` in one read."""
        ref = parse_id_or_path(id_or_path)
        project, level = self.repository.project_with_access_level(ref, user_id, today=today)
        if project is not None and project.namespace.kind == "user" and project.namespace.owner_id == user_id:
            level = max(level, OWNER)
        return project, level

    def project_access_level(self, user_id: int, project: Project, *, today: dt.date) -> int:
        from domain.gitlab.members import project_access_level

        return project_access_level(self.repository, user_id, project, today=today)

    def group_access_level(self, user_id: int, group: Namespace, *, today: dt.date) -> int:
        from domain.gitlab.members import group_access_level

        return group_access_level(self.repository, user_id, group, today=today)
