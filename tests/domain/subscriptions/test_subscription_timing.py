"""Subscription calendar arithmetic and the status machine (openmeter-billing.md 2.2, 2.3)."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.errors import ForbiddenError, ValidationError
from domain.subscriptions import timing
from domain.subscriptions.model import Subscription

UTC = dt.timezone.utc


def _at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def test_months_are_added_on_the_calendar_and_clamped_to_the_month_end():
    assert timing.add_text(_at(2025, 1, 31), "P1M") == _at(2025, 2, 28)
    assert timing.add_text(_at(2024, 1, 31), "P1M") == _at(2024, 2, 29)
    assert timing.add_text(_at(2025, 1, 31), "P1M", 3) == _at(2025, 4, 30)
    assert timing.add_text(_at(2025, 3, 31), "P1M", -1) == _at(2025, 2, 28)
    assert timing.add_text(_at(2025, 1, 1, 12), "P1Y2M3DT4H") == _at(2026, 3, 4, 16)
    assert timing.add_text(_at(2025, 1, 1), "P2W") == _at(2025, 1, 15)


def test_cadence_periods_are_counted_from_the_anchor_without_drift():
    anchor = _at(2025, 1, 31)
    # The fourth monthly period starts on April 30 (anchor + 3 months), not on the 28th.
    period = timing.cadence_period_at(anchor, "P1M", _at(2025, 5, 10))
    assert (period.start, period.end) == (_at(2025, 4, 30), _at(2025, 5, 31))
    # An instant before the anchor falls in an earlier period; a boundary starts its period.
    assert timing.cadence_period_at(anchor, "P1M", _at(2024, 12, 31)).start == _at(2024, 12, 31)
    assert timing.cadence_period_at(anchor, "P1M", _at(2025, 2, 28)).start == _at(2025, 2, 28)
    weekly = timing.cadence_period_at(_at(2025, 1, 6), "P1W", _at(2025, 3, 1, 23, 59))
    assert (weekly.start, weekly.end) == (_at(2025, 2, 24), _at(2025, 3, 3))


def test_aligned_period_is_clipped_to_the_phase():
    period = timing.aligned_period_at(_at(2025, 1, 1), "P1M", _at(2025, 1, 5), _at(2025, 1, 1), _at(2025, 1, 15))
    assert (period.start, period.end) == (_at(2025, 1, 1), _at(2025, 1, 15))
    period = timing.aligned_period_at(_at(2025, 1, 1), "P1M", _at(2025, 1, 20), _at(2025, 1, 15), None)
    assert (period.start, period.end) == (_at(2025, 1, 15), _at(2025, 2, 1))


def test_timing_values():
    assert timing.parse_timing("immediate") == "immediate"
    assert timing.parse_timing("next_billing_cycle") == "next_billing_cycle"
    assert timing.parse_timing("2025-01-01T01:00:00+01:00") == _at(2025, 1, 1)
    with pytest.raises(ValidationError):
        timing.parse_timing("2025-01-01T00:00:00")  # no zone
    with pytest.raises(ValidationError):
        timing.parse_timing("soon")


def _subscription(active_from: dt.datetime, active_to: dt.datetime | None = None, deleted_at: dt.datetime | None = None):
    return Subscription(id="S", customer_id="C", name="n", description=None, metadata=None, plan=None, currency="USD",
                        billing_cadence="P1M", pro_rating={}, billing_anchor=active_from, active_from=active_from,
                        active_to=active_to, phases=[], created_at=active_from, updated_at=active_from, deleted_at=deleted_at)  # fmt: skip


def test_status_machine():
    now = _at(2025, 6, 1)
    assert _subscription(_at(2025, 7, 1)).status(now) == "scheduled"
    assert _subscription(_at(2025, 5, 1)).status(now) == "active"
    assert _subscription(_at(2025, 5, 1), _at(2025, 7, 1)).status(now) == "canceled"
    assert _subscription(_at(2025, 5, 1), now).status(now) == "inactive"
    assert _subscription(_at(2025, 7, 1), deleted_at=now).status(now) == "inactive"
    _subscription(_at(2025, 5, 1)).require("cancel", now)
    with pytest.raises(ForbiddenError, match="transition delete in state active not allowed"):
        _subscription(_at(2025, 5, 1)).require("delete", now)
    with pytest.raises(ForbiddenError, match="transition continue in state scheduled not allowed"):
        _subscription(_at(2025, 7, 1)).require("continue", now)


def test_overlap_is_half_open():
    sub = _subscription(_at(2025, 1, 1), _at(2025, 2, 1))
    assert not sub.overlaps(_at(2025, 2, 1), None)
    assert sub.overlaps(_at(2025, 1, 31), None)
    assert not sub.overlaps(_at(2024, 12, 1), _at(2025, 1, 1))
    assert not _subscription(_at(2025, 1, 1), _at(2025, 1, 1)).overlaps(_at(2024, 1, 1), None)  # never active


def test_out_of_range_and_invalid_durations_are_400s():
    with pytest.raises(ValidationError):
        timing.add_text(_at(9999, 6, 1), "P1Y")
    with pytest.raises(ValidationError):
        timing.add_text(_at(2025, 1, 1), "P1X")
