"""What a meter reads from an event: its value, its value text and its group-by values.

Pure functions, used at ingest (for every live meter of the event's type) and when a meter's usage
is re-derived from the stored events (a new meter, a changed groupBy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domain.metering.jsonpath import extract_text, numeric, parse_path
from domain.metering.meters import Aggregation, Meter


@dataclass(frozen=True)
class MeterReader:
    """A meter's compiled paths: `read(data)` -> (value, value_text, group_key)."""

    meter: Meter
    value_steps: tuple | None
    group_steps: tuple[tuple[str, tuple], ...]
    event_from: int | None
    group_keys: dict[tuple[str, ...], str] = field(default_factory=dict, compare=False)
    """Group key text by group values: a batch repeats few distinct combinations."""

    @classmethod
    def of(cls, meter: Meter) -> MeterReader:
        value_steps = parse_path(meter.value_property) if meter.value_property else None
        group_steps = tuple((key, parse_path(path)) for key, path in sorted(meter.group_by.items()))
        event_from = int(meter.event_from.timestamp()) if meter.event_from else None
        if event_from is not None and meter.event_from.timestamp() > event_from:
            event_from += 1  # events are whole seconds: the first second at or after eventFrom
        return cls(meter, value_steps, group_steps, event_from)

    def read(self, data: dict[str, Any] | None) -> tuple[Decimal | None, str | None, str]:
        value_text = None
        value = None
        if self.value_steps is not None:
            value_text = extract_text(data, self.value_steps) if data is not None else ""
            if self.meter.aggregation is not Aggregation.UNIQUE_COUNT:
                value = numeric(value_text)
        if not self.group_steps:
            return value, value_text, "[]"
        groups = tuple((extract_text(data, steps) if data is not None else "") or "" for _, steps in self.group_steps)
        key = self.group_keys.get(groups)
        if key is None:
            if len(self.group_keys) >= 4096:
                self.group_keys.clear()
            key = self.group_keys[groups] = group_key(list(groups))
        return value, value_text, key


_GROUP_KEY = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def group_key(values: list[str]) -> str:
    """Canonical text of a row's group-by values: a JSON array in the order of the meter's sorted keys."""
    return _GROUP_KEY(values)


def group_index(meter: Meter, key: str) -> int:
    """Where a group-by key's value sits in the stored group key."""
    return sorted(meter.group_by).index(key)
