"""Typed errors raised by the credit engine.

Every error a caller can provoke with bad input derives from
:class:`CreditValidationError`; the HTTP wiring maps those to ``400`` problems
(``code`` is a stable machine-readable string suitable for
``extensions.validationErrors[].code``). :class:`UsageSourceError` means the
storage adapter broke its contract and is a server fault (``500``).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable error codes carried by :class:`CreditValidationError`."""

    NAIVE_DATETIME = "naive_datetime"
    INVALID_INTERVAL = "invalid_interval"
    USAGE_PERIOD_TOO_SHORT = "usage_period_too_short"
    INVALID_AMOUNT = "invalid_amount"
    GRANT_AMOUNT_MUST_BE_POSITIVE = "grant_amount_must_be_positive"
    INVALID_GRANT = "invalid_grant"
    DUPLICATE_GRANT_ID = "duplicate_grant_id"
    INVALID_RESET = "invalid_reset"
    CONFLICTING_RESETS = "conflicting_resets"
    RESET_IN_FUTURE = "reset_in_future"
    RESET_BEFORE_PERIOD_START = "reset_before_current_period_start"
    RESET_NOT_AFTER_LAST_RESET = "reset_not_after_last_reset"
    GRANT_EFFECTIVE_BEFORE_PERIOD_START = "grant_effective_at_before_current_period_start"
    VOID_IN_FUTURE = "void_in_future"
    VOID_BEFORE_PERIOD_START = "void_before_current_period_start"
    GRANT_ALREADY_VOIDED = "grant_already_voided"
    HISTORY_FROM_BEFORE_MEASUREMENT = "history_from_before_measure_usage_from"
    HISTORY_EMPTY_RANGE = "history_empty_range"
    HISTORY_TOO_MANY_WINDOWS = "history_too_many_windows"
    INVALID_WINDOW_SIZE = "invalid_window_size"
    INVALID_TIME_ZONE = "invalid_time_zone"


class CreditError(Exception):
    """Base class of every error raised by :mod:`domain.credit`."""


class CreditValidationError(CreditError, ValueError):
    """Input rejected by the credit domain (maps to HTTP 400).

    ``message`` is human readable and safe to show to API clients; ``code`` is
    a stable identifier (an :class:`ErrorCode` value) or ``None``.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class InvalidDatetimeError(CreditValidationError):
    """A datetime is naive (has no UTC offset) or otherwise unusable."""


class InvalidIntervalError(CreditValidationError):
    """A recurrence interval / ISO-8601 duration cannot be used."""


class InvalidGrantError(CreditValidationError):
    """A grant definition is internally inconsistent (amount, rollover, ids)."""


class InvalidResetError(CreditValidationError):
    """A usage reset (stored or requested) is not acceptable."""


class GrantOperationError(CreditValidationError):
    """Creating or voiding a grant is not allowed at the requested time."""


class HistoryRequestError(CreditValidationError):
    """An entitlement history request has an unusable range, window or zone."""


class UsageSourceError(CreditError):
    """The usage source returned something that breaks its protocol (server fault)."""


__all__ = [
    "CreditError",
    "CreditValidationError",
    "ErrorCode",
    "GrantOperationError",
    "HistoryRequestError",
    "InvalidDatetimeError",
    "InvalidGrantError",
    "InvalidIntervalError",
    "InvalidResetError",
    "UsageSourceError",
]
