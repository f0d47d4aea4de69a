"""Stored shapes of entitlements, grants and usage resets (what storage/entitlements.py persists)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

METERED, STATIC, BOOLEAN = "metered", "static", "boolean"
ENTITLEMENT_TYPES = (METERED, STATIC, BOOLEAN)

# A v1 grant response must carry an expiration (ruling 8): a grant without one reports this.
FAR_FUTURE_EXPIRATION = ("YEAR", 100)


@dataclass(frozen=True)
class Entitlement:
    id: str
    type: str
    feature_id: str
    feature_key: str
    customer_id: str
    active_from: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    active_to: dt.datetime | None = None
    deleted_at: dt.datetime | None = None
    metadata: dict[str, str] | None = None
    annotations: dict[str, Any] | None = None
    usage_period_interval: str | None = None
    """ISO-8601 duration (`P1M`) of the usage period; optional for static and boolean."""
    usage_period_anchor: dt.datetime | None = None
    measure_usage_from: dt.datetime | None = None
    is_soft_limit: bool = False
    issue_after_reset: Decimal | None = None
    issue_after_reset_priority: int | None = None
    preserve_overage_at_reset: bool = False
    config: str | None = None

    @property
    def ends_at(self) -> dt.datetime | None:
        """When the entitlement stopped (override or delete), None while it lasts."""
        ends = [t for t in (self.active_to, self.deleted_at) if t is not None]
        return min(ends) if ends else None

    def is_active_at(self, at: dt.datetime) -> bool:
        end = self.ends_at
        return self.active_from <= at and (end is None or at < end)


@dataclass(frozen=True)
class StoredGrant:
    id: str
    entitlement_id: str
    amount: Decimal
    priority: int
    effective_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime | None = None
    expiration_duration: str | None = None
    expiration_count: int | None = None
    min_rollover: Decimal = Decimal(0)
    max_rollover: Decimal = Decimal(0)
    recurrence_interval: str | None = None
    recurrence_anchor: dt.datetime | None = None
    metadata: dict[str, str] | None = None
    annotations: dict[str, Any] | None = None
    voided_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None


@dataclass(frozen=True)
class StoredReset:
    id: str
    entitlement_id: str
    at: dt.datetime
    created_at: dt.datetime
    preserve_overage: bool | None = None
    retain_anchor: bool = False
