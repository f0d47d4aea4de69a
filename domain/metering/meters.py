"""Meters: the model, create/update validation and `MeterService` (openmeter-core.md 3).

A meter is addressed by its ULID (deleted meters included) or by the slug of a live meter. Only
`name`, `description`, `groupBy` and `metadata` change after creation; an update replaces them
(an omitted name becomes the slug, an omitted groupBy or metadata is cleared, an omitted description
stays). Changing `groupBy` re-derives the meter's usage from the stored events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domain.errors import ConflictError, NotFoundError, ProblemCollector
from domain.ids import is_ulid, new_id
from domain.metering.jsonpath import is_valid_path

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session


class Aggregation(str, enum.Enum):
    SUM = "SUM"
    COUNT = "COUNT"
    UNIQUE_COUNT = "UNIQUE_COUNT"
    AVG = "AVG"
    MIN = "MIN"
    MAX = "MAX"
    LATEST = "LATEST"


SLUG_PATTERN = r"^[a-z0-9]+(?:_[a-z0-9]+)*$"
_SLUG = re.compile(SLUG_PATTERN)


@dataclass(frozen=True)
class Meter:
    id: str
    key: str
    name: str
    aggregation: Aggregation
    event_type: str
    value_property: str | None
    group_by: dict[str, str]
    created_at: dt.datetime
    updated_at: dt.datetime
    description: str | None = None
    event_from: dt.datetime | None = None
    metadata: dict[str, str] | None = None
    deleted_at: dt.datetime | None = None

    @property
    def slug(self) -> str:
        return self.key


@dataclass(frozen=True)
class MeterInput:
    slug: str
    aggregation: Aggregation
    event_type: str
    name: str | None = None
    description: str | None = None
    event_from: dt.datetime | None = None
    value_property: str | None = None
    group_by: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class MeterChanges:
    """A PUT: the four changeable fields, `description` None meaning "not sent, unchanged"."""

    name: str | None = None
    description: str | None = None
    group_by: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] | None = None


def validate_group_by(group_by: dict[str, str], value_property: str | None, problems: ProblemCollector) -> None:
    for key, path in group_by.items():
        problems.check(is_valid_path(path), f"invalid JSONPath: {path}", field=f"groupBy.{key}")
        problems.check(path != value_property, "group by path cannot be the value property", field=f"groupBy.{key}")


def validate_create(data: MeterInput) -> None:
    problems = ProblemCollector()
    problems.check(bool(_SLUG.match(data.slug)) and len(data.slug) <= 64, f"invalid meter slug: {data.slug}", field="slug")
    problems.check(bool(data.event_type), "event type must not be empty", field="eventType")
    if data.aggregation is Aggregation.COUNT:
        problems.check(
            data.value_property is None, "meter value property is not allowed when the aggregation is count", field="valueProperty"
        )
    else:
        problems.check(data.value_property is not None, "meter value property is required", field="valueProperty")
        if data.value_property is not None:
            problems.check(is_valid_path(data.value_property), f"invalid JSONPath: {data.value_property}", field="valueProperty")
    problems.check(data.description is None or bool(data.description), "description must not be empty", field="description")
    validate_group_by(data.group_by, data.value_property, problems)
    problems.raise_if_any()


def _derivation(meter: Meter) -> tuple:
    return (meter.group_by,)


class MeterService:
    """Meters by id or slug. Other domains use `get(id_or_key)` (NotFoundError when unknown)."""

    def __init__(self, session: Session):
        from storage.meters import MeterRepository

        self.session = session
        self.meters = MeterRepository(session)

    def find(self, id_or_key: str) -> Meter | None:
        meter = self.meters.get_by_id(id_or_key) if is_ulid(id_or_key) else None
        return meter or self.meters.get_active_by_slug(id_or_key)

    def get(self, id_or_key: str) -> Meter:
        """By id (deleted meters included) or by the slug of a live meter."""
        meter = self.find(id_or_key)
        if meter is None:
            raise NotFoundError(f"meter not found: {id_or_key}", resource="Meter")
        return meter

    def get_active(self, id_or_key: str) -> Meter:
        meter = self.get(id_or_key)
        if meter.deleted_at is not None:
            raise NotFoundError(f"meter not found: {id_or_key}", resource="Meter")
        return meter

    def list(
        self, *, include_deleted: bool = False, order_by: str = "key", descending: bool = False,
        offset: int = 0, limit: int | None = None,
    ) -> list[Meter]:  # fmt: skip
        return self.meters.list(include_deleted=include_deleted, order_by=order_by, descending=descending, offset=offset, limit=limit)

    def create(self, data: MeterInput, *, now: dt.datetime) -> Meter:
        validate_create(data)
        if self.meters.get_active_by_slug(data.slug) is not None:
            raise ConflictError("meter with the same slug already exists", extensions={"slug": data.slug})
        event_from = data.event_from.astimezone(dt.timezone.utc) if data.event_from else None
        meter = Meter(
            id=new_id(), key=data.slug, name=data.name or data.slug, description=data.description,
            aggregation=data.aggregation, event_type=data.event_type, event_from=event_from,
            value_property=data.value_property, group_by=dict(data.group_by), metadata=data.metadata,
            created_at=now, updated_at=now,
        )  # fmt: skip
        self.meters.save(meter)
        from storage.events import UsageRepository

        UsageRepository(self.session).derive(meter)
        return meter

    def update(self, id_or_key: str, changes: MeterChanges, *, now: dt.datetime) -> Meter:
        current = self.get_active(id_or_key)
        problems = ProblemCollector()
        problems.check(changes.description is None or bool(changes.description), "description must not be empty", field="description")
        validate_group_by(changes.group_by, current.value_property, problems)
        problems.raise_if_any()
        removed = set(current.group_by) - set(changes.group_by)
        if removed:
            for feature in self._active_features(current):
                used = sorted(removed & set(feature.meter_group_by_filters or {}))
                if used:
                    raise ConflictError(f"group by {', '.join(used)} is used by feature {feature.key} and cannot be removed")
        meter = dataclasses.replace(
            current,
            name=changes.name or current.key,
            description=changes.description if changes.description is not None else current.description,
            group_by=dict(changes.group_by),
            metadata=changes.metadata,
            updated_at=now,
        )
        self.meters.save(meter)
        if _derivation(meter) != _derivation(current):
            from storage.events import UsageRepository

            UsageRepository(self.session).derive(meter)
        return meter

    def delete(self, id_or_key: str, *, now: dt.datetime) -> None:
        meter = self.get(id_or_key)
        if meter.deleted_at is None:
            if self._active_features(meter):
                raise ConflictError("meter has active features and cannot be deleted")
            self.meters.save(dataclasses.replace(meter, deleted_at=now, updated_at=now))

    def _active_features(self, meter: Meter) -> list[Any]:
        """Live (not archived) features of the meter (openmeter-core.md 3.3: they block a delete)."""
        from domain.features import FeatureService

        features, _ = FeatureService(self.session).list(meter_slugs=[meter.key])
        return [feature for feature in features if feature.archived_at is None]

    def active_for_event_types(self, event_types: set[str]) -> list[Meter]:
        return self.meters.active_for_event_types(event_types)

    def all_active(self) -> list[Meter]:
        return self.meters.list(include_deleted=False)
