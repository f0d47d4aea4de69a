"""Entitlements, grants and usage resets: the rules of openmeter-core.md section 7 over the credit engine.

Entitlements are immutable (override or delete only); one per customer and feature at a time.
Metered entitlements burn their grants down by the customer's usage of the feature's meter
(domain.credit); static ones carry a JSON config; boolean ones only grant access.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from domain.credit import (
    CreditEngine,
    CreditValidationError,
    EntitlementHistory,
    Interval,
    Period,
    Recurrence,
    UsagePeriodSchedule,
    expiration_time,
    truncate_to_minute,
    validate_grant_creation,
    validate_grant_void,
    validate_reset,
    validate_usage_period_interval,
)
from domain.credit.model import EntitlementValue as CreditValue
from domain.entitlements.customers import CustomerLookup, CustomerRef, ServiceCustomers
from domain.entitlements.mapping import MeteringUsage, UsageSources, metered_entitlement, usage_period
from domain.entitlements.model import BOOLEAN, METERED, STATIC, Entitlement, StoredGrant, StoredReset
from domain.errors import ConflictError, NotFoundError, PreconditionFailedError, Problem, ValidationError
from domain.features import Feature, FeatureService
from domain.ids import is_ulid, new_id

ENTITLEMENT_ORDER_BY = {"createdAt": "created_at", "updatedAt": "updated_at"}
GRANT_ORDER_BY = {"id": "id", "createdAt": "created_at", "updatedAt": "updated_at"}


def bad_request(error: CreditValidationError) -> ValidationError:
    """A credit-engine refusal as the API's 400, with its stable code."""
    return ValidationError(error.message, problems=[Problem(error.message, code=error.code)])


@dataclass(frozen=True)
class GrantCreate:
    amount: Decimal
    effective_at: dt.datetime
    priority: int | None = None
    expiration: tuple[str, int] | None = None
    """(duration HOUR|DAY|WEEK|MONTH|YEAR, count)."""
    min_rollover: Decimal | None = None
    max_rollover: Decimal | None = None
    recurrence_interval: str | None = None
    recurrence_anchor: dt.datetime | None = None
    metadata: dict[str, str] | None = None
    annotations: dict[str, Any] | None = None


@dataclass(frozen=True)
class EntitlementCreate:
    type: str
    feature_id: str | None = None
    feature_key: str | None = None
    metadata: dict[str, str] | None = None
    usage_period_interval: str | None = None
    usage_period_anchor: dt.datetime | None = None
    measure_usage_from: str | dt.datetime | None = None
    is_soft_limit: bool = False
    issue_after_reset: Decimal | None = None
    issue_after_reset_priority: int | None = None
    preserve_overage_at_reset: bool = False
    config: str | None = None
    grants: list[GrantCreate] = field(default_factory=list)


@dataclass(frozen=True)
class Value:
    """An entitlement value as the API reports it; figures only for metered entitlements."""

    has_access: bool
    balance: Decimal | None = None
    usage: Decimal | None = None
    overage: Decimal | None = None
    total_available_grant_amount: Decimal | None = None
    config: str | None = None


@dataclass(frozen=True)
class EntitlementView:
    """An entitlement with what its response needs besides the stored row."""

    entitlement: Entitlement
    customer: CustomerRef
    current_usage_period: Period | None = None
    last_reset: dt.datetime | None = None


class EntitlementService:
    def __init__(self, session: Session, *, customers: CustomerLookup | None = None, usage: UsageSources | None = None,
                 features: FeatureService | None = None):  # fmt: skip
        from storage.entitlements import EntitlementRepository

        self.session = session
        self.repo = EntitlementRepository(session)
        self.customers = customers or ServiceCustomers(session)
        self.usage = usage or MeteringUsage(session)
        self.features = features or FeatureService(session)

    # --- customers ------------------------------------------------------------------------

    def customer(self, id_or_key: str, *, live: bool = True) -> CustomerRef:
        """The customer of a v2 route: unknown -> 404, deleted -> 412."""
        customer = self.customers.get(id_or_key)
        if live and customer.deleted_at is not None:
            raise PreconditionFailedError(f"customer {customer.id} is deleted")
        return customer

    def customer_of_subject(self, subject_id_or_key: str) -> CustomerRef:
        """The customer of a v1 subject route: the subject must exist and a live customer be attributed to it."""
        from domain.subjects import SubjectService

        subject_key = subject_id_or_key
        try:
            subject_key = SubjectService(self.session).get(subject_id_or_key).key
        except NotFoundError:
            pass  # customers' subject keys need no Subject entity in Tollgate
        customer = self.customers.by_subject_key(subject_key)
        if customer is None:
            raise NotFoundError(f"customer with subject key {subject_key} not found")
        return customer

    # --- entitlements ---------------------------------------------------------------------

    def _feature_for(self, inputs: EntitlementCreate) -> Feature:
        if inputs.feature_id is None and inputs.feature_key is None:
            raise ValidationError("either featureId or featureKey is required")
        feature = None
        if inputs.feature_id is not None:
            feature = self.features.find(inputs.feature_id)
            if feature is None:
                raise NotFoundError(f"feature not found: {inputs.feature_id}")
            if inputs.feature_key is not None and inputs.feature_key != feature.key:
                raise ValidationError("featureId and featureKey name different features")
        else:
            feature = self.features.find(inputs.feature_key)  # type: ignore[arg-type]
            if feature is None:
                raise NotFoundError(f"feature not found: {inputs.feature_key}")
        return feature

    def create(self, customer: CustomerRef, inputs: EntitlementCreate, *, now: dt.datetime) -> Entitlement:
        feature = self._feature_for(inputs)
        existing = self.repo.open_for(customer.id, feature.key)
        if existing is not None:
            raise ConflictError(f"entitlement with id {existing.id} already exists for feature {feature.key}",
                                extensions={"conflictingEntityId": existing.id})  # fmt: skip
        try:
            entitlement = self._build(customer, feature, inputs, now=now)
            self.repo.save(entitlement)
            if entitlement.type == METERED:
                self._initial_grants(entitlement, inputs, now=now)
        except CreditValidationError as error:
            raise bad_request(error) from None
        except OverflowError:
            raise ValidationError("a date of the entitlement is out of the supported time range") from None
        return entitlement

    def _period(self, inputs: EntitlementCreate, *, now: dt.datetime, required: bool) -> tuple[str | None, dt.datetime | None]:
        if inputs.usage_period_interval is None:
            if required:
                raise ValidationError("usagePeriod is required for metered entitlements")
            return None, None
        try:
            interval = validate_usage_period_interval(inputs.usage_period_interval)
        except CreditValidationError as error:
            raise bad_request(error) from None
        anchor = truncate_to_minute(inputs.usage_period_anchor or now)
        return interval.iso, anchor

    def _build(self, customer: CustomerRef, feature: Feature, inputs: EntitlementCreate, *, now: dt.datetime) -> Entitlement:
        common = dict(id=new_id(), type=inputs.type, feature_id=feature.id, feature_key=feature.key, customer_id=customer.id,
                      active_from=now, created_at=now, updated_at=now, metadata=inputs.metadata or None)  # fmt: skip
        if inputs.type == BOOLEAN:
            interval, anchor = self._period(inputs, now=now, required=False)
            return Entitlement(**common, usage_period_interval=interval, usage_period_anchor=anchor)
        if inputs.type == STATIC:
            interval, anchor = self._period(inputs, now=now, required=False)
            try:
                parsed = json.loads(inputs.config or "")
            except ValueError:
                raise ValidationError("config must be a JSON object encoded as a string") from None
            if not isinstance(parsed, dict):
                raise ValidationError("config must be a JSON object encoded as a string")
            return Entitlement(**common, usage_period_interval=interval, usage_period_anchor=anchor, config=inputs.config)
        if feature.meter_slug is None:
            raise ValidationError("Feature has no meter")
        interval, anchor = self._period(inputs, now=now, required=True)
        assert interval is not None and anchor is not None
        recurrence = Recurrence(interval, anchor)
        measure = inputs.measure_usage_from
        if measure is None or measure == "NOW":
            measure_from = truncate_to_minute(now)
        elif measure == "CURRENT_PERIOD_START":
            measure_from = recurrence.period_at(now).from_
        elif isinstance(measure, dt.datetime):
            measure_from = truncate_to_minute(measure)
        else:
            raise ValidationError(f"invalid measureUsageFrom {measure!r}")
        issue = inputs.issue_after_reset
        if inputs.issue_after_reset_priority is not None and issue is None:
            raise ValidationError("issueAfterResetPriority requires issueAfterReset")
        if issue is not None and inputs.grants:
            raise ValidationError("issue after reset and grants cannot be used together")
        return Entitlement(
            **common, usage_period_interval=interval, usage_period_anchor=anchor, measure_usage_from=measure_from,
            is_soft_limit=inputs.is_soft_limit, issue_after_reset=issue,
            issue_after_reset_priority=(inputs.issue_after_reset_priority or 1) if issue is not None else None,
            preserve_overage_at_reset=inputs.preserve_overage_at_reset,
        )  # fmt: skip

    def _initial_grants(self, entitlement: Entitlement, inputs: EntitlementCreate, *, now: dt.datetime) -> None:
        issue = entitlement.issue_after_reset
        if issue is not None and issue > 0:
            start = self.current_period(entitlement, now).from_
            self.repo.save_grant(StoredGrant(
                id=new_id(), entitlement_id=entitlement.id, amount=issue, priority=entitlement.issue_after_reset_priority or 1,
                effective_at=start, created_at=now, updated_at=now, min_rollover=issue, max_rollover=issue,
                annotations={"issueAfterReset": True},
            ))  # fmt: skip
        for index, grant in enumerate(inputs.grants):
            try:
                self.create_grant(entitlement, grant, now=now, v2=True)
            except ValidationError as error:
                raise ValidationError(f"grants[{index}]: {error.message}", problems=[
                    dataclasses.replace(p, field=f"grants[{index}]" + (f".{p.field}" if p.field else "")) for p in error.problems
                ]) from None  # fmt: skip

    def get(self, entitlement_id: str) -> Entitlement:
        """By id; deleted entitlements are not found."""
        entitlement = self.repo.get(entitlement_id) if is_ulid(entitlement_id) else None
        if entitlement is None or entitlement.deleted_at is not None:
            raise NotFoundError(f"entitlement not found: {entitlement_id}")
        return entitlement

    def find_for(self, customer: CustomerRef, id_or_feature_key: str, *, now: dt.datetime) -> Entitlement | None:
        """The customer's entitlement by id, or its live entitlement of a feature key."""
        if is_ulid(id_or_feature_key):
            entitlement = self.repo.get(id_or_feature_key)
            if entitlement is not None and entitlement.customer_id == customer.id and entitlement.deleted_at is None:
                return entitlement
        return self.repo.current_for(customer.id, id_or_feature_key, at=now)

    def resolve(self, customer: CustomerRef, id_or_feature_key: str, *, now: dt.datetime) -> Entitlement:
        entitlement = self.find_for(customer, id_or_feature_key, now=now)
        if entitlement is None:
            raise NotFoundError(f"entitlement not found: {id_or_feature_key}")
        return entitlement

    def get_for(self, customer: CustomerRef, entitlement_id: str) -> Entitlement:
        """By id only (v1 get/delete/reset/history ignore feature keys)."""
        entitlement = self.get(entitlement_id)
        if entitlement.customer_id != customer.id:
            raise NotFoundError(f"entitlement not found: {entitlement_id}")
        return entitlement

    def delete(self, entitlement: Entitlement, *, now: dt.datetime) -> None:
        self.repo.save(dataclasses.replace(entitlement, deleted_at=now, updated_at=now))

    def override(self, customer: CustomerRef, id_or_feature_key: str, inputs: EntitlementCreate, *, now: dt.datetime) -> Entitlement:
        current = self.resolve(customer, id_or_feature_key, now=now)
        feature = self._feature_for(inputs)
        if feature.key != current.feature_key:
            raise ValidationError(f"the override must be for feature {current.feature_key}, not {feature.key}")
        self.repo.save(dataclasses.replace(current, active_to=now, updated_at=now))
        return self.create(customer, inputs, now=now)

    def list(self, *, customer_ids: list[str] | None = None, features: list[str] | None = None, types: list[str] | None = None,
             include_deleted: bool = False, active_at: dt.datetime | None = None, order_by: str | None = None,
             descending: bool = False, offset: int = 0, limit: int | None = None) -> tuple[list[Entitlement], int]:  # fmt: skip
        column = ENTITLEMENT_ORDER_BY.get(order_by or "createdAt", "created_at")
        return self.repo.list(customer_ids=customer_ids, features=features, types=types, include_deleted=include_deleted,
                              active_at=active_at, order_by=column, descending=descending, offset=offset, limit=limit)  # fmt: skip

    def view(self, entitlement: Entitlement, *, now: dt.datetime) -> EntitlementView:
        customer = self.customers.get(entitlement.customer_id)
        if entitlement.type == METERED:
            schedule = self._schedule(entitlement)
            period = schedule.period_at(now)
            return EntitlementView(entitlement, customer, period, period.from_)
        recurrence = usage_period(entitlement)
        return EntitlementView(entitlement, customer, recurrence.period_at(now) if recurrence else None)

    # --- credit ---------------------------------------------------------------------------

    def _schedule(self, entitlement: Entitlement) -> UsagePeriodSchedule:
        recurrence = usage_period(entitlement)
        assert recurrence is not None and entitlement.measure_usage_from is not None
        from domain.credit.model import Reset

        resets = [Reset(r.at, preserve_overage=r.preserve_overage, retain_anchor=r.retain_anchor) for r in self.repo.resets_of(entitlement.id)]
        return UsagePeriodSchedule(recurrence, entitlement.measure_usage_from, resets,
                                   preserve_overage_at_reset=entitlement.preserve_overage_at_reset)  # fmt: skip

    def current_period(self, entitlement: Entitlement, at: dt.datetime) -> Period:
        return self._schedule(entitlement).period_at(at)

    def _credit(self, entitlement: Entitlement, *, grants: list[StoredGrant] | None = None):
        feature = self.features.get(entitlement.feature_id, include_archived=True)
        aggregation = self.usage.aggregation(feature)
        return metered_entitlement(entitlement, grants if grants is not None else self.repo.grants_of(entitlement.id),
                                   self.repo.resets_of(entitlement.id), aggregation), feature  # fmt: skip

    def engine(self, entitlement: Entitlement) -> CreditEngine:
        credit, feature = self._credit(entitlement)
        customer = self.customers.get(entitlement.customer_id)
        return CreditEngine(credit, self.usage.source(feature, customer))

    def value(self, entitlement: Entitlement, *, at: dt.datetime) -> Value:
        if not entitlement.is_active_at(at):
            return Value(has_access=False)
        if entitlement.type == BOOLEAN:
            return Value(has_access=True)
        if entitlement.type == STATIC:
            return Value(has_access=True, config=entitlement.config)
        try:
            value: CreditValue = self.engine(entitlement).value_at(at)
        except CreditValidationError as error:
            raise bad_request(error) from None
        except (OverflowError, ValueError):  # calendar arithmetic left the supported range (year 1 or 9999)
            raise ValidationError(f"cannot compute the value at {at.isoformat()}: out of the supported time range") from None
        return Value(has_access=value.has_access, balance=value.balance, usage=value.usage, overage=value.overage,
                     total_available_grant_amount=value.total_available_grant_amount)  # fmt: skip

    def _require_metered(self, entitlement: Entitlement) -> None:
        if entitlement.type != METERED:
            raise ValidationError(f"expected entitlement type metered but got {entitlement.type}")

    def reset(self, entitlement: Entitlement, *, effective_at: dt.datetime | None, retain_anchor: bool | None,
              preserve_overage: bool | None, now: dt.datetime) -> StoredReset:  # fmt: skip
        self._require_metered(entitlement)
        credit, _ = self._credit(entitlement)
        try:
            at = validate_reset(credit, at=effective_at or now, now=now)
        except CreditValidationError as error:
            raise bad_request(error) from None
        reset = StoredReset(id=new_id(), entitlement_id=entitlement.id, at=at, created_at=now,
                            preserve_overage=preserve_overage, retain_anchor=bool(retain_anchor))  # fmt: skip
        self.repo.save_reset(reset)
        return reset

    def history(self, entitlement: Entitlement, *, window_size: str, from_: dt.datetime | None, to: dt.datetime | None,
                time_zone: str, now: dt.datetime) -> EntitlementHistory:  # fmt: skip
        self._require_metered(entitlement)
        try:
            return self.engine(entitlement).history(to=to or now, window_size=window_size, from_=from_, time_zone=time_zone)
        except CreditValidationError as error:
            raise bad_request(error) from None
        except (OverflowError, ValueError):
            raise ValidationError("the history range is out of the supported time range") from None

    # --- grants ---------------------------------------------------------------------------

    def create_grant(self, entitlement: Entitlement, inputs: GrantCreate, *, now: dt.datetime, v2: bool) -> StoredGrant:
        self._require_metered(entitlement)
        credit, _ = self._credit(entitlement)
        try:
            effective_at = validate_grant_creation(credit, amount=inputs.amount, effective_at=inputs.effective_at, now=now)
            expires_at = None
            if inputs.expiration is not None:
                expires_at = expiration_time(effective_at, inputs.expiration[0], inputs.expiration[1])
            recurrence_anchor = None
            if inputs.recurrence_interval is not None:
                interval = Interval.parse(inputs.recurrence_interval)
                if interval.minimum_length() < dt.timedelta(hours=1):
                    raise ValidationError("grant recurrence must be at least one hour")
                recurrence_anchor = truncate_to_minute(inputs.recurrence_anchor or effective_at)
        except CreditValidationError as error:
            raise bad_request(error) from None
        max_rollover = inputs.max_rollover if inputs.max_rollover is not None else (inputs.amount if v2 else Decimal(0))
        min_rollover = inputs.min_rollover if inputs.min_rollover is not None else Decimal(0)
        if min_rollover < 0 or max_rollover < 0:
            raise ValidationError("rollover amounts must not be negative")
        if min_rollover > max_rollover:
            raise ValidationError("minRolloverAmount must not exceed maxRolloverAmount")
        grant = StoredGrant(
            id=new_id(), entitlement_id=entitlement.id, amount=inputs.amount, priority=inputs.priority or 1,
            effective_at=effective_at, created_at=now, updated_at=now, expires_at=expires_at,
            expiration_duration=inputs.expiration[0] if inputs.expiration else None,
            expiration_count=inputs.expiration[1] if inputs.expiration else None,
            min_rollover=min_rollover, max_rollover=max_rollover,
            recurrence_interval=Interval.parse(inputs.recurrence_interval).iso if inputs.recurrence_interval else None,
            recurrence_anchor=recurrence_anchor, metadata=inputs.metadata or None, annotations=inputs.annotations or None,
        )  # fmt: skip
        self.repo.save_grant(grant)
        return grant

    def grants(self, entitlement: Entitlement) -> list[StoredGrant]:
        return self.repo.grants_of(entitlement.id)

    def void_grant(self, grant_id: str, *, at: dt.datetime | None, now: dt.datetime) -> StoredGrant:
        grant = self.repo.get_grant(grant_id) if is_ulid(grant_id) else None
        if grant is None or grant.deleted_at is not None:
            raise NotFoundError(f"grant not found: {grant_id}")
        entitlement = self.repo.get(grant.entitlement_id)
        if entitlement is None or entitlement.deleted_at is not None:
            raise NotFoundError(f"grant not found: {grant_id}")
        credit, _ = self._credit(entitlement)
        credit_grant = next(g for g in credit.grants if g.id == grant.id)
        try:
            void_at = validate_grant_void(credit, credit_grant, now=now, at=at)
        except CreditValidationError as error:
            raise bad_request(error) from None
        voided = dataclasses.replace(grant, voided_at=void_at, updated_at=now)
        self.repo.save_grant(voided)
        return voided

    def list_grants(self, *, customer_ids: list[str] | None = None, entitlement_ids: list[str] | None = None,
                    features: list[str] | None = None, include_deleted: bool = False, order_by: str | None = None,
                    descending: bool = False, offset: int = 0, limit: int | None = None) -> tuple[list[StoredGrant], int]:  # fmt: skip
        column = GRANT_ORDER_BY.get(order_by or "", "effective_at")
        return self.repo.list_grants(customer_ids=customer_ids, entitlement_ids=entitlement_ids, features=features,
                                     include_deleted=include_deleted, order_by=column, descending=descending,
                                     offset=offset, limit=limit)  # fmt: skip
