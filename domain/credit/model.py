"""Plain, immutable input and output types of the credit engine.

Amounts are :class:`~decimal.Decimal`. ``int`` and ``str`` inputs are converted;
``float`` is rejected so that binary rounding never enters a balance.
All datetimes are timezone-aware and normalised to UTC on construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from .errors import ErrorCode, InvalidGrantError, InvalidResetError
from .periods import Period, Recurrence, ensure_utc

ZERO = Decimal(0)

__all__ = [
    "ZERO",
    "BurndownSegment",
    "EntitlementHistory",
    "EntitlementValue",
    "Grant",
    "GrantUsage",
    "HistoryWindow",
    "MeterAggregation",
    "MeteredEntitlement",
    "Reset",
    "burn_order_key",
    "to_decimal",
]


def to_decimal(value: object, name: str = "amount") -> Decimal:
    """Convert ``int``/``str``/``Decimal`` to a finite ``Decimal``; reject ``float`` and ``bool``."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or isinstance(value, float):
        raise InvalidGrantError(
            f"{name} must be a Decimal, int or str, not {type(value).__name__}", ErrorCode.INVALID_AMOUNT
        )
    elif isinstance(value, (int, str)):
        try:
            result = Decimal(value)
        except ArithmeticError:
            raise InvalidGrantError(f"{name} is not a number: {value!r}", ErrorCode.INVALID_AMOUNT) from None
    else:
        raise InvalidGrantError(
            f"{name} must be a Decimal, int or str, not {type(value).__name__}", ErrorCode.INVALID_AMOUNT
        )
    if not result.is_finite():
        raise InvalidGrantError(f"{name} must be finite, got {value!r}", ErrorCode.INVALID_AMOUNT)
    return result


class MeterAggregation(StrEnum):
    """Aggregation of the meter behind the entitlement's feature.

    Only these four can back a metered feature. It decides how phase usage is
    obtained from the :class:`~domain.credit.usage.UsageSource`:

    * ``SUM``/``COUNT``: additive; usage of ``[a, b)`` from ``usage_between``.
    * ``UNIQUE_COUNT``: distinct values since the usage-period start, so a
      phase's usage is ``D(P, end) - D(P, start)`` from ``cumulative_usage``.
    * ``LATEST``: grants are limits; each phase starts with every active grant at
      its full amount and burns the latest value seen in the phase.
    """

    SUM = "SUM"
    COUNT = "COUNT"
    UNIQUE_COUNT = "UNIQUE_COUNT"
    LATEST = "LATEST"


@dataclass(frozen=True, slots=True)
class Grant:
    """A grant of ``amount`` units to a metered entitlement.

    * ``priority``: lower burns first. The engine uses the value it is given
      (Tollgate stores 1 when the API omits it, DECISIONS rule 8).
    * ``expires_at``: exclusive end (the grant is inactive from that instant);
      ``None`` never expires. Compute it with
      :func:`~domain.credit.periods.expiration_time`.
    * ``voided_at``: the grant's remaining balance is removed from that instant;
      usage burnt before it stays burnt.
    * ``min_rollover``/``max_rollover``: at each usage reset the grant's balance
      becomes ``min(max_rollover, max(min_rollover, balance))``.
    * ``recurrence``: at every recurrence instant while active the balance is
      refilled to ``amount``.
    """

    id: str
    amount: Decimal
    priority: int
    effective_at: datetime
    created_at: datetime
    expires_at: datetime | None = None
    voided_at: datetime | None = None
    min_rollover: Decimal = ZERO
    max_rollover: Decimal = ZERO
    recurrence: Recurrence | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InvalidGrantError("grant id must be a non-empty string", ErrorCode.INVALID_GRANT)
        amount = to_decimal(self.amount, "grant amount")
        if amount <= 0:
            raise InvalidGrantError(
                f"grant {self.id}: amount must be positive", ErrorCode.GRANT_AMOUNT_MUST_BE_POSITIVE
            )
        object.__setattr__(self, "amount", amount)
        for name in ("min_rollover", "max_rollover"):
            value = to_decimal(getattr(self, name), f"grant {self.id} {name}")
            if value < 0:
                raise InvalidGrantError(f"grant {self.id}: {name} must not be negative", ErrorCode.INVALID_AMOUNT)
            object.__setattr__(self, name, value)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int) or self.priority < 0:
            raise InvalidGrantError(
                f"grant {self.id}: priority must be a non-negative integer", ErrorCode.INVALID_GRANT
            )
        object.__setattr__(self, "effective_at", ensure_utc(self.effective_at, "grant effective_at"))
        object.__setattr__(self, "created_at", ensure_utc(self.created_at, "grant created_at"))
        if self.expires_at is not None:
            object.__setattr__(self, "expires_at", ensure_utc(self.expires_at, "grant expires_at"))
        if self.voided_at is not None:
            object.__setattr__(self, "voided_at", ensure_utc(self.voided_at, "grant voided_at"))
        if self.recurrence is not None and not isinstance(self.recurrence, Recurrence):
            raise InvalidGrantError(f"grant {self.id}: recurrence must be a Recurrence", ErrorCode.INVALID_GRANT)

    @property
    def active_until(self) -> datetime | None:
        """Exclusive end of activity: the earlier of expiry and void, ``None`` if open-ended."""
        ends = [t for t in (self.expires_at, self.voided_at) if t is not None]
        return min(ends) if ends else None

    def is_active_at(self, at: datetime) -> bool:
        """``effective_at <= at < min(expires_at, voided_at)``."""
        at = ensure_utc(at)
        end = self.active_until
        return self.effective_at <= at and (end is None or at < end)

    def next_recurrence(self, at: datetime) -> datetime | None:
        """Next refill at or after ``at`` (the API's ``nextRecurrence``); ``None`` if not recurring."""
        if self.recurrence is None:
            return None
        return self.recurrence.next_after(at, inclusive=True)


def burn_order_key(grant: Grant) -> tuple[int, bool, datetime, datetime, str]:
    """Sort key of the burn-down order.

    Priority ascending, then earlier expiration (grants that never expire last),
    then earlier ``created_at``, then ``id``.
    """
    expires = grant.expires_at
    return (
        grant.priority,
        expires is None,
        expires if expires is not None else grant.created_at,
        grant.created_at,
        grant.id,
    )


@dataclass(frozen=True, slots=True)
class Reset:
    """A manual usage reset at ``at``.

    * ``preserve_overage``: ``None`` uses the entitlement's
      ``preserve_overage_at_reset`` (the API default).
    * ``retain_anchor``: ``False`` (API default) starts a new period grid at
      ``at``; ``True`` keeps the anchor in force, so the period after the reset
      still ends on the original grid.
    """

    at: datetime
    preserve_overage: bool | None = None
    retain_anchor: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", ensure_utc(self.at, "reset at"))
        if self.preserve_overage is not None and not isinstance(self.preserve_overage, bool):
            raise InvalidResetError("preserve_overage must be a bool or None", ErrorCode.INVALID_RESET)
        if not isinstance(self.retain_anchor, bool):
            raise InvalidResetError("retain_anchor must be a bool", ErrorCode.INVALID_RESET)


@dataclass(frozen=True, slots=True)
class MeteredEntitlement:
    """Everything the engine needs to know about one metered entitlement.

    * ``usage_period``: the recurrence whose boundaries are programmatic usage
      resets. The first period is ``[measure_usage_from, next boundary)``.
    * ``measure_usage_from``: usage before it is ignored (minute-aligned by the
      API layer).
    * ``grants``/``resets``: every grant (voided ones included) and every manual
      reset of the entitlement, in any order.
    * ``active_from``/``active_to``: when the entitlement itself exists
      (creation / override or deletion); outside it the value is "no access".
    """

    usage_period: Recurrence
    measure_usage_from: datetime
    grants: tuple[Grant, ...] = ()
    resets: tuple[Reset, ...] = ()
    preserve_overage_at_reset: bool = False
    is_soft_limit: bool = False
    aggregation: MeterAggregation = MeterAggregation.SUM
    active_from: datetime | None = None
    active_to: datetime | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.usage_period, Recurrence):
            raise InvalidGrantError("usage_period must be a Recurrence", ErrorCode.INVALID_INTERVAL)
        object.__setattr__(self, "measure_usage_from", ensure_utc(self.measure_usage_from, "measure_usage_from"))
        grants = tuple(self.grants)
        for grant in grants:
            if not isinstance(grant, Grant):
                raise InvalidGrantError("grants must be Grant instances", ErrorCode.INVALID_GRANT)
        ids = [grant.id for grant in grants]
        if len(set(ids)) != len(ids):
            duplicates = sorted({gid for gid in ids if ids.count(gid) > 1})
            raise InvalidGrantError(f"duplicate grant ids: {', '.join(duplicates)}", ErrorCode.DUPLICATE_GRANT_ID)
        object.__setattr__(self, "grants", grants)
        resets = tuple(self.resets)
        for reset in resets:
            if not isinstance(reset, Reset):
                raise InvalidResetError("resets must be Reset instances", ErrorCode.INVALID_RESET)
        object.__setattr__(self, "resets", resets)
        object.__setattr__(self, "aggregation", MeterAggregation(self.aggregation))
        if self.active_from is not None:
            object.__setattr__(self, "active_from", ensure_utc(self.active_from, "active_from"))
        if self.active_to is not None:
            object.__setattr__(self, "active_to", ensure_utc(self.active_to, "active_to"))

    def is_active_at(self, at: datetime) -> bool:
        """Whether the entitlement exists at ``at`` (``active_from <= at < active_to``)."""
        at = ensure_utc(at)
        if self.active_from is not None and at < self.active_from:
            return False
        return self.active_to is None or at < self.active_to


# ---------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntitlementValue:
    """The value of a metered entitlement at an instant (``getEntitlementValue``).

    * ``at``: the instant the figures describe (the query time rounded up to the
      whole minute).
    * ``balance``: remaining balance of the grants active at ``at`` (never negative).
    * ``usage``: usage since the start of the current usage period.
    * ``overage``: usage not covered by any grant, carried forward.
    * ``total_available_grant_amount``: the summed ``amount`` of the grants
      active at ``at`` plus what was burnt, in the current usage period, from
      grants that are no longer active (the spec's definition).
    * ``has_access``: ``balance > 0``, or always ``True`` for a soft limit;
      ``False`` when the entitlement is not active at ``at``.
    * ``grant_balances``: grant id -> balance for the grants active at ``at``.
    * ``current_period``: the usage period containing ``at`` (``None`` when inactive).
    """

    at: datetime
    active: bool
    has_access: bool
    balance: Decimal
    usage: Decimal
    overage: Decimal
    total_available_grant_amount: Decimal
    grant_balances: Mapping[str, Decimal] = field(default_factory=dict)
    current_period: Period | None = None


@dataclass(frozen=True, slots=True)
class GrantUsage:
    """Amount burnt from one grant within a segment."""

    grant_id: str
    usage: Decimal


@dataclass(frozen=True, slots=True)
class BurndownSegment:
    """One burn-down phase (``burndownHistory`` item).

    ``balance_at_start``/``grant_balances_at_start`` are taken after the events at
    ``period.from_`` (grants becoming effective or recurring, expiry, rollover at a
    reset) and *before* the carried ``overage_at_start`` is burnt; the burning
    of that carried overage is part of ``grant_usages``. Hence, per segment,
    ``usage + overage_at_start == sum(grant_usages) + overage``.
    ``grant_balances_*`` cover the grants active during the segment.
    ``reset_at_start`` tells that a usage reset (period boundary or manual
    reset) happened at ``period.from_``.
    """

    period: Period
    usage: Decimal
    overage: Decimal
    overage_at_start: Decimal
    balance_at_start: Decimal
    grant_balances_at_start: Mapping[str, Decimal]
    balance_at_end: Decimal
    grant_balances_at_end: Mapping[str, Decimal]
    grant_usages: tuple[GrantUsage, ...]
    reset_at_start: bool = False


@dataclass(frozen=True, slots=True)
class HistoryWindow:
    """One window of ``windowedHistory``.

    ``usage`` is the meter's aggregate over the window clipped to the requested
    ``[from, to)`` (windows are not reset-aware, like the meter query);
    ``balance_at_start`` is the entitlement balance at the window's start
    instant (same figure :meth:`CreditEngine.value_at` gives for that instant).
    """

    period: Period
    usage: Decimal
    balance_at_start: Decimal
    overage_at_start: Decimal


@dataclass(frozen=True, slots=True)
class EntitlementHistory:
    """Result of :meth:`CreditEngine.history` (``getEntitlementHistory``).

    ``windows`` are UTC periods; render them in ``time_zone`` for the API.
    """

    windows: tuple[HistoryWindow, ...]
    segments: tuple[BurndownSegment, ...]
    from_: datetime
    to: datetime
    time_zone: str
