"""OpenMeter subjects: the table and its repository."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.subjects import Subject
from storage.base import Base
from storage.types import UtcDateTime


class SubjectRow(Base):
    __tablename__ = "om_subjects"

    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    key: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str | None] = mapped_column(String(512))
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(256))
    current_period_start: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    current_period_end: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # Keys are unique among live subjects only: a deleted subject's key may be taken again.
        Index(
            "uq_om_subjects_active_key",
            "key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

_FIELDS = ("id", "key", "display_name", "stripe_customer_id", "current_period_start", "current_period_end",
           "created_at", "updated_at", "deleted_at")  # fmt: skip


def _to_domain(row: SubjectRow) -> Subject:
    return Subject(metadata=row.metadata_, **{name: getattr(row, name) for name in _FIELDS})


class SubjectRepository:
    def __init__(self, session: Session):
        self.session = session

    def get_by_id(self, subject_id: str) -> Subject | None:
        row = self.session.get(SubjectRow, subject_id)
        return _to_domain(row) if row else None

    def get_active_by_key(self, key: str) -> Subject | None:
        row = self.session.scalars(select(SubjectRow).where(SubjectRow.key == key, SubjectRow.deleted_at.is_(None))).first()
        return _to_domain(row) if row else None

    def active_by_keys(self, keys: list[str]) -> dict[str, Subject]:
        if not keys:
            return {}
        rows = self.session.scalars(select(SubjectRow).where(SubjectRow.key.in_(keys), SubjectRow.deleted_at.is_(None)))
        return {row.key: _to_domain(row) for row in rows}

    def list_active(self) -> list[Subject]:
        rows = self.session.scalars(select(SubjectRow).where(SubjectRow.deleted_at.is_(None)).order_by(SubjectRow.id))
        return [_to_domain(row) for row in rows]

    def save(self, subject: Subject) -> None:
        row = self.session.get(SubjectRow, subject.id) or SubjectRow(id=subject.id)
        for name in _FIELDS:
            setattr(row, name, getattr(subject, name))
        row.metadata_ = subject.metadata
        self.session.add(row)
        self.session.flush()
