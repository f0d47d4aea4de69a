"""What a usage query asks the storage layer: plain data, no SQL (see `storage.events.UsageRepository`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.metering.meters import Meter


@dataclass(frozen=True)
class Windows:
    """How an event time maps to a window.

    Fixed windows (`length` seconds): start = floor((t + offset) / length) * length - offset.
    Explicit `ranges`: window i holds lo_i <= t < hi_i (ranges may overlap: cumulative questions).
    """

    length: int | None = None
    offset: int = 0
    ranges: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True)
class UsageSpec:
    meter: Meter
    lo: int | None = None
    """Events at or after (epoch seconds)."""
    hi: int | None = None
    """Events strictly before (epoch seconds)."""
    windows: Windows | None = None
    subjects: tuple[str, ...] | None = None
    """Only these subjects (None: every subject)."""
    customers: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    """Only these customers' subjects, each row labelled with its customer id."""
    group_by: tuple[str, ...] = ()
    by_subject: bool = False
    group_filters: tuple[tuple[str, Any], ...] = ()
    """(meter group-by key, FilterString dict): rows whose value for the key passes the filter."""


@dataclass(slots=True)
class UsageRow:
    """One aggregated row (tens of thousands per large query: slots, not frozen, so it is cheap to build)."""

    window: int | None
    """The window's start (fixed windows) or index (ranges); None without windows."""
    subject: str | None
    customer_id: str | None
    groups: dict[str, str]
    value: Decimal
    first_time: int
    last_time: int
