"""Checks for operations that change an entitlement's credit state.

Each helper takes the entitlement as it is stored *before* the operation, the
requested time and ``now``; it returns the normalised (minute-truncated) time
to store, or raises a :class:`~domain.credit.errors.CreditValidationError`
subclass (HTTP 400). ``now`` is explicit so callers control the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from .errors import ErrorCode, GrantOperationError, InvalidGrantError, InvalidIntervalError, InvalidResetError
from .model import Grant, MeteredEntitlement, to_decimal
from .periods import Interval, ensure_utc, truncate_to_minute
from .schedule import UsagePeriodSchedule

__all__ = [
    "MIN_USAGE_PERIOD",
    "validate_grant_creation",
    "validate_grant_void",
    "validate_reset",
    "validate_usage_period_interval",
]

MIN_USAGE_PERIOD = timedelta(hours=1)


def _schedule(entitlement: MeteredEntitlement) -> UsagePeriodSchedule:
    return UsagePeriodSchedule(
        entitlement.usage_period,
        entitlement.measure_usage_from,
        entitlement.resets,
        preserve_overage_at_reset=entitlement.preserve_overage_at_reset,
    )


def validate_usage_period_interval(interval: Interval | str) -> Interval:
    """Parse a usage-period interval and require it to be at least one hour long."""
    parsed = Interval.parse(interval)
    if parsed.minimum_length() < MIN_USAGE_PERIOD:
        raise InvalidIntervalError(
            f"usage period {parsed.iso} is shorter than one hour", ErrorCode.USAGE_PERIOD_TOO_SHORT
        )
    return parsed


def validate_reset(entitlement: MeteredEntitlement, *, at: datetime, now: datetime) -> datetime:
    """Check a manual usage reset requested for ``at``; return ``at`` truncated to the minute.

    Rejected: ``at`` after ``now``; ``at`` before the start of the usage period
    current at ``now``; ``at`` not after the last reset (which is that period's
    start, or a stored manual reset).
    """
    at = ensure_utc(at, "reset effectiveAt")
    now = ensure_utc(now, "now")
    if at > now:
        raise InvalidResetError(f"cannot reset at {at.isoformat()}: it is in the future", ErrorCode.RESET_IN_FUTURE)
    reset_at = truncate_to_minute(at)
    schedule = _schedule(entitlement)
    period_start = schedule.period_at(now).from_
    if reset_at < period_start:
        raise InvalidResetError(
            f"reset at {reset_at.isoformat()} is before the current usage period start {period_start.isoformat()}",
            ErrorCode.RESET_BEFORE_PERIOD_START,
        )
    last_reset = max([period_start, *(r.at for r in schedule.resets)])
    if reset_at <= last_reset:
        raise InvalidResetError(
            f"reset at {reset_at.isoformat()} must be after the last reset at {last_reset.isoformat()}",
            ErrorCode.RESET_NOT_AFTER_LAST_RESET,
        )
    return reset_at


def validate_grant_creation(
    entitlement: MeteredEntitlement,
    *,
    amount: Decimal | int | str,
    effective_at: datetime,
    now: datetime,
) -> datetime:
    """Check a new grant; return its ``effective_at`` truncated to the minute.

    Rejected: ``amount <= 0`` (code ``grant_amount_must_be_positive``);
    ``effective_at`` before the start of the usage period current at ``now``.
    A future ``effective_at`` is fine.
    """
    value = to_decimal(amount, "grant amount")
    if value <= 0:
        raise InvalidGrantError("amount must be positive", ErrorCode.GRANT_AMOUNT_MUST_BE_POSITIVE)
    effective = truncate_to_minute(ensure_utc(effective_at, "grant effectiveAt"))
    period_start = _schedule(entitlement).period_at(ensure_utc(now, "now")).from_
    if effective < period_start:
        raise GrantOperationError(
            f"grant effective date {effective.isoformat()} is before the current usage period start "
            f"{period_start.isoformat()}",
            ErrorCode.GRANT_EFFECTIVE_BEFORE_PERIOD_START,
        )
    return effective


def validate_grant_void(
    entitlement: MeteredEntitlement,
    grant: Grant,
    *,
    now: datetime,
    at: datetime | None = None,
) -> datetime:
    """Check voiding ``grant`` at ``at`` (default ``now``); return the void time truncated to the minute.

    Rejected: the grant is already voided; the void time is in the future; it is
    before the start of the usage period current at ``now``.
    """
    now = ensure_utc(now, "now")
    if grant.voided_at is not None:
        raise GrantOperationError(f"grant {grant.id} is already voided", ErrorCode.GRANT_ALREADY_VOIDED)
    void_at = truncate_to_minute(ensure_utc(at, "void at") if at is not None else now)
    if void_at > now:
        raise GrantOperationError(
            f"void time {void_at.isoformat()} must not be in the future", ErrorCode.VOID_IN_FUTURE
        )
    period_start = _schedule(entitlement).period_at(now).from_
    if void_at < period_start:
        raise GrantOperationError(
            f"void time {void_at.isoformat()} is before the current usage period start {period_start.isoformat()}",
            ErrorCode.VOID_BEFORE_PERIOD_START,
        )
    return void_at
