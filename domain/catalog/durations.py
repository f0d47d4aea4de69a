"""ISO 8601 durations as OpenMeter uses them for cadences, phases and usage periods.

A duration keeps its calendar parts (years, months, weeks, days, hours, minutes, seconds). Fixed
lengths do not exist for months and days, so comparisons follow openmeter-billing.md section 0: a month
is 28, 29, 30 or 31 days and a day 23, 24 or 25 hours, and a statement holds only if it holds in
every combination (P1Y/P1M and P1M/P1D align, P1M/P1W do not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

_PATTERN = re.compile(
    r"^(?P<sign>-)?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
"""The grammar the served spec states as the pattern of every catalog duration (`P` alone is zero)."""
_MONTH_DAYS = (28, 29, 30, 31)
_DAY_HOURS = (23, 24, 25)
HOUR = Fraction(3600)


class InvalidDuration(ValueError):
    pass


@dataclass(frozen=True)
class Duration:
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: Fraction = Fraction(0)
    negative: bool = False

    def _seconds(self, month_days: int, day_hours: int) -> Fraction:
        months = self.years * 12 + self.months
        days = months * month_days + self.weeks * 7 + self.days
        total = days * day_hours * 3600 + self.hours * 3600 + self.minutes * 60 + self.seconds
        return -total if self.negative else total

    def lengths(self) -> list[Fraction]:
        """The duration's length in seconds under every month/day length combination."""
        return [self._seconds(m, d) for m in _MONTH_DAYS for d in _DAY_HOURS]

    @property
    def is_zero(self) -> bool:
        return all(length == 0 for length in self.lengths())

    @property
    def is_positive(self) -> bool:
        return all(length > 0 for length in self.lengths())

    def at_least(self, seconds: Fraction) -> bool:
        return all(length >= seconds for length in self.lengths())


def parse(text: str) -> Duration:
    """`P1M`, `P2W`, `PT1H30M`, `-P1D`... (the ISO 8601 duration grammar without fractional dates)."""
    match = _PATTERN.match(text or "")
    if match is None:
        raise InvalidDuration(f"invalid ISO 8601 duration: {text!r}")
    parts = match.groupdict()
    try:
        seconds = Fraction(Decimal((parts["seconds"] or "0")))
    except InvalidOperation:  # pragma: no cover - the pattern admits only digits
        raise InvalidDuration(f"invalid ISO 8601 duration: {text!r}") from None
    return Duration(
        **{name: int(parts[name] or 0) for name in ("years", "months", "weeks", "days", "hours", "minutes")},
        seconds=seconds,
        negative=bool(parts["sign"]),
    )


def is_valid(text: str) -> bool:
    try:
        parse(text)
        return True
    except InvalidDuration:
        return False


def aligned(a: Duration, b: Duration) -> bool:
    """True when the longer of two positive durations is a whole multiple of the shorter in every case."""
    pairs = list(zip(a.lengths(), b.lengths()))
    if any(x <= 0 or y <= 0 for x, y in pairs):
        return False
    if all(x >= y for x, y in pairs):
        return all((x / y).denominator == 1 for x, y in pairs)
    if all(y >= x for x, y in pairs):
        return all((y / x).denominator == 1 for x, y in pairs)
    return False
