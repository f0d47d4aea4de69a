"""Calendar arithmetic for the credit engine.

Everything here works on timezone-aware datetimes and returns UTC datetimes.
Naive datetimes are rejected with :class:`~domain.credit.errors.InvalidDatetimeError`.

Two different "add a month" rules exist in OpenMeter and both are provided:

* :meth:`Interval.add_to` -- recurrence arithmetic (usage periods, grant
  recurrences). ``anchor + n * interval`` is always computed *from the anchor*
  and the day of month is clamped to the month end, so an anchor of Jan 31
  yields Feb 28/29, then Mar 31 (not chained from Feb 28).
* :func:`add_date` -- Go's ``time.AddDate``: the day of month overflows into the
  next month (Jan 31 + 1 month = Mar 2 or Mar 3). OpenMeter uses it to compute a
  grant's ``expiresAt`` from ``expiration {duration, count}``.

Windows for entitlement history (:func:`history_windows`) are tumbling windows
aligned to the wall clock of an IANA time zone, so a DAY window is 23 or 25
hours long on DST change days.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ErrorCode, HistoryRequestError, InvalidDatetimeError, InvalidIntervalError

UTC = timezone.utc
MINUTE = timedelta(minutes=1)

__all__ = [
    "UTC",
    "ExpirationDuration",
    "Interval",
    "Period",
    "Recurrence",
    "WindowSize",
    "add_date",
    "ceil_to_minute",
    "ensure_utc",
    "expiration_time",
    "history_windows",
    "next_window_start",
    "resolve_time_zone",
    "truncate_to_minute",
    "window_start",
]


# ---------------------------------------------------------------------------
# datetime helpers
# ---------------------------------------------------------------------------


def ensure_utc(value: datetime, name: str = "datetime") -> datetime:
    """Return ``value`` converted to UTC; reject naive datetimes and non-datetimes."""
    if not isinstance(value, datetime):
        raise InvalidDatetimeError(f"{name} must be a datetime, got {type(value).__name__}", ErrorCode.NAIVE_DATETIME)
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise InvalidDatetimeError(
            f"{name} must be timezone-aware (got naive {value.isoformat()})",
            ErrorCode.NAIVE_DATETIME,
        )
    if value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


def truncate_to_minute(value: datetime) -> datetime:
    """Floor to the whole minute (UTC). ``12:00:59`` -> ``12:00:00``."""
    value = ensure_utc(value)
    return value.replace(second=0, microsecond=0)


def ceil_to_minute(value: datetime) -> datetime:
    """Round up to the next whole minute unless already on one (UTC).

    ``12:00:00`` stays, ``12:00:01`` -> ``12:01:00``.
    """
    floored = truncate_to_minute(value)
    if floored == ensure_utc(value):
        return floored
    return floored + MINUTE


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _shift_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    new_year, new_month0 = divmod(index, 12)
    return new_year, new_month0 + 1


def _add_months_clamped(value: datetime, months: int) -> datetime:
    """Add months keeping the day of month, clamped to the target month's end."""
    if months == 0:
        return value
    year, month = _shift_months(value.year, value.month, months)
    _check_year(year)
    day = min(value.day, _days_in_month(year, month))
    return value.replace(year=year, month=month, day=day)


def _add_years_clamped(value: datetime, years: int) -> datetime:
    """Add years keeping month and day, clamping Feb 29 to Feb 28 in common years."""
    if years == 0:
        return value
    year = value.year + years
    _check_year(year)
    day = min(value.day, _days_in_month(year, value.month))
    return value.replace(year=year, day=day)


def _check_year(year: int) -> None:
    if not 1 <= year <= 9999:
        raise InvalidDatetimeError(f"date arithmetic left the supported range (year {year})")


def add_date(value: datetime, years: int = 0, months: int = 0, days: int = 0) -> datetime:
    """Go ``time.AddDate`` semantics in UTC: overflowing days roll into the next month.

    ``add_date(2024-01-31, months=1)`` is ``2024-03-02`` (2024 is a leap year);
    ``add_date(2023-01-31, months=1)`` is ``2023-03-03``.
    """
    value = ensure_utc(value, "value")
    year, month = _shift_months(value.year, value.month, years * 12 + months)
    _check_year(year)
    first = value.replace(year=year, month=month, day=1)
    try:
        return first + timedelta(days=value.day - 1 + days)
    except OverflowError as exc:  # pragma: no cover - far outside realistic input
        raise InvalidDatetimeError("date arithmetic left the supported range") from exc


class ExpirationDuration(StrEnum):
    """Units of a grant's ``expiration {duration, count}``."""

    HOUR = "HOUR"
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"


def expiration_time(effective_at: datetime, duration: ExpirationDuration | str, count: int) -> datetime:
    """``expiresAt`` of a grant: ``effective_at + count * duration`` with Go AddDate rules.

    HOUR is exact (``count`` hours), DAY/WEEK add calendar days, MONTH/YEAR use
    :func:`add_date` (day overflow: Jan 31 + 1 MONTH is early March).
    """
    try:
        unit = ExpirationDuration(str(duration).upper())
    except ValueError:
        raise InvalidIntervalError(
            f"unknown expiration duration {duration!r}; expected one of HOUR, DAY, WEEK, MONTH, YEAR",
            ErrorCode.INVALID_INTERVAL,
        ) from None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidIntervalError("expiration count must be a non-negative integer", ErrorCode.INVALID_INTERVAL)
    effective_at = ensure_utc(effective_at, "effective_at")
    if unit is ExpirationDuration.HOUR:
        return effective_at + timedelta(hours=count)
    if unit is ExpirationDuration.DAY:
        return add_date(effective_at, days=count)
    if unit is ExpirationDuration.WEEK:
        return add_date(effective_at, days=7 * count)
    if unit is ExpirationDuration.MONTH:
        return add_date(effective_at, months=count)
    return add_date(effective_at, years=count)


# ---------------------------------------------------------------------------
# Period
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """Half-open interval ``[from_, to)`` of UTC instants."""

    from_: datetime
    to: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "from_", ensure_utc(self.from_, "period.from"))
        object.__setattr__(self, "to", ensure_utc(self.to, "period.to"))
        if self.to < self.from_:
            raise InvalidDatetimeError(f"period end {self.to.isoformat()} is before its start {self.from_.isoformat()}")

    def contains(self, value: datetime) -> bool:
        """``from_ <= value < to``."""
        value = ensure_utc(value)
        return self.from_ <= value < self.to

    @property
    def duration(self) -> timedelta:
        return self.to - self.from_


# ---------------------------------------------------------------------------
# Interval (ISO-8601 duration) and Recurrence
# ---------------------------------------------------------------------------

_ISO_DURATION = re.compile(
    r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)

_AVG_YEAR = timedelta(days=365.2425)
_AVG_MONTH = timedelta(days=30.436875)


@dataclass(frozen=True, slots=True)
class Interval:
    """A positive recurrence interval: whole calendar and clock components.

    Build one with :meth:`parse` (``"DAY"``, ``"WEEK"``, ``"MONTH"``, ``"YEAR"``
    or an ISO-8601 duration such as ``"P2W"``, ``"P1M"``, ``"PT6H"``) or with the
    ``Interval.DAY`` / ``WEEK`` / ``MONTH`` / ``YEAR`` constants.
    Fractional and negative components are rejected.
    """

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    # constants, attached after the class body
    DAY: ClassVar[Interval]
    WEEK: ClassVar[Interval]
    MONTH: ClassVar[Interval]
    YEAR: ClassVar[Interval]

    def __post_init__(self) -> None:
        values = (self.years, self.months, self.weeks, self.days, self.hours, self.minutes, self.seconds)
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidIntervalError("interval components must be integers", ErrorCode.INVALID_INTERVAL)
            if value < 0:
                raise InvalidIntervalError("interval components must not be negative", ErrorCode.INVALID_INTERVAL)
        if not any(values):
            raise InvalidIntervalError("interval must be positive", ErrorCode.INVALID_INTERVAL)

    @classmethod
    def parse(cls, value: Interval | str) -> Interval:
        """Parse an enum name (DAY/WEEK/MONTH/YEAR) or an ISO-8601 duration."""
        if isinstance(value, Interval):
            return value
        if not isinstance(value, str):
            raise InvalidIntervalError(
                f"interval must be a string, got {type(value).__name__}", ErrorCode.INVALID_INTERVAL
            )
        text = value.strip().upper()
        named = _NAMED_INTERVALS.get(text)
        if named is not None:
            return named
        match = _ISO_DURATION.match(text)
        if match is None or text in ("P", "PT") or text.endswith("T"):
            raise InvalidIntervalError(
                f"invalid interval {value!r}: expected DAY, WEEK, MONTH, YEAR or an ISO-8601 duration "
                "with whole components such as P2W, P1M, PT6H",
                ErrorCode.INVALID_INTERVAL,
            )
        parts = {key: int(number) for key, number in match.groupdict().items() if number is not None}
        try:
            return cls(**parts)
        except InvalidIntervalError as exc:
            raise InvalidIntervalError(f"invalid interval {value!r}: {exc.message}", exc.code) from None

    @property
    def iso(self) -> str:
        """ISO-8601 form, e.g. ``P1M``, ``P2W``, ``PT6H``."""
        date_part = "".join(
            f"{number}{unit}"
            for number, unit in ((self.years, "Y"), (self.months, "M"), (self.weeks, "W"), (self.days, "D"))
            if number
        )
        time_part = "".join(
            f"{number}{unit}"
            for number, unit in ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S"))
            if number
        )
        return "P" + date_part + (("T" + time_part) if time_part else "")

    @property
    def name(self) -> str | None:
        """``DAY``/``WEEK``/``MONTH``/``YEAR`` when the interval is exactly one of those, else ``None``."""
        for key, named in _NAMED_INTERVALS.items():
            if named == self:
                return key
        return None

    @property
    def is_calendar(self) -> bool:
        """True when the interval has month or year components (variable length)."""
        return bool(self.years or self.months)

    def fixed_length(self) -> timedelta | None:
        """Exact length for intervals without months/years, else ``None``."""
        if self.is_calendar:
            return None
        return timedelta(weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds)

    def minimum_length(self) -> timedelta:
        """Shortest possible real length of one interval (months count as 28 days)."""
        return timedelta(
            days=365 * self.years + 28 * self.months + 7 * self.weeks + self.days,
            hours=self.hours,
            minutes=self.minutes,
            seconds=self.seconds,
        )

    def approximate_length(self) -> timedelta:
        return (
            self.years * _AVG_YEAR
            + self.months * _AVG_MONTH
            + timedelta(weeks=self.weeks, days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds)
        )

    def add_to(self, value: datetime, times: int = 1) -> datetime:
        """``value + times * interval`` the way OpenMeter recurrences compute it.

        Years, then months are added to ``value`` with the day clamped to the
        month end (no overflow); weeks, days, hours, minutes and seconds are then
        added as exact durations. ``times`` may be negative.
        """
        value = ensure_utc(value)
        result = _add_years_clamped(value, self.years * times)
        result = _add_months_clamped(result, self.months * times)
        try:
            return result + timedelta(
                days=(7 * self.weeks + self.days) * times,
                hours=self.hours * times,
                minutes=self.minutes * times,
                seconds=self.seconds * times,
            )
        except OverflowError as exc:
            raise InvalidDatetimeError("date arithmetic left the supported range") from exc

    def __str__(self) -> str:
        return self.iso


Interval.DAY = Interval(days=1)
Interval.WEEK = Interval(weeks=1)
Interval.MONTH = Interval(months=1)
Interval.YEAR = Interval(years=1)

_NAMED_INTERVALS: dict[str, Interval] = {
    "DAY": Interval.DAY,
    "WEEK": Interval.WEEK,
    "MONTH": Interval.MONTH,
    "YEAR": Interval.YEAR,
}


@dataclass(frozen=True, slots=True)
class Recurrence:
    """``anchor + k * interval`` for every integer ``k`` (also before the anchor).

    ``interval`` may be given as a string (``"MONTH"``, ``"P2W"``); it is parsed.
    Each boundary is computed from the anchor, so month-end anchors clamp per
    month instead of drifting (Jan 31 -> Feb 29 -> Mar 31 -> Apr 30).
    """

    interval: Interval
    anchor: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "interval", Interval.parse(self.interval))
        object.__setattr__(self, "anchor", ensure_utc(self.anchor, "recurrence anchor"))

    def boundary(self, index: int) -> datetime:
        """The ``index``-th boundary (``0`` is the anchor)."""
        return self.interval.add_to(self.anchor, index)

    def index_at_or_before(self, value: datetime) -> int:
        """Largest ``k`` with ``boundary(k) <= value``."""
        value = ensure_utc(value)
        fixed = self.interval.fixed_length()
        if fixed is not None:
            return (value - self.anchor) // fixed
        estimate = math.floor((value - self.anchor) / self.interval.approximate_length())
        while self.boundary(estimate) > value:
            estimate -= 1
        while self.boundary(estimate + 1) <= value:
            estimate += 1
        return estimate

    def period_at(self, value: datetime) -> Period:
        """The period ``[boundary(k), boundary(k+1))`` that contains ``value``."""
        index = self.index_at_or_before(value)
        return Period(self.boundary(index), self.boundary(index + 1))

    def next_after(self, value: datetime, *, inclusive: bool = False) -> datetime:
        """First boundary after ``value`` (or equal to it when ``inclusive``)."""
        value = ensure_utc(value)
        index = self.index_at_or_before(value)
        current = self.boundary(index)
        if inclusive and current == value:
            return current
        return self.boundary(index + 1)

    def previous_before(self, value: datetime, *, inclusive: bool = True) -> datetime:
        """Last boundary before ``value`` (or equal to it when ``inclusive``)."""
        value = ensure_utc(value)
        index = self.index_at_or_before(value)
        current = self.boundary(index)
        if current == value and not inclusive:
            return self.boundary(index - 1)
        return current

    def occurrences(
        self, start: datetime, end: datetime, *, include_start: bool = False, include_end: bool = True
    ) -> Iterator[datetime]:
        """Boundaries between ``start`` and ``end`` (default: ``start < b <= end``), ascending."""
        start = ensure_utc(start)
        end = ensure_utc(end)
        index = self.index_at_or_before(start)
        current = self.boundary(index)
        if not (include_start and current == start):
            index += 1
            current = self.boundary(index)
        while current < end or (include_end and current == end):
            yield current
            index += 1
            current = self.boundary(index)


# ---------------------------------------------------------------------------
# History windows in a time zone
# ---------------------------------------------------------------------------


class WindowSize(StrEnum):
    """Window sizes accepted by entitlement history."""

    MINUTE = "MINUTE"
    HOUR = "HOUR"
    DAY = "DAY"
    MONTH = "MONTH"

    @classmethod
    def parse(cls, value: WindowSize | str) -> WindowSize:
        try:
            return cls(str(value).upper())
        except ValueError:
            raise HistoryRequestError(
                f"invalid window size {value!r}; expected MINUTE, HOUR, DAY or MONTH",
                ErrorCode.INVALID_WINDOW_SIZE,
            ) from None


def resolve_time_zone(value: str | tzinfo | None) -> tzinfo:
    """An IANA zone name (``"Europe/Budapest"``) or a tzinfo; ``None`` means UTC."""
    if value is None:
        return UTC
    if isinstance(value, tzinfo):
        return value
    if not isinstance(value, str) or not value:
        raise HistoryRequestError(f"invalid time zone {value!r}", ErrorCode.INVALID_TIME_ZONE)
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise HistoryRequestError(f"unknown time zone {value!r}", ErrorCode.INVALID_TIME_ZONE) from None


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def window_start(value: datetime, size: WindowSize | str, zone: str | tzinfo | None = None) -> datetime:
    """UTC start of the ``size`` window (aligned to ``zone``'s wall clock) containing ``value``."""
    size = WindowSize.parse(size)
    tz = resolve_time_zone(zone)
    local = ensure_utc(value).astimezone(tz)
    if size is WindowSize.MINUTE:
        floored = local.replace(second=0, microsecond=0)
    elif size is WindowSize.HOUR:
        floored = local.replace(minute=0, second=0, microsecond=0)
    elif size is WindowSize.DAY:
        return _local_midnight(local.date(), tz)
    else:
        return _local_midnight(local.date().replace(day=1), tz)
    return floored.astimezone(UTC)


def next_window_start(start: datetime, size: WindowSize | str, zone: str | tzinfo | None = None) -> datetime:
    """UTC start of the window following the one starting at ``start``."""
    size = WindowSize.parse(size)
    tz = resolve_time_zone(zone)
    start = ensure_utc(start)
    if size is WindowSize.MINUTE:
        result = window_start(start + MINUTE, size, tz)
        fallback = start + MINUTE
    elif size is WindowSize.HOUR:
        result = window_start(start + timedelta(hours=1), size, tz)
        fallback = start + timedelta(hours=1)
    elif size is WindowSize.DAY:
        local = start.astimezone(tz)
        result = _local_midnight(local.date() + timedelta(days=1), tz)
        fallback = start + timedelta(days=1)
    else:
        local = start.astimezone(tz)
        year, month = _shift_months(local.year, local.month, 1)
        result = _local_midnight(date(year, month, 1), tz)
        fallback = start + timedelta(days=28)
    return result if result > start else fallback


def history_windows(
    from_: datetime,
    to: datetime,
    size: WindowSize | str,
    zone: str | tzinfo | None = None,
    *,
    max_windows: int | None = None,
) -> list[Period]:
    """Every window of ``size`` from the one containing ``from_`` up to the one containing ``to - ε``.

    The windows tile ``[window_start(from_), W)`` where ``W`` is the first window
    boundary ``>= to``. Window periods are UTC; render them in ``zone`` for output.
    """
    size = WindowSize.parse(size)
    tz = resolve_time_zone(zone)
    from_ = ensure_utc(from_, "from")
    to = ensure_utc(to, "to")
    windows: list[Period] = []
    if to <= from_:
        return windows
    current = window_start(from_, size, tz)
    while current < to:
        following = next_window_start(current, size, tz)
        windows.append(Period(current, following))
        if max_windows is not None and len(windows) > max_windows:
            raise HistoryRequestError(
                f"the requested range has more than {max_windows} {size.value} windows; "
                "use a larger window size or a shorter range",
                ErrorCode.HISTORY_TOO_MANY_WINDOWS,
            )
        current = following
    return windows
