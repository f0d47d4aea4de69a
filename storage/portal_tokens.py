"""OpenMeter portal token records and client progress records: tables and repositories."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.portal import PortalToken
from domain.progress import Progress
from storage.base import Base
from storage.types import UtcDateTime


class PortalTokenRow(Base):
    __tablename__ = "om_portal_tokens"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    subject: Mapped[str] = mapped_column(String(1024))
    allowed_meter_slugs: Mapped[list[Any]] = mapped_column(JSON)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    invalidated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_om_portal_tokens_subject", "subject"),)


class ProgressRow(Base):
    __tablename__ = "om_progress"

    id: Mapped[str] = mapped_column(String(1024), primary_key=True)
    success: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


def _token(row: PortalTokenRow) -> PortalToken:
    return PortalToken(
        id=row.id,
        subject=row.subject,
        allowed_meter_slugs=tuple(row.allowed_meter_slugs or ()),
        expires_at=row.expires_at,
        created_at=row.created_at,
        invalidated_at=row.invalidated_at,
    )


class PortalTokenRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, token_id: str) -> PortalToken | None:
        row = self.session.get(PortalTokenRow, token_id)
        return _token(row) if row else None

    def add(self, token: PortalToken) -> None:
        self.session.add(PortalTokenRow(id=token.id, subject=token.subject, allowed_meter_slugs=list(token.allowed_meter_slugs),
                                        expires_at=token.expires_at, created_at=token.created_at,
                                        invalidated_at=token.invalidated_at))  # fmt: skip
        self.session.flush()

    def save(self, token: PortalToken) -> None:
        row = self.session.get(PortalTokenRow, token.id)
        if row is None:
            self.add(token)
            return
        row.invalidated_at = token.invalidated_at
        self.session.flush()

    def list_valid(self, *, limit: int) -> list[PortalToken]:
        rows = self.session.scalars(
            select(PortalTokenRow)
            .where(PortalTokenRow.invalidated_at.is_(None))
            .order_by(PortalTokenRow.created_at.desc(), PortalTokenRow.id.desc())
            .limit(limit)
        )
        return [_token(row) for row in rows]

    def invalidate_subject(self, subject: str, *, now: dt.datetime) -> int:
        result = self.session.execute(
            update(PortalTokenRow)
            .where(PortalTokenRow.subject == subject, PortalTokenRow.invalidated_at.is_(None))
            .values(invalidated_at=now)
        )
        return result.rowcount or 0


class ProgressRepository:
    def __init__(self, session: Session):
        self.session = session

    def get(self, progress_id: str) -> Progress | None:
        row = self.session.get(ProgressRow, progress_id)
        if row is None:
            return None
        return Progress(id=row.id, success=row.success, failed=row.failed, total=row.total, updated_at=row.updated_at)

    def save(self, progress: Progress) -> None:
        row = self.session.get(ProgressRow, progress.id) or ProgressRow(id=progress.id)
        row.success, row.failed, row.total, row.updated_at = progress.success, progress.failed, progress.total, progress.updated_at
        self.session.add(row)
        self.session.flush()
