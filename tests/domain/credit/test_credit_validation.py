"""Checks behind resetEntitlementUsage, grant creation and grant void."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from domain.credit import (
    CreditValidationError,
    ErrorCode,
    Grant,
    GrantOperationError,
    InvalidGrantError,
    InvalidIntervalError,
    InvalidResetError,
    MeteredEntitlement,
    Recurrence,
    Reset,
    validate_grant_creation,
    validate_grant_void,
    validate_reset,
    validate_usage_period_interval,
)

MIN = timedelta(minutes=1)


def T(text: str) -> datetime:
    return datetime.fromisoformat(text)


MEASURE = T("2024-01-10T00:00:00+00:00")
NOW = T("2024-03-15T10:20:30+00:00")
PERIOD_START = T("2024-03-01T00:00:00+00:00")


def entitlement(resets=()):
    return MeteredEntitlement(
        usage_period=Recurrence("MONTH", T("2024-01-01T00:00:00+00:00")),
        measure_usage_from=MEASURE,
        resets=tuple(resets),
    )


def grant(**kwargs):
    base = dict(id="g1", amount=Decimal(10), priority=1, effective_at=MEASURE, created_at=MEASURE)
    base.update(kwargs)
    return Grant(**base)


# ------------------------------------------------------------------ reset


def test_reset_returns_the_minute_truncated_time():
    assert validate_reset(entitlement(), at=NOW, now=NOW) == T("2024-03-15T10:20:00+00:00")
    assert validate_reset(entitlement(), at=PERIOD_START + MIN, now=NOW) == PERIOD_START + MIN


@pytest.mark.parametrize(
    ("at", "resets", "code"),
    [
        (NOW + timedelta(seconds=1), (), ErrorCode.RESET_IN_FUTURE),
        (PERIOD_START - MIN, (), ErrorCode.RESET_BEFORE_PERIOD_START),
        (PERIOD_START, (), ErrorCode.RESET_NOT_AFTER_LAST_RESET),  # the boundary is the last reset
        (T("2024-03-05T00:00:00+00:00"), [Reset(T("2024-03-10T00:00:00+00:00"))], ErrorCode.RESET_BEFORE_PERIOD_START),
        (T("2024-03-10T00:00:30+00:00"), [Reset(T("2024-03-10T00:00:00+00:00"))], ErrorCode.RESET_NOT_AFTER_LAST_RESET),
    ],
)
def test_reset_rejections(at, resets, code):
    with pytest.raises(InvalidResetError) as info:
        validate_reset(entitlement(resets), at=at, now=NOW)
    assert info.value.code == code
    assert isinstance(info.value, CreditValidationError)


def test_reset_at_measure_usage_from_is_rejected_in_the_first_period():
    with pytest.raises(InvalidResetError) as info:
        validate_reset(entitlement(), at=MEASURE, now=MEASURE + timedelta(days=2))
    assert info.value.code == ErrorCode.RESET_NOT_AFTER_LAST_RESET


# ------------------------------------------------------------------ grant creation


def test_grant_creation_truncates_and_allows_future_effective_at():
    assert validate_grant_creation(entitlement(), amount=5, effective_at=NOW, now=NOW) == T("2024-03-15T10:20:00+00:00")
    future = NOW + timedelta(days=40)
    assert validate_grant_creation(entitlement(), amount="0.5", effective_at=future, now=NOW) == future.replace(
        second=0
    )


def test_grant_creation_rejects_effective_at_before_the_current_period():
    with pytest.raises(GrantOperationError) as info:
        validate_grant_creation(entitlement(), amount=5, effective_at=PERIOD_START - MIN, now=NOW)
    assert info.value.code == ErrorCode.GRANT_EFFECTIVE_BEFORE_PERIOD_START


@pytest.mark.parametrize("amount", [0, "-1", Decimal("0.000")])
def test_grant_creation_rejects_non_positive_amounts(amount):
    with pytest.raises(InvalidGrantError) as info:
        validate_grant_creation(entitlement(), amount=amount, effective_at=NOW, now=NOW)
    assert info.value.code == ErrorCode.GRANT_AMOUNT_MUST_BE_POSITIVE


# ------------------------------------------------------------------ void


def test_void_defaults_to_now_truncated():
    assert validate_grant_void(entitlement(), grant(), now=NOW) == T("2024-03-15T10:20:00+00:00")
    assert validate_grant_void(entitlement(), grant(), now=NOW, at=PERIOD_START) == PERIOD_START


@pytest.mark.parametrize(
    ("target", "at", "code"),
    [
        (grant(voided_at=PERIOD_START), None, ErrorCode.GRANT_ALREADY_VOIDED),
        (grant(), NOW + 2 * MIN, ErrorCode.VOID_IN_FUTURE),
        (grant(), PERIOD_START - MIN, ErrorCode.VOID_BEFORE_PERIOD_START),
    ],
)
def test_void_rejections(target, at, code):
    with pytest.raises(GrantOperationError) as info:
        validate_grant_void(entitlement(), target, now=NOW, at=at)
    assert info.value.code == code


def test_void_within_the_current_minute_is_not_in_the_future():
    # truncated first, like OpenMeter: 10:20:50 -> 10:20:00 <= now
    assert validate_grant_void(entitlement(), grant(), now=NOW, at=NOW + timedelta(seconds=20)) == T(
        "2024-03-15T10:20:00+00:00"
    )


# ------------------------------------------------------------------ usage period


def test_usage_period_must_be_at_least_an_hour():
    assert validate_usage_period_interval("PT1H").iso == "PT1H"
    assert validate_usage_period_interval("MONTH").name == "MONTH"
    with pytest.raises(InvalidIntervalError) as info:
        validate_usage_period_interval("PT59M")
    assert info.value.code == ErrorCode.USAGE_PERIOD_TOO_SHORT
