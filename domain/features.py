"""OpenMeter features: create, get, list, archive (openmeter-core.md 7.1) and the cost query (ruling 2).

A feature names what a customer is entitled to. A metered feature references a meter by slug and
may narrow the meter's events with group-by filters; static and boolean features have no meter.
Features are immutable: they are only archived, which frees their key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.ids import is_ulid, new_id

FEATURE_AGGREGATIONS = frozenset({"SUM", "COUNT", "UNIQUE_COUNT", "LATEST"})
FEATURE_ORDER_BY = {"id": "created_at", "key": "key", "name": "name", "createdAt": "created_at", "updatedAt": "updated_at"}


@dataclass(frozen=True)
class Feature:
    id: str
    key: str
    name: str
    metadata: dict[str, str] | None
    meter_slug: str | None
    meter_group_by_filters: dict[str, dict[str, Any]] | None
    """Advanced filters `{groupByKey: {"$eq": "v"}, ...}` (legacy plain filters are stored converted)."""
    unit_cost: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None = None

    @property
    def legacy_group_by_filters(self) -> dict[str, str] | None:
        """`{k: v}` when every filter is a plain `$eq` (the deprecated response field), else None."""
        filters = self.meter_group_by_filters
        if not filters:
            return None
        legacy = {}
        for key, condition in filters.items():
            if set(condition) != {"$eq"} or not isinstance(condition["$eq"], str):
                return None
            legacy[key] = condition["$eq"]
        return legacy


@dataclass(frozen=True)
class MeterInfo:
    """What features and entitlements need to know about a meter."""

    id: str
    key: str
    aggregation: str
    group_by: frozenset[str]


class MeterLookup(Protocol):
    def get(self, id_or_key: str) -> MeterInfo:
        """The live meter, or NotFoundError."""
        ...


class MeteringMeters:
    """MeterLookup over domain.metering (the meters engineer's service)."""

    def __init__(self, session: Session):
        self.session = session

    def get(self, id_or_key: str) -> MeterInfo:
        from domain.metering.meters import MeterService

        meter = MeterService(self.session).get_active(id_or_key)
        aggregation = getattr(meter.aggregation, "value", meter.aggregation)
        return MeterInfo(id=meter.id, key=meter.key, aggregation=str(aggregation), group_by=frozenset(meter.group_by or {}))


@dataclass(frozen=True)
class FeatureCreate:
    key: str
    name: str
    metadata: dict[str, str] | None = None
    meter_slug: str | None = None
    meter_group_by_filters: dict[str, str] | None = None
    advanced_meter_group_by_filters: dict[str, dict[str, Any]] | None = None
    unit_cost: dict[str, Any] | None = None


@dataclass(frozen=True)
class Page:
    """Offset/limit of a list; `paginated` tells whether the caller asked for page/pageSize."""

    offset: int = 0
    limit: int = 100
    paginated: bool = False
    page: int = 1
    page_size: int = 100

    @classmethod
    def of(cls, *, page: int | None, page_size: int | None, offset: int | None, limit: int | None) -> Page:
        if page is not None or page_size is not None:
            page, page_size = page or 1, page_size or 100
            return cls(offset=(page - 1) * page_size, limit=page_size, paginated=True, page=page, page_size=page_size)
        return cls(offset=offset or 0, limit=limit or 100)


class FeatureService:
    def __init__(self, session: Session, *, meters: MeterLookup | None = None):
        from storage.features import FeatureRepository

        self.session = session
        self.features = FeatureRepository(session)
        self.meters = meters or MeteringMeters(session)

    def create(self, inputs: FeatureCreate, *, now: dt.datetime) -> Feature:
        if is_ulid(inputs.key) and len(inputs.key) == 26:
            raise ValidationError("Feature key cannot be a valid ULID")
        filters = inputs.advanced_meter_group_by_filters
        if filters is None and inputs.meter_group_by_filters:
            filters = {key: {"$eq": value} for key, value in inputs.meter_group_by_filters.items()}
        # Filters narrow a meter's events; without a meter there is nothing to narrow.
        filters = (filters or None) if inputs.meter_slug is not None else None
        if inputs.meter_slug is not None:
            meter = self.meters.get(inputs.meter_slug)
            if meter.aggregation not in FEATURE_AGGREGATIONS:
                raise ValidationError(f"meter {meter.key} has aggregation {meter.aggregation}; features support SUM, COUNT, UNIQUE_COUNT and LATEST")
            unknown = sorted(set(filters or {}) - meter.group_by)
            if unknown:
                raise ValidationError(f"meter {meter.key} has no group by {', '.join(unknown)}")
        existing = self.features.get_active_by_key(inputs.key)
        if existing is not None:
            raise ConflictError(f"feature {existing.id} with key {inputs.key} already exists",
                                extensions={"conflictingEntityId": existing.id})  # fmt: skip
        feature = Feature(
            id=new_id(), key=inputs.key, name=inputs.name, metadata=inputs.metadata or None, meter_slug=inputs.meter_slug,
            meter_group_by_filters=filters, unit_cost=inputs.unit_cost, created_at=now, updated_at=now,
        )  # fmt: skip
        self.features.save(feature)
        return feature

    def get(self, id_or_key: str, *, include_archived: bool = False) -> Feature:
        """By id or by the key of an active feature; archived features are not found (unless asked)."""
        feature = self.features.get_by_id(id_or_key) if is_ulid(id_or_key) else None
        if feature is not None and feature.archived_at is not None and not include_archived:
            feature = None
        feature = feature or self.features.get_active_by_key(id_or_key)
        if feature is None:
            raise NotFoundError(f"feature not found: {id_or_key}")
        return feature

    def find(self, id_or_key: str) -> Feature | None:
        try:
            return self.get(id_or_key)
        except NotFoundError:
            return None

    def list(self, *, meter_slugs: list[str] | None = None, include_archived: bool = False, order_by: str | None = None,
             descending: bool = False, page: Page = Page()) -> tuple[list[Feature], int]:  # fmt: skip
        column = FEATURE_ORDER_BY.get(order_by or "key", "key")
        return self.features.list(meter_slugs=meter_slugs or None, include_archived=include_archived, order_column=column,
                                  descending=descending, offset=page.offset, limit=page.limit)  # fmt: skip

    def archive(self, id_or_key: str, *, now: dt.datetime) -> Feature:
        feature = self.get(id_or_key)
        archived = dataclasses.replace(feature, archived_at=now, updated_at=now)
        self.features.save(archived)
        return archived


# --- cost (ruling 2: Tollgate implements queryFeatureCost) ------------------------------------------

COST_CURRENCY = "USD"
_LLM_PRICES = {"input": "inputPerToken", "output": "outputPerToken", "cache_read": "cacheReadPerToken",
               "reasoning": "reasoningPerToken", "cache_write": "cacheWritePerToken"}  # fmt: skip


def number_text(value: Any) -> str:
    """A decimal as the API's Numeric string: no exponent, no trailing zeros (`1.5`, `0`, `-2`)."""
    from decimal import Decimal

    text = format(Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


@dataclass(frozen=True)
class CostRow:
    usage: Any
    cost: Any
    detail: str | None
    window_start: dt.datetime
    window_end: dt.datetime
    subject: str | None
    customer_id: str | None
    group_by: dict[str, str]


@dataclass(frozen=True)
class CostResult:
    from_: dt.datetime | None
    to: dt.datetime | None
    window_size: str | None
    currency: str
    rows: list[CostRow]


def _merge_filters(feature_filters: dict[str, Any] | None, extra: dict[str, Any] | None) -> dict[str, Any] | None:
    merged = dict(feature_filters or {})
    for key, condition in (extra or {}).items():
        merged[key] = {"$and": [merged[key], condition]} if key in merged else condition
    return merged or None


def feature_cost(session: Session, feature: Feature, query: Any) -> CostResult:
    """The feature's meter usage (narrowed by the feature's filters) times its unit cost.

    `query` is a `domain.metering.query.MeterQuery`. A manual unit cost multiplies every row; an LLM unit
    cost with inline `pricing` uses the per-token price of the row's token type (`tokenType`, or the
    group-by value named by `tokenTypeProperty`). Rows without a price (also: a feature without unit
    cost) report cost 0 and say why in `detail`; a feature without a meter has no rows.
    """
    from decimal import Decimal

    from domain.metering.query import MeterQuery, QueryService

    if feature.meter_slug is None:  # no meter, no usage: nothing to cost
        return CostResult(from_=query.from_, to=query.to, window_size=query.window_size, currency=COST_CURRENCY, rows=[])
    unit = feature.unit_cost or {}
    group_by = list(query.group_by)
    token_property = unit.get("tokenTypeProperty") if unit.get("type") == "llm" else None
    if token_property and not unit.get("tokenType") and token_property not in group_by:
        group_by.append(token_property)
    extra = dict(query.advanced_filters or {})
    for key, values in (query.filter_group_by or {}).items():
        extra[key] = _merge_filters({key: extra[key]} if key in extra else None, {key: {"$in": list(values)}})[key]
    effective = MeterQuery(
        from_=query.from_, to=query.to, window_size=query.window_size, window_time_zone=query.window_time_zone,
        subjects=query.subjects, customer_ids=query.customer_ids, group_by=group_by,
        advanced_filters=_merge_filters(feature.meter_group_by_filters, extra),
    )  # fmt: skip
    result = QueryService(session).run(feature.meter_slug, effective)
    rows = []
    for row in result.rows:
        price, detail = None, None
        if not unit:
            detail = f"feature {feature.key} has no unit cost"
        elif unit.get("type") == "manual":
            price = Decimal(str(unit["amount"]))
        else:
            token_type = unit.get("tokenType") or (row.group_by.get(token_property) if token_property else None)
            pricing = unit.get("pricing") or {}
            field = _LLM_PRICES.get(token_type or "")
            if field and pricing.get(field) is not None:
                price = Decimal(str(pricing[field]))
            else:
                detail = f"no price for token type {token_type!r}" if token_type else "no token type to price"
        shown = {k: v for k, v in row.group_by.items() if k in query.group_by}
        rows.append(CostRow(usage=row.value, cost=row.value * price if price is not None else Decimal(0), detail=detail,
                            window_start=row.window_start, window_end=row.window_end, subject=row.subject,
                            customer_id=row.customer_id, group_by=shown))  # fmt: skip
    return CostResult(from_=query.from_, to=query.to, window_size=query.window_size, currency=COST_CURRENCY, rows=rows)
