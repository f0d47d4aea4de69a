"""Tables of the GitLab internal API (issue 4): deploy keys and the projects they are enabled on,
protected branches, two-factor state with hashed recovery codes, reference counters with expiry
(what GitLab keeps in Redis), cluster agents and their tokens (digests only), kas usage counters,
Cilium alerts, broadcast messages and redirect routes left by project renames.

Project and user ids refer to `gl_projects` / `gl_users` of the entity model; they are plain
integer columns (no foreign keys), so this branch migrates independently of the entity branch.
Repositories return plain values; nothing outside `storage/` sees a row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.base import Base
from storage.types import UtcDateTime

DEPLOY_KEY_ID_BASE = 1_000_000
"""GitLab keeps user keys and deploy keys in one table, so `key-<id>` names exactly one key. Tollgate
keeps deploy keys apart and numbers them from here, above any user SSH key id."""


class DeployKeyRow(Base):
    __tablename__ = "gl_deploy_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(Text)
    fingerprint_md5: Mapped[str] = mapped_column(String(64), index=True)
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class DeployKeyProjectRow(Base):
    __tablename__ = "gl_deploy_keys_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deploy_key_id: Mapped[int] = mapped_column(ForeignKey("gl_deploy_keys.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(Integer, index=True)
    can_push: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("deploy_key_id", "project_id"),)


class ProtectedBranchRow(Base):
    __tablename__ = "gl_protected_branches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(255))
    push_access_levels: Mapped[list[int]] = mapped_column(JSON)
    merge_access_levels: Mapped[list[int]] = mapped_column(JSON)
    allow_force_push: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("project_id", "name"),)


class TwoFactorRow(Base):
    __tablename__ = "gl_two_factor"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    enabled: Mapped[bool] = mapped_column(Boolean)
    recovery_code_digests: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ReferenceCounterRow(Base):
    __tablename__ = "gl_reference_counters"

    gl_repository: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class ClusterAgentRow(Base):
    __tablename__ = "gl_cluster_agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(255))
    created_by_user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("project_id", "name"),)


class ClusterAgentTokenRow(Base):
    __tablename__ = "gl_cluster_agent_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("gl_cluster_agents.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    created_by_user_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class KasUsageCounterRow(Base):
    __tablename__ = "gl_kas_usage_counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class CiliumAlertRow(Base):
    __tablename__ = "gl_cilium_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(Integer, index=True)
    agent_id: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    events: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class BroadcastMessageRow(Base):
    __tablename__ = "gl_broadcast_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    color: Mapped[str | None] = mapped_column(String(16))
    font: Mapped[str | None] = mapped_column(String(16))
    target_path: Mapped[str | None] = mapped_column(String(1024))
    broadcast_type: Mapped[str] = mapped_column(String(16))
    dismissable: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class RedirectRouteRow(Base):
    __tablename__ = "gl_redirect_routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(Integer, index=True)
    path: Mapped[str] = mapped_column(String(1024))
    path_lower: Mapped[str] = mapped_column(String(1024), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class PushNoticeRow(Base):
    """What `/allowed` leaves for the next `/post_receive` of the same user and project (GitLab keeps it in
    Redis): "project moved" after a push through a redirect, "project created" after a push created it."""

    __tablename__ = "gl_push_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("user_id", "project_id", "kind"),)


# --- values ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DeployKey:
    id: int
    user_id: int | None
    title: str
    key: str
    fingerprint_md5: str
    fingerprint_sha256: str
    expires_at: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True)
class DeployKeyLink:
    key: DeployKey
    project_id: int
    can_push: bool


@dataclass(frozen=True)
class ProtectedBranchRecord:
    id: int
    project_id: int
    name: str
    push_access_levels: tuple[int, ...]
    merge_access_levels: tuple[int, ...]
    allow_force_push: bool


@dataclass(frozen=True)
class ClusterAgent:
    id: int
    project_id: int
    name: str
    created_by_user_id: int | None
    created_at: dt.datetime


@dataclass(frozen=True)
class ClusterAgentToken:
    id: int
    agent_id: int
    name: str
    description: str | None
    status: str
    created_by_user_id: int | None
    created_at: dt.datetime
    last_used_at: dt.datetime | None


@dataclass(frozen=True)
class BroadcastMessage:
    id: int
    message: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    color: str | None
    font: str | None
    target_path: str | None
    broadcast_type: str
    dismissable: bool


def _deploy_key(row: DeployKeyRow) -> DeployKey:
    return DeployKey(row.id, row.user_id, row.title, row.key, row.fingerprint_md5, row.fingerprint_sha256,
                     row.expires_at, row.created_at)  # fmt: skip


def _protected(row: ProtectedBranchRow) -> ProtectedBranchRecord:
    return ProtectedBranchRecord(row.id, row.project_id, row.name, tuple(row.push_access_levels),
                                 tuple(row.merge_access_levels), row.allow_force_push)  # fmt: skip


def _agent(row: ClusterAgentRow) -> ClusterAgent:
    return ClusterAgent(row.id, row.project_id, row.name, row.created_by_user_id, row.created_at)


def _agent_token(row: ClusterAgentTokenRow) -> ClusterAgentToken:
    return ClusterAgentToken(row.id, row.agent_id, row.name, row.description, row.status, row.created_by_user_id,
                             row.created_at, row.last_used_at)  # fmt: skip


def _broadcast(row: BroadcastMessageRow) -> BroadcastMessage:
    return BroadcastMessage(row.id, row.message, row.starts_at, row.ends_at, row.color, row.font, row.target_path,
                            row.broadcast_type, row.dismissable)  # fmt: skip


class GitlabInternalRepository:
    def __init__(self, session: Session):
        self.session = session

    # --- deploy keys ---
    def deploy_key(self, key_id: int) -> DeployKey | None:
        row = self.session.get(DeployKeyRow, key_id)
        return _deploy_key(row) if row else None

    def deploy_key_by_fingerprint(self, *, md5: str | None = None, sha256: str | None = None) -> DeployKey | None:
        query = select(DeployKeyRow)
        query = query.where(DeployKeyRow.fingerprint_md5 == md5) if md5 else query.where(DeployKeyRow.fingerprint_sha256 == sha256)
        row = self.session.scalars(query.order_by(DeployKeyRow.id).limit(1)).first()
        return _deploy_key(row) if row else None

    def add_deploy_key(self, *, user_id: int | None, title: str, key: str, md5: str, sha256: str,
                       expires_at: dt.datetime | None, now: dt.datetime) -> DeployKey:  # fmt: skip
        top = self.session.scalar(select(func.max(DeployKeyRow.id)))
        row = DeployKeyRow(id=max(top or 0, DEPLOY_KEY_ID_BASE) + 1, user_id=user_id, title=title, key=key,
                           fingerprint_md5=md5, fingerprint_sha256=sha256, expires_at=expires_at, created_at=now)  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return _deploy_key(row)

    def update_deploy_key_title(self, key_id: int, title: str) -> None:
        self.session.execute(update(DeployKeyRow).where(DeployKeyRow.id == key_id).values(title=title))

    def delete_deploy_key(self, key_id: int) -> None:
        self.session.execute(delete(DeployKeyRow).where(DeployKeyRow.id == key_id))

    def deploy_key_link(self, key_id: int, project_id: int) -> DeployKeyLink | None:
        row = self.session.execute(
            select(DeployKeyProjectRow, DeployKeyRow)
            .join(DeployKeyRow, DeployKeyRow.id == DeployKeyProjectRow.deploy_key_id)
            .where(DeployKeyProjectRow.deploy_key_id == key_id, DeployKeyProjectRow.project_id == project_id)
        ).first()
        return DeployKeyLink(_deploy_key(row[1]), row[0].project_id, row[0].can_push) if row else None

    def deploy_key_links(self, project_id: int) -> list[DeployKeyLink]:
        rows = self.session.execute(
            select(DeployKeyProjectRow, DeployKeyRow)
            .join(DeployKeyRow, DeployKeyRow.id == DeployKeyProjectRow.deploy_key_id)
            .where(DeployKeyProjectRow.project_id == project_id)
            .order_by(DeployKeyRow.id)
        ).all()
        return [DeployKeyLink(_deploy_key(key), link.project_id, link.can_push) for link, key in rows]

    def count_deploy_key_links(self, key_id: int) -> int:
        return self.session.scalar(
            select(func.count()).select_from(DeployKeyProjectRow).where(DeployKeyProjectRow.deploy_key_id == key_id)
        ) or 0

    def link_deploy_key(self, key_id: int, project_id: int, *, can_push: bool, now: dt.datetime) -> None:
        row = self.session.scalars(select(DeployKeyProjectRow).where(
            DeployKeyProjectRow.deploy_key_id == key_id, DeployKeyProjectRow.project_id == project_id)).first()  # fmt: skip
        if row is None:
            self.session.add(DeployKeyProjectRow(deploy_key_id=key_id, project_id=project_id, can_push=can_push, created_at=now))
        else:
            row.can_push = can_push
        self.session.flush()

    def unlink_deploy_key(self, key_id: int, project_id: int) -> bool:
        result = self.session.execute(delete(DeployKeyProjectRow).where(
            DeployKeyProjectRow.deploy_key_id == key_id, DeployKeyProjectRow.project_id == project_id))  # fmt: skip
        return bool(result.rowcount)

    # --- protected branches ---
    def protected_branches(self, project_id: int) -> list[ProtectedBranchRecord]:
        # Plain rows, not ORM objects: `/internal/allowed` reads every rule of the project on each call.
        table = ProtectedBranchRow.__table__
        rows = self.session.execute(
            select(table.c.id, table.c.project_id, table.c.name, table.c.push_access_levels, table.c.merge_access_levels,
                   table.c.allow_force_push).where(table.c.project_id == project_id).order_by(table.c.id)
        )  # fmt: skip
        return [ProtectedBranchRecord(row[0], row[1], row[2], tuple(row[3]), tuple(row[4]), row[5]) for row in rows]

    def protected_branches_for(self, project_id: int, branches: list[str]) -> list[ProtectedBranchRecord]:
        """The rules that may match one of `branches`: those named exactly so, and every wildcard rule
        (GitLab's `*` matching is the caller's); a push check never needs the others."""
        table = ProtectedBranchRow.__table__
        rows = self.session.execute(
            select(table.c.id, table.c.project_id, table.c.name, table.c.push_access_levels, table.c.merge_access_levels,
                   table.c.allow_force_push)
            .where(table.c.project_id == project_id,
                   or_(table.c.name.in_(sorted(set(branches))), table.c.name.contains("*", autoescape=True)))
            .order_by(table.c.id)
        )  # fmt: skip
        return [ProtectedBranchRecord(row[0], row[1], row[2], tuple(row[3]), tuple(row[4]), row[5]) for row in rows]

    def protected_branch(self, project_id: int, name: str) -> ProtectedBranchRecord | None:
        row = self.session.scalars(select(ProtectedBranchRow).where(
            ProtectedBranchRow.project_id == project_id, ProtectedBranchRow.name == name)).first()  # fmt: skip
        return _protected(row) if row else None

    def add_protected_branch(self, *, project_id: int, name: str, push: list[int], merge: list[int],
                             allow_force_push: bool, now: dt.datetime) -> ProtectedBranchRecord:  # fmt: skip
        row = ProtectedBranchRow(project_id=project_id, name=name, push_access_levels=push, merge_access_levels=merge,
                                 allow_force_push=allow_force_push, created_at=now)  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return _protected(row)

    def update_protected_branch(self, branch_id: int, **values: Any) -> ProtectedBranchRecord:
        row = self.session.get(ProtectedBranchRow, branch_id)
        for name, value in values.items():
            setattr(row, name, value)
        self.session.flush()
        return _protected(row)

    def delete_protected_branch(self, branch_id: int) -> None:
        self.session.execute(delete(ProtectedBranchRow).where(ProtectedBranchRow.id == branch_id))

    # --- two-factor ---
    def two_factor(self, user_id: int) -> tuple[bool, list[str]]:
        row = self.session.get(TwoFactorRow, user_id)
        return (row.enabled, list(row.recovery_code_digests)) if row else (False, [])

    def save_two_factor(self, user_id: int, *, enabled: bool, digests: list[str], now: dt.datetime) -> None:
        row = self.session.get(TwoFactorRow, user_id)
        if row is None:
            self.session.add(TwoFactorRow(user_id=user_id, enabled=enabled, recovery_code_digests=digests, updated_at=now))
        else:
            row.enabled, row.recovery_code_digests, row.updated_at = enabled, digests, now
        self.session.flush()

    # --- reference counters ---
    def _upsert(self, table: Any, values: dict[str, Any], index: list[str], set_: dict[str, Any]) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(table).values(**values)
        self.session.execute(statement.on_conflict_do_update(index_elements=index, set_=set_))

    def reference_counter(self, gl_repository: str, *, now: dt.datetime) -> int:
        row = self.session.get(ReferenceCounterRow, gl_repository, populate_existing=True)
        if row is None or row.expires_at <= now:
            return 0
        return row.value

    def increment_reference_counter(self, gl_repository: str, *, now: dt.datetime, expires_at: dt.datetime) -> None:
        """+1 (from 0 when absent or expired) and a fresh expiry, atomically (INSERT ... ON CONFLICT)."""
        table = ReferenceCounterRow.__table__
        self._upsert(table, {"gl_repository": gl_repository, "value": 1, "expires_at": expires_at}, ["gl_repository"], {
            "value": case((table.c.expires_at <= now, 1), else_=table.c.value + 1),
            "expires_at": expires_at,
        })  # fmt: skip

    def decrement_reference_counter(self, gl_repository: str, *, now: dt.datetime) -> None:
        """-1, keeping the expiry; a counter that would go below zero (or has expired) is deleted."""
        table = ReferenceCounterRow.__table__
        self.session.execute(delete(table).where(
            table.c.gl_repository == gl_repository, or_(table.c.value <= 0, table.c.expires_at <= now)))  # fmt: skip
        self.session.execute(update(table).where(table.c.gl_repository == gl_repository).values(value=table.c.value - 1))

    # --- cluster agents ---
    def add_agent(self, *, project_id: int, name: str, user_id: int | None, now: dt.datetime) -> ClusterAgent:
        row = ClusterAgentRow(project_id=project_id, name=name, created_by_user_id=user_id, created_at=now)
        self.session.add(row)
        self.session.flush()
        return _agent(row)

    def agent(self, agent_id: int) -> ClusterAgent | None:
        row = self.session.get(ClusterAgentRow, agent_id)
        return _agent(row) if row else None

    def agent_by_name(self, project_id: int, name: str) -> ClusterAgent | None:
        row = self.session.scalars(select(ClusterAgentRow).where(
            ClusterAgentRow.project_id == project_id, ClusterAgentRow.name == name)).first()  # fmt: skip
        return _agent(row) if row else None

    def agents(self, project_id: int) -> list[ClusterAgent]:
        rows = self.session.scalars(select(ClusterAgentRow).where(ClusterAgentRow.project_id == project_id).order_by(ClusterAgentRow.id))
        return [_agent(row) for row in rows]

    def delete_agent(self, agent_id: int) -> None:
        self.session.execute(delete(ClusterAgentRow).where(ClusterAgentRow.id == agent_id))

    def add_agent_token(self, *, agent_id: int, name: str, description: str | None, digest: str, user_id: int | None,
                        now: dt.datetime) -> ClusterAgentToken:  # fmt: skip
        row = ClusterAgentTokenRow(agent_id=agent_id, name=name, description=description, token_digest=digest, status="active",
                                   created_by_user_id=user_id, created_at=now, last_used_at=None)  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return _agent_token(row)

    def agent_tokens(self, agent_id: int) -> list[ClusterAgentToken]:
        rows = self.session.scalars(select(ClusterAgentTokenRow).where(
            ClusterAgentTokenRow.agent_id == agent_id, ClusterAgentTokenRow.status == "active").order_by(ClusterAgentTokenRow.id))  # fmt: skip
        return [_agent_token(row) for row in rows]

    def agent_token(self, agent_id: int, token_id: int) -> ClusterAgentToken | None:
        row = self.session.get(ClusterAgentTokenRow, token_id)
        return _agent_token(row) if row is not None and row.agent_id == agent_id and row.status == "active" else None

    def revoke_agent_token(self, token_id: int) -> None:
        self.session.execute(update(ClusterAgentTokenRow).where(ClusterAgentTokenRow.id == token_id).values(status="revoked"))

    def agent_by_token_digest(self, digest: str) -> tuple[ClusterAgent, int] | None:
        row = self.session.execute(
            select(ClusterAgentTokenRow, ClusterAgentRow)
            .join(ClusterAgentRow, ClusterAgentRow.id == ClusterAgentTokenRow.agent_id)
            .where(ClusterAgentTokenRow.token_digest == digest, ClusterAgentTokenRow.status == "active")
        ).first()
        return (_agent(row[1]), row[0].id) if row else None

    def touch_agent_token(self, token_id: int, now: dt.datetime) -> None:
        self.session.execute(update(ClusterAgentTokenRow).where(ClusterAgentTokenRow.id == token_id).values(last_used_at=now))

    # --- kas usage counters ---
    def increment_counter(self, name: str, amount: int) -> None:
        table = KasUsageCounterRow.__table__
        self._upsert(table, {"name": name, "value": amount}, ["name"], {"value": table.c.value + amount})

    def counters(self) -> dict[str, int]:
        return {row.name: row.value for row in self.session.scalars(select(KasUsageCounterRow))}

    # --- cilium alerts ---
    def open_alert(self, project_id: int, fingerprint: str) -> int | None:
        return self.session.scalar(select(CiliumAlertRow.id).where(
            CiliumAlertRow.project_id == project_id, CiliumAlertRow.fingerprint == fingerprint,
            CiliumAlertRow.status != "resolved").order_by(CiliumAlertRow.id).limit(1))  # fmt: skip

    def add_alert(self, *, project_id: int, agent_id: int, fingerprint: str, title: str, payload: dict, now: dt.datetime) -> int:
        row = CiliumAlertRow(project_id=project_id, agent_id=agent_id, fingerprint=fingerprint, title=title, payload=payload,
                             status="triggered", events=1, created_at=now, updated_at=now)  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return row.id

    def add_alert_event(self, alert_id: int, now: dt.datetime) -> None:
        self.session.execute(update(CiliumAlertRow).where(CiliumAlertRow.id == alert_id)
                             .values(events=CiliumAlertRow.events + 1, updated_at=now))  # fmt: skip

    def alerts(self, project_id: int) -> list[dict[str, Any]]:
        rows = self.session.scalars(select(CiliumAlertRow).where(CiliumAlertRow.project_id == project_id).order_by(CiliumAlertRow.id))
        return [{"id": r.id, "agent_id": r.agent_id, "fingerprint": r.fingerprint, "title": r.title, "status": r.status,
                 "events": r.events, "payload": r.payload} for r in rows]  # fmt: skip

    # --- broadcast messages ---
    def add_broadcast(self, now: dt.datetime, **values: Any) -> BroadcastMessage:
        row = BroadcastMessageRow(created_at=now, **values)
        self.session.add(row)
        self.session.flush()
        return _broadcast(row)

    def broadcast(self, message_id: int) -> BroadcastMessage | None:
        row = self.session.get(BroadcastMessageRow, message_id)
        return _broadcast(row) if row else None

    def broadcasts(self) -> list[BroadcastMessage]:
        return [_broadcast(row) for row in self.session.scalars(select(BroadcastMessageRow).order_by(BroadcastMessageRow.id))]

    def update_broadcast(self, message_id: int, **values: Any) -> BroadcastMessage:
        row = self.session.get(BroadcastMessageRow, message_id)
        for name, value in values.items():
            setattr(row, name, value)
        self.session.flush()
        return _broadcast(row)

    def delete_broadcast(self, message_id: int) -> None:
        self.session.execute(delete(BroadcastMessageRow).where(BroadcastMessageRow.id == message_id))

    def current_broadcasts(self, now: dt.datetime) -> list[BroadcastMessage]:
        rows = self.session.scalars(select(BroadcastMessageRow).where(
            BroadcastMessageRow.starts_at <= now, BroadcastMessageRow.ends_at > now).order_by(BroadcastMessageRow.id))  # fmt: skip
        return [_broadcast(row) for row in rows]

    # --- project rename (the entity model has no update of projects; issue 4 owns the rename) ---
    def rename_project(self, project_id: int, *, name: str, path: str, full_path: str, now: dt.datetime) -> None:
        from storage.gitlab_entities import ProjectRow

        table = ProjectRow.__table__
        self.session.execute(update(table).where(table.c.id == project_id).values(
            name=name, path=path, full_path_lower=full_path.lower(), updated_at=now))  # fmt: skip
        self.session.expire_all()

    # --- push notices ---
    def leave_notice(self, user_id: int, project_id: int, kind: str, message: str, now: dt.datetime) -> None:
        table = PushNoticeRow.__table__
        self.session.execute(delete(table).where(table.c.user_id == user_id, table.c.project_id == project_id, table.c.kind == kind))
        self.session.execute(table.insert().values(user_id=user_id, project_id=project_id, kind=kind, message=message, created_at=now))

    def take_notice(self, user_id: int, project_id: int, kind: str) -> str | None:
        """The notice, removed: it is shown once."""
        table = PushNoticeRow.__table__
        condition = (table.c.user_id == user_id, table.c.project_id == project_id, table.c.kind == kind)
        message = self.session.scalar(select(table.c.message).where(*condition))
        if message is not None:
            self.session.execute(delete(table).where(*condition))
        return message

    # --- redirect routes ---
    def add_redirect(self, project_id: int, path: str, now: dt.datetime) -> None:
        self.session.execute(delete(RedirectRouteRow).where(RedirectRouteRow.path_lower == path.lower()))
        self.session.add(RedirectRouteRow(project_id=project_id, path=path, path_lower=path.lower(), created_at=now))
        self.session.flush()

    def drop_redirect(self, path: str) -> None:
        self.session.execute(delete(RedirectRouteRow).where(RedirectRouteRow.path_lower == path.lower()))

    def redirect(self, path: str) -> int | None:
        return self.session.scalar(select(RedirectRouteRow.project_id).where(RedirectRouteRow.path_lower == path.lower()))
