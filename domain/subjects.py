"""OpenMeter subjects (deprecated upstream, still served): upsert, get, list, soft delete.

Behaviour follows shared/reference/openmeter-core.md section 5.1: an upsert of a live key changes
only the fields the caller sent (an explicit null clears), a deleted subject is still found by id,
keys are unique among live subjects only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from domain.errors import NotFoundError, ProblemCollector
from domain.ids import is_ulid, new_id


@dataclass(frozen=True)
class Subject:
    id: str
    key: str
    display_name: str | None
    metadata: dict[str, Any] | None
    stripe_customer_id: str | None
    current_period_start: dt.datetime | None
    current_period_end: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None


UPSERTABLE_FIELDS = frozenset({"display_name", "metadata", "stripe_customer_id", "current_period_start", "current_period_end"})


@dataclass(frozen=True)
class SubjectUpsert:
    """One item of an upsert: the key and only the fields the caller actually sent."""

    key: str
    changes: dict[str, Any]

    def validate(self, index: int, problems: ProblemCollector) -> None:
        unknown = set(self.changes) - UPSERTABLE_FIELDS
        problems.check(not unknown, f"unknown fields: {sorted(unknown)}", field=f"[{index}]")
        problems.check(bool(self.key), "subject key must not be empty", field=f"[{index}].key")
        stripe_id = self.changes.get("stripe_customer_id")
        problems.check(
            stripe_id is None or stripe_id.startswith("cus_"),
            "stripeCustomerId must start with cus_",
            field=f"[{index}].stripeCustomerId",
        )


class SubjectService:
    def __init__(self, session: Session):
        from storage.subjects import SubjectRepository

        self.subjects = SubjectRepository(session)

    def upsert(self, items: list[SubjectUpsert], *, now: dt.datetime) -> list[Subject]:
        problems = ProblemCollector()
        for index, item in enumerate(items):
            item.validate(index, problems)
        problems.raise_if_any()
        result = []
        for item in items:
            current = self.subjects.get_active_by_key(item.key)
            if current is None:
                fields = {name: item.changes.get(name) for name in UPSERTABLE_FIELDS}
                subject = Subject(id=new_id(), key=item.key, created_at=now, updated_at=now, **fields)
            else:
                subject = dataclasses.replace(current, updated_at=now, **item.changes)
            self.subjects.save(subject)
            result.append(subject)
        return result

    def get(self, id_or_key: str) -> Subject:
        """By id (deleted subjects included) or by the key of a live subject."""
        subject = self.subjects.get_by_id(id_or_key) if is_ulid(id_or_key) else None
        subject = subject or self.subjects.get_active_by_key(id_or_key)
        if subject is None:
            raise NotFoundError(f"subject not found: {id_or_key}", resource="Subject")
        return subject

    def list(self) -> list[Subject]:
        return self.subjects.list_active()

    def delete(self, id_or_key: str, *, now: dt.datetime) -> None:
        subject = self.get(id_or_key)
        if subject.deleted_at is None:
            self.subjects.save(dataclasses.replace(subject, deleted_at=now, updated_at=now))
