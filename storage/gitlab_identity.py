"""GitLab users and personal access tokens (the minimum authentication needs; the GitLab
entity model grows these tables through its own migrations)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.gitlab.identity import TokenOwner
from storage.base import Base
from storage.types import UtcDateTime


class GitlabUserRow(Base):
    __tablename__ = "gl_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(32), default="active")
    admin: Mapped[bool] = mapped_column(Boolean, default=False)
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class PersonalAccessTokenRow(Base):
    __tablename__ = "gl_personal_access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("gl_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON)
    expires_at: Mapped[dt.date | None] = mapped_column(Date)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class IdentityRepository:
    def __init__(self, session: Session):
        self.session = session

    def token_by_digest(self, digest: str) -> tuple[TokenOwner, dt.date | None, bool, str] | None:
        row = self.session.execute(
            select(PersonalAccessTokenRow, GitlabUserRow)
            .join(GitlabUserRow, GitlabUserRow.id == PersonalAccessTokenRow.user_id)
            .where(PersonalAccessTokenRow.token_digest == digest)
        ).first()
        if row is None:
            return None
        token, user = row
        owner = TokenOwner(
            user_id=user.id, username=user.username, admin=user.admin, state=user.state,
            scopes=tuple(token.scopes or ()), token_id=token.id,
        )  # fmt: skip
        return owner, token.expires_at, token.revoked, token.token_digest

    def ensure_user(self, user_id: int, *, username: str, name: str, email: str, admin: bool, now: dt.datetime) -> None:
        if self.session.get(GitlabUserRow, user_id) is None:
            self.session.add(GitlabUserRow(
                id=user_id, username=username, name=name, email=email, admin=admin, state="active",
                created_at=now, updated_at=now,
            ))  # fmt: skip
            self.session.flush()
            if self.session.get_bind().dialect.name == "postgresql":
                # An explicit id does not move PostgreSQL's sequence; keep the next user from colliding.
                self.session.execute(text(
                    "SELECT setval(pg_get_serial_sequence('gl_users', 'id'), (SELECT max(id) FROM gl_users))"
                ))  # fmt: skip

    def replace_named_token(self, user_id: int, *, name: str, digest: str, scopes: tuple[str, ...], now: dt.datetime) -> None:
        existing = self.session.scalars(
            select(PersonalAccessTokenRow).where(PersonalAccessTokenRow.user_id == user_id, PersonalAccessTokenRow.name == name)
        ).first()
        if existing is not None and existing.token_digest == digest and not existing.revoked:
            return
        if existing is not None:
            self.session.delete(existing)
            self.session.flush()
        self.session.add(PersonalAccessTokenRow(
            user_id=user_id, name=name, token_digest=digest, scopes=list(scopes), expires_at=None, revoked=False,
            created_at=now,
        ))  # fmt: skip
        self.session.flush()
