"""Usage periods: first period from measureUsageFrom, manual resets and retainAnchor."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.credit import ErrorCode, InvalidResetError, Period, Recurrence, Reset, UsagePeriodSchedule


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


ANCHOR = T("2024-01-01T00:00:00+00:00")
MONTHLY = Recurrence("MONTH", ANCHOR)


def test_first_period_starts_at_measure_usage_from():
    schedule = UsagePeriodSchedule(MONTHLY, T("2024-03-10T12:34:00+00:00"))
    assert schedule.period_at(T("2024-03-20T00:00:00+00:00")) == Period(
        T("2024-03-10T12:34:00+00:00"), T("2024-04-01T00:00:00+00:00")
    )
    # later periods sit on the anchor grid
    assert schedule.period_at(T("2024-04-02T00:00:00+00:00")) == Period(
        T("2024-04-01T00:00:00+00:00"), T("2024-05-01T00:00:00+00:00")
    )
    # instants before measurement map to the first period
    assert schedule.period_at(T("2024-01-05T00:00:00+00:00")).from_ == T("2024-03-10T12:34:00+00:00")


def test_reset_without_retain_anchor_starts_a_new_grid():
    reset = Reset(T("2024-03-10T12:00:00+00:00"))
    schedule = UsagePeriodSchedule(MONTHLY, ANCHOR, [reset])
    assert schedule.period_at(T("2024-03-10T12:00:00+00:00")) == Period(
        T("2024-03-10T12:00:00+00:00"), T("2024-04-10T12:00:00+00:00")
    )
    assert schedule.period_at(T("2024-03-10T11:59:00+00:00")) == Period(
        T("2024-03-01T00:00:00+00:00"), T("2024-03-10T12:00:00+00:00")
    )
    assert schedule.period_at(T("2024-05-01T00:00:00+00:00")).from_ == T("2024-04-10T12:00:00+00:00")


def test_reset_with_retain_anchor_keeps_the_original_grid():
    reset = Reset(T("2024-03-10T12:00:00+00:00"), retain_anchor=True)
    schedule = UsagePeriodSchedule(MONTHLY, ANCHOR, [reset])
    assert schedule.period_at(T("2024-03-15T00:00:00+00:00")) == Period(
        T("2024-03-10T12:00:00+00:00"), T("2024-04-01T00:00:00+00:00")
    )
    assert schedule.period_at(T("2024-04-15T00:00:00+00:00")).from_ == T("2024-04-01T00:00:00+00:00")


def test_retain_anchor_keeps_the_anchor_of_a_previous_reset():
    first = Reset(T("2024-03-10T12:00:00+00:00"))  # new grid on the 10th
    second = Reset(T("2024-03-20T00:00:00+00:00"), retain_anchor=True)
    schedule = UsagePeriodSchedule(MONTHLY, ANCHOR, [second, first])  # any input order
    assert schedule.period_at(T("2024-03-25T00:00:00+00:00")) == Period(
        T("2024-03-20T00:00:00+00:00"), T("2024-04-10T12:00:00+00:00")
    )


def test_last_reset_is_the_current_period_start():
    schedule = UsagePeriodSchedule(MONTHLY, T("2024-01-15T00:00:00+00:00"), [Reset(T("2024-03-10T12:00:00+00:00"))])
    assert schedule.last_reset(T("2024-01-20T00:00:00+00:00")) == T("2024-01-15T00:00:00+00:00")
    assert schedule.last_reset(T("2024-02-20T00:00:00+00:00")) == T("2024-02-01T00:00:00+00:00")
    assert schedule.last_reset(T("2024-03-11T00:00:00+00:00")) == T("2024-03-10T12:00:00+00:00")


def test_reset_instants_mark_manual_ones_and_their_overage_policy():
    resets = [
        Reset(T("2024-02-10T00:00:00+00:00"), preserve_overage=True, retain_anchor=True),
        Reset(T("2024-03-01T00:00:00+00:00")),  # on a boundary: one reset, the manual one
    ]
    schedule = UsagePeriodSchedule(MONTHLY, ANCHOR, resets, preserve_overage_at_reset=False)
    instants = schedule.reset_instants(ANCHOR, T("2024-04-01T00:00:00+00:00"))
    assert [(r.at, r.preserve_overage, r.manual) for r in instants] == [
        (T("2024-02-01T00:00:00+00:00"), False, False),
        (T("2024-02-10T00:00:00+00:00"), True, True),
        (T("2024-03-01T00:00:00+00:00"), False, True),
        (T("2024-04-01T00:00:00+00:00"), False, False),
    ]
    # (after, until]
    assert schedule.reset_instants(T("2024-02-01T00:00:00+00:00"), T("2024-02-10T00:00:00+00:00"))[-1].at == T(
        "2024-02-10T00:00:00+00:00"
    )
    assert schedule.reset_instants(T("2024-02-10T00:00:00+00:00"), T("2024-02-20T00:00:00+00:00")) == []


def test_manual_reset_preserve_none_uses_the_entitlement_setting():
    schedule = UsagePeriodSchedule(
        MONTHLY, ANCHOR, [Reset(T("2024-01-10T00:00:00+00:00"))], preserve_overage_at_reset=True
    )
    assert schedule.reset_instants(ANCHOR, T("2024-01-11T00:00:00+00:00"))[0].preserve_overage is True


def test_identical_duplicate_resets_collapse_and_conflicting_ones_are_rejected():
    at = T("2024-01-10T00:00:00+00:00")
    schedule = UsagePeriodSchedule(MONTHLY, ANCHOR, [Reset(at), Reset(at)])
    assert len(schedule.resets) == 1
    with pytest.raises(InvalidResetError) as info:
        UsagePeriodSchedule(MONTHLY, ANCHOR, [Reset(at), Reset(at, retain_anchor=True)])
    assert info.value.code == ErrorCode.CONFLICTING_RESETS


def test_resets_must_be_after_measure_usage_from():
    with pytest.raises(InvalidResetError):
        UsagePeriodSchedule(MONTHLY, ANCHOR, [Reset(ANCHOR)])
