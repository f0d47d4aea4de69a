"""The GitLab entity model: SSH keys, namespaces (user namespaces and groups), group sharing,
projects and members. Users and personal access tokens live in `storage.gitlab_identity`.

Repositories return the frozen dataclasses of `domain.gitlab.entities`; nothing outside
`storage/` sees a row.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    case,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

from domain.errors import ConflictError
from domain.gitlab.entities import GroupLink, Member, Namespace, Project, SshKey, User
from storage.base import Base
from storage.gitlab_identity import GitlabUserRow, PersonalAccessTokenRow
from storage.types import UtcDateTime


class SshKeyRow(Base):
    __tablename__ = "gl_ssh_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("gl_users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(Text)
    key_type: Mapped[str] = mapped_column(String(64))
    fingerprint_md5: Mapped[str] = mapped_column(String(64), index=True)
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    usage_type: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class NamespaceRow(Base):
    __tablename__ = "gl_namespaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("gl_namespaces.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("gl_users.id", ondelete="CASCADE"), index=True)
    full_path: Mapped[str] = mapped_column(String(1024))
    full_path_lower: Mapped[str] = mapped_column(String(1024), unique=True)
    visibility: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class GroupLinkRow(Base):
    __tablename__ = "gl_group_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shared_group_id: Mapped[int] = mapped_column(ForeignKey("gl_namespaces.id", ondelete="CASCADE"), index=True)
    shared_with_group_id: Mapped[int] = mapped_column(ForeignKey("gl_namespaces.id", ondelete="CASCADE"), index=True)
    group_access: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("shared_group_id", "shared_with_group_id"),)


class ProjectRow(Base):
    __tablename__ = "gl_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("gl_namespaces.id", ondelete="CASCADE"), index=True)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("gl_users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(String(255))
    full_path_lower: Mapped[str] = mapped_column(String(1024), unique=True)
    visibility: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    default_branch: Mapped[str] = mapped_column(String(255))
    archived: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class MemberRow(Base):
    __tablename__ = "gl_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_type: Mapped[str] = mapped_column(String(16))
    """`Namespace` (group members) or `Project`."""
    source_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("gl_users.id", ondelete="CASCADE"), index=True)
    access_level: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("gl_users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("source_type", "source_id", "user_id"),
        Index("ix_gl_members_source", "source_type", "source_id"),
    )


def flush_new(session: Session, row: Base, conflict: dict) -> None:
    """Insert `row`; a unique constraint a concurrent request won (PostgreSQL, READ COMMITTED) is a
    409 with GitLab's body `conflict`, not a 500. The request's transaction stays usable."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise ConflictError("conflicting concurrent write", body=conflict) from None


# --- mapping -------------------------------------------------------------------------------------


def user_from_row(row: GitlabUserRow) -> User:
    return User(
        id=row.id, username=row.username, name=row.name, email=row.email, state=row.state, admin=row.admin,
        bot=row.bot, created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


def _key(row: SshKeyRow) -> SshKey:
    return SshKey(
        id=row.id, user_id=row.user_id, title=row.title, key=row.key, key_type=row.key_type,
        fingerprint_md5=row.fingerprint_md5, fingerprint_sha256=row.fingerprint_sha256, usage_type=row.usage_type,
        expires_at=row.expires_at, created_at=row.created_at,
    )  # fmt: skip


def _namespace(row: NamespaceRow) -> Namespace:
    return Namespace(
        id=row.id, name=row.name, path=row.path, kind=row.kind, parent_id=row.parent_id, owner_id=row.owner_id,
        full_path=row.full_path, visibility=row.visibility, description=row.description,
        created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


def _project(row: ProjectRow, namespace: Namespace) -> Project:
    return Project(
        id=row.id, namespace=namespace, creator_id=row.creator_id, name=row.name, path=row.path,
        visibility=row.visibility, description=row.description, default_branch=row.default_branch,
        archived=row.archived, created_at=row.created_at, updated_at=row.updated_at,
    )  # fmt: skip


def _member(row: MemberRow, user: GitlabUserRow) -> Member:
    return Member(
        source_type=row.source_type, source_id=row.source_id, user=user_from_row(user), access_level=row.access_level,
        expires_at=row.expires_at, created_by_id=row.created_by_id, created_at=row.created_at,
    )  # fmt: skip


# Plain columns for the hot read paths (`/internal/allowed`): one joined row instead of ORM objects
# and a second round trip. Mapped attributes (not bare table columns) keep the session's autoflush.
_USER_COLUMNS = (GitlabUserRow.id, GitlabUserRow.username, GitlabUserRow.name, GitlabUserRow.email, GitlabUserRow.state,
                 GitlabUserRow.admin, GitlabUserRow.bot, GitlabUserRow.created_at, GitlabUserRow.updated_at)  # fmt: skip
_KEY_COLUMNS = (SshKeyRow.id, SshKeyRow.user_id, SshKeyRow.title, SshKeyRow.key, SshKeyRow.key_type, SshKeyRow.fingerprint_md5,
                SshKeyRow.fingerprint_sha256, SshKeyRow.usage_type, SshKeyRow.expires_at, SshKeyRow.created_at)  # fmt: skip
_NAMESPACE_COLUMNS = (NamespaceRow.id, NamespaceRow.name, NamespaceRow.path, NamespaceRow.kind, NamespaceRow.parent_id,
                      NamespaceRow.owner_id, NamespaceRow.full_path, NamespaceRow.visibility, NamespaceRow.description,
                      NamespaceRow.created_at, NamespaceRow.updated_at)  # fmt: skip
_PROJECT_COLUMNS = (ProjectRow.id, ProjectRow.creator_id, ProjectRow.name, ProjectRow.path, ProjectRow.visibility,
                    ProjectRow.description, ProjectRow.default_branch, ProjectRow.archived, ProjectRow.created_at,
                    ProjectRow.updated_at)  # fmt: skip
_PROJECT_WITH_NAMESPACE = select(*_PROJECT_COLUMNS, *_NAMESPACE_COLUMNS).join(NamespaceRow, NamespaceRow.id == ProjectRow.namespace_id)


def _project_from_columns(row) -> Project:
    p, n = len(_PROJECT_COLUMNS), len(_NAMESPACE_COLUMNS)
    namespace = Namespace(*row[p:p + n])
    return Project(row[0], namespace, *row[1:p])


def _access_level_select(*, project_ref=None, anchor=None):
    """The effective access level of `:user_id` on `:today` (see `domain.gitlab.members`) in one statement:
    the active direct membership of the project `project_ref` (an expression: a parameter, or the column
    of an enclosing query); active memberships of the group `anchor` selects (`id`, `parent_id`) and its
    ancestors (recursive CTE); and, through every active link sharing one of those groups with another
    group, the active memberships of that group and its ancestors, capped at the link's `group_access`.
    UNION (not UNION ALL) in the CTEs also ends the walk should the parent chain ever loop."""
    user_id, today = bindparam("user_id", type_=Integer), bindparam("today", type_=Date)

    def active(column):
        return or_(column.is_(None), column > today)

    member = aliased(MemberRow)
    parts = []
    if project_ref is not None:
        parts.append(select(member.access_level.label("level")).where(
            member.source_type == "Project", member.source_id == project_ref, member.user_id == user_id,
            active(member.expires_at)))  # fmt: skip
    if anchor is not None:
        chain = anchor.cte("access_chain", recursive=True)
        parent = aliased(NamespaceRow)
        chain = chain.union(select(parent.id, parent.parent_id).join(chain, parent.id == chain.c.parent_id))
        invited_group = aliased(NamespaceRow)
        invited = (
            select(GroupLinkRow.group_access.label("cap"), invited_group.id.label("id"), invited_group.parent_id.label("parent_id"))
            .join(invited_group, invited_group.id == GroupLinkRow.shared_with_group_id)
            .where(GroupLinkRow.shared_group_id.in_(select(chain.c.id)), active(GroupLinkRow.expires_at))
            .cte("access_invited", recursive=True)
        )  # fmt: skip
        above = aliased(NamespaceRow)
        invited = invited.union(select(invited.c.cap, above.id, above.parent_id).join(invited, above.id == invited.c.parent_id))
        parts.append(select(member.access_level.label("level")).where(
            member.source_type == "Namespace", member.source_id.in_(select(chain.c.id)), member.user_id == user_id,
            active(member.expires_at)))  # fmt: skip
        capped = case((member.access_level < invited.c.cap, member.access_level), else_=invited.c.cap)
        parts.append(select(capped.label("level")).join(invited, invited.c.id == member.source_id).where(
            member.source_type == "Namespace", member.user_id == user_id, active(member.expires_at)))  # fmt: skip
    levels = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("levels")
    return select(func.max(levels.c.level))


def _access_level_query(*, project: bool, namespace: bool):
    anchor = None
    if namespace:
        anchor = select(NamespaceRow.id.label("id"), NamespaceRow.parent_id.label("parent_id")).where(
            NamespaceRow.id == bindparam("namespace_id", type_=Integer))  # fmt: skip
    return _access_level_select(project_ref=bindparam("project_id", type_=Integer) if project else None, anchor=anchor)


def _project_access_query(*, by_path: bool):
    """A project, its namespace and the effective access level of `:user_id` there, in one statement.
    The group walk starts at the project's namespace when that is a group (a personal namespace's owner
    is the caller's business, as in `domain.gitlab.members.project_access_level`)."""
    lookup = aliased(ProjectRow)
    path, number = bindparam("full_path", type_=String), bindparam("lookup_id", type_=Integer)
    key = ProjectRow.full_path_lower == path if by_path else ProjectRow.id == number
    lookup_key = lookup.full_path_lower == path if by_path else lookup.id == number
    anchor = (
        select(NamespaceRow.id.label("id"), NamespaceRow.parent_id.label("parent_id"))
        .join(lookup, lookup.namespace_id == NamespaceRow.id)
        .where(lookup_key, NamespaceRow.kind == "group")
    )  # fmt: skip
    # The project by its key again, not the outer row: correlation does not reach into the derived table.
    project_ref = select(lookup.id).where(lookup_key).correlate(None).scalar_subquery()
    level = _access_level_select(project_ref=project_ref, anchor=anchor).scalar_subquery()
    return _PROJECT_WITH_NAMESPACE.add_columns(level).where(key)


_PROJECT_ACCESS_QUERIES = {by_path: _project_access_query(by_path=by_path) for by_path in (True, False)}


_ACCESS_LEVEL_QUERIES = {
    (project, namespace): _access_level_query(project=project, namespace=namespace)
    for project in (True, False) for namespace in (True, False) if project or namespace
}  # fmt: skip


def _link(row: GroupLinkRow) -> GroupLink:
    return GroupLink(
        shared_group_id=row.shared_group_id, shared_with_group_id=row.shared_with_group_id,
        group_access=row.group_access, expires_at=row.expires_at, created_at=row.created_at,
    )  # fmt: skip


class GitlabEntityRepository:
    """Every read and write of the entity model (one repository: the entities reference each other)."""

    def __init__(self, session: Session):
        self.session = session

    # --- users ---------------------------------------------------------------------------------
    def user(self, user_id: int) -> User | None:
        row = self.session.get(GitlabUserRow, user_id)
        return user_from_row(row) if row else None

    def key_and_owner(self, key_id: int) -> tuple[SshKey | None, User | None]:
        """An SSH key and the user it belongs to, in one query."""
        row = self.session.execute(
            select(*_KEY_COLUMNS, *_USER_COLUMNS).outerjoin(GitlabUserRow, GitlabUserRow.id == SshKeyRow.user_id)
            .where(SshKeyRow.id == key_id)
        ).first()  # fmt: skip
        if row is None:
            return None, None
        k = len(_KEY_COLUMNS)
        return SshKey(*row[:k]), (User(*row[k:]) if row[k] is not None else None)

    def user_by_username(self, username: str) -> User | None:
        row = self.session.scalars(select(GitlabUserRow).where(func.lower(GitlabUserRow.username) == username.lower())).first()
        return user_from_row(row) if row else None

    def user_by_email(self, email: str) -> User | None:
        row = self.session.scalars(select(GitlabUserRow).where(func.lower(GitlabUserRow.email) == email.lower())).first()
        return user_from_row(row) if row else None

    def users(self, *, username: str | None = None, search: str | None = None, active: bool | None = None,
              blocked: bool | None = None, offset: int = 0, limit: int | None = None) -> tuple[list[User], int]:  # fmt: skip
        query = select(GitlabUserRow)
        if username is not None:
            query = query.where(func.lower(GitlabUserRow.username) == username.lower())
        if search:
            pattern = f"%{search.lower()}%"
            query = query.where(or_(func.lower(GitlabUserRow.username).like(pattern), func.lower(GitlabUserRow.name).like(pattern),
                                    func.lower(GitlabUserRow.email) == search.lower()))  # fmt: skip
        if active:
            query = query.where(GitlabUserRow.state == "active")
        if blocked:
            query = query.where(GitlabUserRow.state == "blocked")
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        query = query.order_by(GitlabUserRow.id.desc()).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return [user_from_row(row) for row in self.session.scalars(query)], total

    def add_user(self, *, username: str, name: str, email: str, admin: bool, bot: bool, now: dt.datetime) -> User:
        row = GitlabUserRow(username=username, name=name, email=email, admin=admin, bot=bot, state="active",
                            created_at=now, updated_at=now)  # fmt: skip
        flush_new(self.session, row, {"message": "Username has already been taken"})
        return user_from_row(row)

    def update_user(self, user_id: int, *, now: dt.datetime, **changes) -> User:
        row = self.session.get(GitlabUserRow, user_id, with_for_update=True)
        try:
            with self.session.begin_nested():
                for name, value in changes.items():
                    setattr(row, name, value)
                row.updated_at = now
                self.session.flush()
        except IntegrityError:
            raise ConflictError("username taken meanwhile", body={"message": "Username has already been taken"}) from None
        return user_from_row(row)

    # --- personal access tokens ----------------------------------------------------------------
    def add_token(self, *, user_id: int, name: str, digest: str, scopes: list[str], expires_at: dt.date | None,
                  now: dt.datetime) -> dict:  # fmt: skip
        row = PersonalAccessTokenRow(user_id=user_id, name=name, token_digest=digest, scopes=scopes, expires_at=expires_at,
                                     revoked=False, created_at=now)  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return self._token(row)

    @staticmethod
    def _token(row: PersonalAccessTokenRow) -> dict:
        return {"id": row.id, "user_id": row.user_id, "name": row.name, "scopes": list(row.scopes or []),
                "expires_at": row.expires_at, "revoked": row.revoked, "created_at": row.created_at}  # fmt: skip

    def tokens(self, user_id: int | None) -> list[dict]:
        query = select(PersonalAccessTokenRow).order_by(PersonalAccessTokenRow.id)
        if user_id is not None:
            query = query.where(PersonalAccessTokenRow.user_id == user_id)
        return [self._token(row) for row in self.session.scalars(query)]

    def token(self, token_id: int) -> dict | None:
        row = self.session.get(PersonalAccessTokenRow, token_id)
        return self._token(row) if row else None

    def revoke_token(self, token_id: int) -> None:
        row = self.session.get(PersonalAccessTokenRow, token_id)
        if row is not None:
            row.revoked = True
            self.session.flush()

    def rename_user_namespace(self, user_id: int, username: str, *, now: dt.datetime) -> None:
        """A user's namespace follows its username; so do the full paths of its projects."""
        row = self.session.scalars(select(NamespaceRow).where(NamespaceRow.owner_id == user_id, NamespaceRow.kind == "user")).first()
        if row is None:
            return
        row.path, row.full_path, row.full_path_lower, row.updated_at = username, username, username.lower(), now
        for project in self.session.scalars(select(ProjectRow).where(ProjectRow.namespace_id == row.id)):
            project.full_path_lower = f"{username}/{project.path}".lower()
        self.session.flush()

    # --- SSH keys ------------------------------------------------------------------------------
    def add_key(self, key: SshKey) -> SshKey:
        row = SshKeyRow(user_id=key.user_id, title=key.title, key=key.key, key_type=key.key_type,
                        fingerprint_md5=key.fingerprint_md5, fingerprint_sha256=key.fingerprint_sha256,
                        usage_type=key.usage_type, expires_at=key.expires_at, created_at=key.created_at)  # fmt: skip
        flush_new(self.session, row, {"message": {"fingerprint_sha256": ["has already been taken"]}})
        return _key(row)

    def key(self, key_id: int) -> SshKey | None:
        row = self.session.get(SshKeyRow, key_id)
        return _key(row) if row else None

    def key_by_fingerprint(self, fingerprint: str) -> SshKey | None:
        column = SshKeyRow.fingerprint_sha256 if fingerprint.startswith("SHA256:") else SshKeyRow.fingerprint_md5
        row = self.session.scalars(select(SshKeyRow).where(column == fingerprint).order_by(SshKeyRow.id)).first()
        return _key(row) if row else None

    def keys(self, user_id: int) -> list[SshKey]:
        rows = self.session.scalars(select(SshKeyRow).where(SshKeyRow.user_id == user_id).order_by(SshKeyRow.id))
        return [_key(row) for row in rows]

    def delete_key(self, key_id: int) -> None:
        row = self.session.get(SshKeyRow, key_id)
        if row is not None:
            self.session.delete(row)
            self.session.flush()

    # --- namespaces ----------------------------------------------------------------------------
    def add_namespace(self, *, name: str, path: str, kind: str, parent: Namespace | None, owner_id: int | None,
                      visibility: str, description: str, now: dt.datetime) -> Namespace:  # fmt: skip
        full_path = f"{parent.full_path}/{path}" if parent else path
        row = NamespaceRow(name=name, path=path, kind=kind, parent_id=parent.id if parent else None, owner_id=owner_id,
                           full_path=full_path, full_path_lower=full_path.lower(), visibility=visibility,
                           description=description, created_at=now, updated_at=now)  # fmt: skip
        flush_new(self.session, row, {"message": {"path": ["has already been taken"]}})
        return _namespace(row)

    def namespace(self, namespace_id: int, *, lock: bool = False) -> Namespace | None:
        row = self.session.get(NamespaceRow, namespace_id, with_for_update=lock)
        return _namespace(row) if row else None

    def namespace_by_full_path(self, full_path: str) -> Namespace | None:
        row = self.session.scalars(select(NamespaceRow).where(NamespaceRow.full_path_lower == full_path.lower())).first()
        return _namespace(row) if row else None

    def user_namespace(self, user_id: int) -> Namespace | None:
        row = self.session.scalars(select(NamespaceRow).where(NamespaceRow.owner_id == user_id, NamespaceRow.kind == "user")).first()
        return _namespace(row) if row else None

    def full_path_taken(self, full_path: str) -> bool:
        lower = full_path.lower()
        return bool(
            self.session.scalar(select(func.count()).select_from(NamespaceRow).where(NamespaceRow.full_path_lower == lower))
            or self.session.scalar(select(func.count()).select_from(ProjectRow).where(ProjectRow.full_path_lower == lower))
        )

    def descendant_ids(self, namespace_id: int) -> list[int]:
        """The namespace and every subgroup below it, breadth first."""
        found, frontier = [namespace_id], [namespace_id]
        while frontier:
            frontier = list(self.session.scalars(select(NamespaceRow.id).where(NamespaceRow.parent_id.in_(frontier))
                                                 .order_by(NamespaceRow.id)))  # fmt: skip
            found.extend(frontier)
        return found

    def ancestors(self, namespace: Namespace) -> list[Namespace]:
        """The namespace itself, then its parent, up to the root."""
        chain = [namespace]
        while chain[-1].parent_id is not None:
            parent = self.namespace(chain[-1].parent_id)
            if parent is None:
                break
            chain.append(parent)
        return chain

    def groups(self, *, search: str | None = None) -> list[Namespace]:
        query = select(NamespaceRow).where(NamespaceRow.kind == "group")
        if search:
            pattern = f"%{search.lower()}%"
            query = query.where(or_(func.lower(NamespaceRow.name).like(pattern), NamespaceRow.full_path_lower.like(pattern)))
        return [_namespace(row) for row in self.session.scalars(query.order_by(NamespaceRow.id))]

    def namespaces(self, *, search: str | None = None) -> list[Namespace]:
        query = select(NamespaceRow)
        if search:
            pattern = f"%{search.lower()}%"
            query = query.where(or_(func.lower(NamespaceRow.name).like(pattern), NamespaceRow.full_path_lower.like(pattern)))
        return [_namespace(row) for row in self.session.scalars(query.order_by(NamespaceRow.id))]

    def all_projects(self, *, search: str | None = None) -> list[Project]:
        query = select(ProjectRow)
        if search:
            pattern = f"%{search.lower()}%"
            query = query.where(or_(func.lower(ProjectRow.name).like(pattern), ProjectRow.full_path_lower.like(pattern)))
        rows = list(self.session.scalars(query.order_by(ProjectRow.id)))
        namespaces = {nid: self.namespace(nid) for nid in {row.namespace_id for row in rows}}
        return [_project(row, namespaces[row.namespace_id]) for row in rows]

    def subgroups(self, namespace_id: int) -> list[Namespace]:
        rows = self.session.scalars(select(NamespaceRow).where(NamespaceRow.parent_id == namespace_id).order_by(NamespaceRow.id))
        return [_namespace(row) for row in rows]

    # --- group sharing -------------------------------------------------------------------------
    def upsert_group_link(self, *, shared_group_id: int, shared_with_group_id: int, group_access: int,
                          expires_at: dt.date | None, now: dt.datetime) -> GroupLink:  # fmt: skip
        row = self.session.scalars(select(GroupLinkRow).where(
            GroupLinkRow.shared_group_id == shared_group_id, GroupLinkRow.shared_with_group_id == shared_with_group_id
        )).first()  # fmt: skip
        if row is None:
            row = GroupLinkRow(shared_group_id=shared_group_id, shared_with_group_id=shared_with_group_id, created_at=now,
                               group_access=group_access, expires_at=expires_at)  # fmt: skip
            flush_new(self.session, row, {"message": "409 Conflict - the group is being shared at this moment"})
        row.group_access = group_access
        row.expires_at = expires_at
        self.session.flush()
        return _link(row)

    def group_link(self, shared_group_id: int, shared_with_group_id: int) -> GroupLink | None:
        row = self.session.scalars(select(GroupLinkRow).where(
            GroupLinkRow.shared_group_id == shared_group_id, GroupLinkRow.shared_with_group_id == shared_with_group_id
        )).first()  # fmt: skip
        return _link(row) if row else None

    def delete_group_link(self, shared_group_id: int, shared_with_group_id: int) -> bool:
        row = self.session.scalars(select(GroupLinkRow).where(
            GroupLinkRow.shared_group_id == shared_group_id, GroupLinkRow.shared_with_group_id == shared_with_group_id
        )).first()  # fmt: skip
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True

    def links_of_shared_groups(self, shared_group_ids: list[int]) -> list[GroupLink]:
        """Invitations into any of these groups (the groups invited to them)."""
        if not shared_group_ids:
            return []
        rows = self.session.scalars(select(GroupLinkRow).where(GroupLinkRow.shared_group_id.in_(shared_group_ids))
                                    .order_by(GroupLinkRow.id))  # fmt: skip
        return [_link(row) for row in rows]

    # --- projects ------------------------------------------------------------------------------
    def add_project(self, *, namespace: Namespace, creator_id: int | None, name: str, path: str, visibility: str,
                    description: str, default_branch: str, now: dt.datetime) -> Project:  # fmt: skip
        row = ProjectRow(namespace_id=namespace.id, creator_id=creator_id, name=name, path=path,
                         full_path_lower=f"{namespace.full_path}/{path}".lower(), visibility=visibility,
                         description=description, default_branch=default_branch, archived=False,
                         created_at=now, updated_at=now)  # fmt: skip
        flush_new(self.session, row, {"message": {"name": ["has already been taken"], "path": ["has already been taken"]}})
        return _project(row, namespace)

    def update_project(self, project_id: int, *, now: dt.datetime, **changes) -> None:
        """Attributes other than name and path (a rename goes through `domain.gitlab.internal_entities`)."""
        row = self.session.get(ProjectRow, project_id)
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = now
        self.session.flush()

    def project(self, project_id: int) -> Project | None:
        row = self.session.execute(_PROJECT_WITH_NAMESPACE.where(ProjectRow.id == project_id)).first()
        return _project_from_columns(row) if row is not None else None

    def project_with_access_level(self, ref: int | str, user_id: int, *, today: dt.date) -> tuple[Project | None, int]:
        """The project (by id or full path) and the level of the user's memberships in it, project and
        groups (shares included), in one query; a personal namespace's ownership is not included."""
        by_path = isinstance(ref, str)
        params = {"user_id": user_id, "today": today, **({"full_path": ref.lower()} if by_path else {"lookup_id": ref})}
        row = self.session.execute(_PROJECT_ACCESS_QUERIES[by_path], params).first()
        if row is None:
            return None, 0
        return _project_from_columns(row), row[-1] or 0

    def project_by_full_path(self, full_path: str) -> Project | None:
        row = self.session.execute(_PROJECT_WITH_NAMESPACE.where(ProjectRow.full_path_lower == full_path.lower())).first()
        return _project_from_columns(row) if row is not None else None

    def projects_in(self, namespace_ids: list[int]) -> list[Project]:
        if not namespace_ids:
            return []
        rows = list(self.session.scalars(select(ProjectRow).where(ProjectRow.namespace_id.in_(namespace_ids)).order_by(ProjectRow.id)))
        namespaces = {nid: self.namespace(nid) for nid in {row.namespace_id for row in rows}}
        return [_project(row, namespaces[row.namespace_id]) for row in rows]

    def count_projects_in(self, namespace_ids: list[int]) -> int:
        if not namespace_ids:
            return 0
        return self.session.scalar(select(func.count()).select_from(ProjectRow).where(ProjectRow.namespace_id.in_(namespace_ids))) or 0

    # --- members -------------------------------------------------------------------------------
    def access_level(self, user_id: int, *, project_id: int | None, namespace_id: int | None, today: dt.date) -> int:
        """The highest active level of the user's direct membership of project `project_id` and memberships
        through group `namespace_id` (its ancestors and the groups it or they are shared with), in one query.
        `namespace_id` is a group; personal namespaces are the caller's business."""
        if project_id is None and namespace_id is None:
            return 0
        query = _ACCESS_LEVEL_QUERIES[(project_id is not None, namespace_id is not None)]
        params = {"user_id": user_id, "today": today}
        if project_id is not None:
            params["project_id"] = project_id
        if namespace_id is not None:
            params["namespace_id"] = namespace_id
        return self.session.execute(query, params).scalar() or 0

    def member(self, source_type: str, source_id: int, user_id: int) -> Member | None:
        found = self.session.execute(
            select(MemberRow, GitlabUserRow).join(GitlabUserRow, GitlabUserRow.id == MemberRow.user_id)
            .where(MemberRow.source_type == source_type, MemberRow.source_id == source_id, MemberRow.user_id == user_id)
        ).first()  # fmt: skip
        return _member(*found) if found else None

    def members(self, source_type: str, source_ids: list[int]) -> list[Member]:
        if not source_ids:
            return []
        rows = self.session.execute(
            select(MemberRow, GitlabUserRow).join(GitlabUserRow, GitlabUserRow.id == MemberRow.user_id)
            .where(MemberRow.source_type == source_type, MemberRow.source_id.in_(source_ids))
            .order_by(MemberRow.source_id, MemberRow.id)
        ).all()  # fmt: skip
        return [_member(*row) for row in rows]

    def memberships_of_user(self, user_id: int) -> list[Member]:
        rows = self.session.execute(
            select(MemberRow, GitlabUserRow).join(GitlabUserRow, GitlabUserRow.id == MemberRow.user_id)
            .where(MemberRow.user_id == user_id).order_by(MemberRow.id)
        ).all()  # fmt: skip
        return [_member(*row) for row in rows]

    def save_member(self, *, source_type: str, source_id: int, user_id: int, access_level: int,
                    expires_at: dt.date | None, created_by_id: int | None, now: dt.datetime) -> Member:  # fmt: skip
        row = self.session.scalars(select(MemberRow).where(
            MemberRow.source_type == source_type, MemberRow.source_id == source_id, MemberRow.user_id == user_id
        )).first()  # fmt: skip
        if row is None:
            row = MemberRow(source_type=source_type, source_id=source_id, user_id=user_id, created_by_id=created_by_id,
                            created_at=now, access_level=access_level, expires_at=expires_at, updated_at=now)  # fmt: skip
            flush_new(self.session, row, {"message": "Member already exists"})
        row.access_level = access_level
        row.expires_at = expires_at
        row.updated_at = now
        self.session.flush()
        return _member(row, self.session.get(GitlabUserRow, user_id))

    def delete_member(self, source_type: str, source_id: int, user_id: int) -> bool:
        row = self.session.scalars(select(MemberRow).where(
            MemberRow.source_type == source_type, MemberRow.source_id == source_id, MemberRow.user_id == user_id
        )).first()  # fmt: skip
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True
