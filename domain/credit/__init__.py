"""Credit engine: OpenMeter entitlement balances (grant burn-down by usage).

Pure domain code: no HTTP, SQL or framework imports. Typical use::

    from domain.credit import CreditEngine, MeteredEntitlement, Grant, Recurrence

    engine = CreditEngine(entitlement, usage_source)
    value = engine.value_at(now)                 # getEntitlementValue
    history = engine.history(to=now, window_size="HOUR", time_zone="Europe/Budapest")

See :mod:`domain.credit.engine` for the burn-down rules, :mod:`domain.credit.usage`
for the usage-source contract and :mod:`domain.credit.validation` for the
checks behind reset, grant creation and void.
"""

from .engine import DEFAULT_MAX_HISTORY_WINDOWS, CreditEngine
from .errors import (
    CreditError,
    CreditValidationError,
    ErrorCode,
    GrantOperationError,
    HistoryRequestError,
    InvalidDatetimeError,
    InvalidGrantError,
    InvalidIntervalError,
    InvalidResetError,
    UsageSourceError,
)
from .model import (
    BurndownSegment,
    EntitlementHistory,
    EntitlementValue,
    Grant,
    GrantUsage,
    HistoryWindow,
    MeterAggregation,
    MeteredEntitlement,
    Reset,
    burn_order_key,
    to_decimal,
)
from .periods import (
    UTC,
    ExpirationDuration,
    Interval,
    Period,
    Recurrence,
    WindowSize,
    add_date,
    ceil_to_minute,
    ensure_utc,
    expiration_time,
    history_windows,
    next_window_start,
    resolve_time_zone,
    truncate_to_minute,
    window_start,
)
from .schedule import ResetInstant, UsagePeriodSchedule
from .usage import InMemoryUsageSource, UsageSource
from .validation import (
    MIN_USAGE_PERIOD,
    validate_grant_creation,
    validate_grant_void,
    validate_reset,
    validate_usage_period_interval,
)

__all__ = [
    "DEFAULT_MAX_HISTORY_WINDOWS",
    "MIN_USAGE_PERIOD",
    "UTC",
    "BurndownSegment",
    "CreditEngine",
    "CreditError",
    "CreditValidationError",
    "EntitlementHistory",
    "EntitlementValue",
    "ErrorCode",
    "ExpirationDuration",
    "Grant",
    "GrantOperationError",
    "GrantUsage",
    "HistoryRequestError",
    "HistoryWindow",
    "InMemoryUsageSource",
    "Interval",
    "InvalidDatetimeError",
    "InvalidGrantError",
    "InvalidIntervalError",
    "InvalidResetError",
    "MeterAggregation",
    "MeteredEntitlement",
    "Period",
    "Recurrence",
    "Reset",
    "ResetInstant",
    "UsagePeriodSchedule",
    "UsageSource",
    "UsageSourceError",
    "WindowSize",
    "add_date",
    "burn_order_key",
    "ceil_to_minute",
    "ensure_utc",
    "expiration_time",
    "history_windows",
    "next_window_start",
    "resolve_time_zone",
    "to_decimal",
    "truncate_to_minute",
    "validate_grant_creation",
    "validate_grant_void",
    "validate_reset",
    "validate_usage_period_interval",
    "window_start",
]
