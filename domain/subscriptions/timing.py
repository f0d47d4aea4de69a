"""Calendar arithmetic for subscriptions: ISO 8601 durations added to UTC instants, aligned billing
periods and the resolution of a `SubscriptionTiming` (openmeter-billing.md 2.3).

Months are added on the calendar, clamped to the month's last day (Jan 31 + P1M = Feb 28/29), and
the k-th boundary of a cadence is always computed from the anchor (anchor + k x cadence), so
clamping never drifts from one period to the next.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from domain.catalog import durations
from domain.errors import ValidationError

IMMEDIATE = "immediate"
NEXT_BILLING_CYCLE = "next_billing_cycle"
CREATE_PAST_TOLERANCE = dt.timedelta(minutes=2)


def add(instant: dt.datetime, duration: durations.Duration, times: int = 1) -> dt.datetime:
    """`instant + times x duration`, months on the calendar (clamped to the month's end); a result
    outside the supported calendar (years 1-9999) is a 400."""
    try:
        return _add(instant, duration, times)
    except (OverflowError, ValueError):
        raise ValidationError("a time of the subscription is out of the supported range (years 1-9999)") from None


def _add(instant: dt.datetime, duration: durations.Duration, times: int) -> dt.datetime:
    sign = -1 if duration.negative else 1
    months = sign * times * (duration.years * 12 + duration.months)
    result = instant
    if months:
        index = instant.year * 12 + (instant.month - 1) + months
        year, month = divmod(index, 12)
        day = min(instant.day, calendar.monthrange(year, month + 1)[1])
        result = instant.replace(year=year, month=month + 1, day=day)
    seconds = duration.hours * 3600 + duration.minutes * 60 + duration.seconds
    return result + sign * times * dt.timedelta(
        days=duration.weeks * 7 + duration.days, seconds=int(seconds), microseconds=int((seconds - int(seconds)) * 1_000_000)
    )


def add_text(instant: dt.datetime, duration: str, times: int = 1) -> dt.datetime:
    try:
        parsed = durations.parse(duration)
    except durations.InvalidDuration:
        raise ValidationError(f"invalid ISO 8601 duration: {duration!r}") from None
    return add(instant, parsed, times)


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime


def _approx_seconds(duration: durations.Duration) -> float:
    lengths = duration.lengths()
    return float(sum(lengths) / len(lengths))


def cadence_period_at(anchor: dt.datetime, cadence: str, at: dt.datetime) -> Period:
    """The recurrence period of `cadence` anchored at `anchor` that contains `at` (start <= at < end)."""
    duration = durations.parse(cadence)
    if not duration.is_positive:
        raise ValueError(f"cadence must be positive: {cadence}")
    k = int((at - anchor).total_seconds() // _approx_seconds(duration))
    if k > 0:
        k -= 1  # approach from below: a too-large guess could leave the calendar
    while add(anchor, duration, k) > at:
        k -= 1
    while add(anchor, duration, k + 1) <= at:
        k += 1
    return Period(add(anchor, duration, k), add(anchor, duration, k + 1))


def aligned_period_at(anchor: dt.datetime, cadence: str, at: dt.datetime, phase_start: dt.datetime,
                      phase_end: dt.datetime | None) -> Period:  # fmt: skip
    """The billing period at `at`, clipped to the containing phase (`GetAlignedBillingPeriodAt`)."""
    period = cadence_period_at(anchor, cadence, at)
    start = max(period.start, phase_start)
    end = period.end if phase_end is None else min(period.end, phase_end)
    return Period(start, end)


def parse_timing(value: object, field: str = "timing") -> str | dt.datetime:
    """`immediate`, `next_billing_cycle` or an RFC 3339 time (as UTC)."""
    if value in (IMMEDIATE, NEXT_BILLING_CYCLE):
        return value  # type: ignore[return-value]
    if isinstance(value, dt.datetime):
        instant = value
    else:
        try:
            instant = dt.datetime.fromisoformat(str(value).replace("z", "Z"))
        except ValueError:
            raise ValidationError(f"invalid timing: {value!r}") from None
    if instant.tzinfo is None:
        raise ValidationError(f"invalid timing: {value!r} has no time zone")
    return instant.astimezone(dt.timezone.utc)


def parse_instant(value: object, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        instant = value
    else:
        try:
            instant = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValidationError(f"invalid date-time in {field}: {value!r}") from None
    if instant.tzinfo is None:
        raise ValidationError(f"{field} must carry a time zone")
    return instant.astimezone(dt.timezone.utc)
