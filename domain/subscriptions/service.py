"""Subscription operations (openmeter-billing.md 2.3, 2.4; DECISIONS.md rulings 2, 5).

- create from a plan by key (the version active now, or exactly `plan.version`, ruling 5) or from a
  custom plan validated like a catalog plan; `startingPhase` keeps earlier phases with zero length;
- one subscription per customer at any instant (409, `only_single_subscription_allowed_per_customer_at_a_time`);
- the status machine: cancel needs `active`, unschedule/restore need `canceled`, delete needs
  `scheduled`, else 403 "transition X in state Y not allowed";
- timing: `immediate` = now, `next_billing_cycle` = end of the aligned billing period, an explicit
  time (create: at most 2 minutes in the past; cancel: exactly on an aligned period boundary);
- change / migrate cancel the current subscription at the timing and create the next one starting
  exactly then, linked by annotations, in one transaction.

Writes of one customer's subscriptions are serialised by a lock on the customer row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from domain.catalog import ratecards
from domain.catalog.model import ACTIVE as PLAN_ACTIVE
from domain.catalog.model import ARCHIVED as PLAN_ARCHIVED
from domain.catalog.model import Plan
from domain.customers import Customer, CustomerService, register_delete_guard, register_plan_key_resolver
from domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from domain.ids import new_id
from domain.subscriptions import timing as timing_
from domain.subscriptions.model import ACTIVE, CANCELED, STATUSES, Item, Phase, PlanRef, Subscription

SINGLE_SUBSCRIPTION_CODE = "only_single_subscription_allowed_per_customer_at_a_time"
SINGLE_SUBSCRIPTION_MESSAGE = "only single subscription is allowed per customer at a time"
PREVIOUS_ANNOTATION = "subscription.previous.id"
SUPERSEDING_ANNOTATION = "subscription.superseding.id"
DEFAULT_PRO_RATING = {"enabled": True, "mode": "prorate_prices"}


@dataclass(frozen=True)
class CreateInput:
    customer_id: str | None = None
    customer_key: str | None = None
    plan_key: str | None = None
    plan_version: int | None = None
    custom_plan: dict[str, Any] | None = None
    starting_phase: str | None = None
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    timing: Any = timing_.IMMEDIATE
    billing_anchor: dt.datetime | None = None


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as seen at `at` (getSubscription's `SubscriptionExpanded`)."""

    subscription: Subscription
    at: dt.datetime


def _invalid(message: str, field: str, code: str) -> ValidationError:
    problem: dict[str, Any] = {"code": code, "message": message, "field": field, "severity": "critical"}
    return ValidationError(message, extensions={"validationErrors": [problem]})


def _plan_key_resolver(session: Session, plan_key: str, now: dt.datetime) -> set[str]:
    from storage.subscriptions import SubscriptionRepository

    return SubscriptionRepository(session).customers_with_plan_key(plan_key, now)


def _no_live_subscription(session: Session, customer: Customer, now: dt.datetime) -> None:
    """A customer with a subscription active now, or scheduled, cannot be deleted (400, openmeter-core.md 5.2)."""
    from storage.subscriptions import SubscriptionRepository

    for subscription in SubscriptionRepository(session).of_customer(customer.id):
        if subscription.status(now) in ("active", "canceled", "scheduled"):
            raise ValidationError(f"customer {customer.id} has a live subscription {subscription.id}; cancel or delete it first")


register_plan_key_resolver(_plan_key_resolver)
register_delete_guard(_no_live_subscription)


class SubscriptionService:
    def __init__(self, session: Session):
        from storage.subscriptions import SubscriptionRepository

        self.session = session
        self.subscriptions = SubscriptionRepository(session)

    # --- reads ---------------------------------------------------------------------------------

    def get(self, subscription_id: str) -> Subscription:
        subscription = self.subscriptions.get(subscription_id.upper()) if len(subscription_id) == 26 else None
        if subscription is None:
            raise NotFoundError(f"subscription not found: {subscription_id}", resource="Subscription")
        return subscription

    def list_of_customer(self, customer_id_or_key: str, *, statuses: list[str] | None, order_by: str = "activeFrom",
                         descending: bool = True, now: dt.datetime) -> list[Subscription]:  # fmt: skip
        customer = CustomerService(self.session).get(customer_id_or_key)
        items = self.subscriptions.of_customer(customer.id)
        if statuses:
            wanted = set(statuses)
            items = [s for s in items if s.status(now) in wanted]
        far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
        if order_by == "activeTo":
            items.sort(key=lambda s: (s.active_to or far, s.id), reverse=descending)
        else:
            items.sort(key=lambda s: (s.active_from, s.id), reverse=descending)
        return items

    def running_of_customers(self, customer_ids: list[str], *, at: dt.datetime) -> dict[str, list[Subscription]]:
        """Per customer, the subscriptions running at `at`: started and not yet ended, so `active` or
        `canceled` (ending later); never a scheduled, ended or deleted one. One query for all the
        customers; a customer with none maps to []. With one subscription per customer at a time the
        first is the customer's current subscription (OpenMeter's `currentSubscriptionId`)."""
        result: dict[str, list[Subscription]] = {customer_id: [] for customer_id in customer_ids}
        for subscription in self.subscriptions.running_of_customers(customer_ids, at):
            if subscription.status(at) in (ACTIVE, CANCELED):
                result.setdefault(subscription.customer_id, []).append(subscription)
        return result

    # --- create --------------------------------------------------------------------------------

    def create(self, data: CreateInput, *, now: dt.datetime) -> Subscription:
        if not data.customer_id and not data.customer_key:
            raise _invalid("customer id or key is required", "$.customerId", "customer_required")
        customer = CustomerService(self.session).get_active(data.customer_id or data.customer_key or "")
        self.subscriptions.lock_customer(customer.id)
        start = self._create_start(data.timing, now)
        plan, ref = self._plan_of(data)
        subscription = self._build(customer, plan, ref, data, start=start, billing_anchor=data.billing_anchor or start, now=now)
        self._check_unique(subscription)
        self.subscriptions.save(subscription)
        return subscription

    def _create_start(self, value: Any, now: dt.datetime) -> dt.datetime:
        resolved = timing_.parse_timing(value)
        if resolved == timing_.IMMEDIATE:
            return now
        if resolved == timing_.NEXT_BILLING_CYCLE:
            raise _invalid("next_billing_cycle timing is not supported when creating a subscription", "$.timing", "timing_invalid")
        assert isinstance(resolved, dt.datetime)
        if resolved < now - timing_.CREATE_PAST_TOLERANCE:
            raise _invalid("subscription start time cannot be more than 2 minutes in the past", "$.timing", "timing_in_the_past")
        return resolved

    def _plan_of(self, data: CreateInput) -> tuple[Plan, PlanRef | None]:
        if data.custom_plan is not None:
            return self._custom_plan(data.custom_plan), None
        if not data.plan_key:
            raise _invalid("plan key is required", "$.plan.key", "plan_required")
        return self._plan_by_ref(data.plan_key, data.plan_version)

    def _plan_by_ref(self, key: str, version: int | None, *, allow_archived: bool = False) -> tuple[Plan, PlanRef]:
        from storage.catalog import PlanRepository

        now = dt.datetime.now(dt.timezone.utc)
        versions = [p for p in PlanRepository(self.session).versions(key) if p.deleted_at is None]
        if version is None:
            plan = next((p for p in versions if p.status(now) == PLAN_ACTIVE), None)
            if plan is None:
                if versions:
                    raise _invalid(f"plan {key} has no active version", "$.plan", "plan_not_active")
                raise NotFoundError(f"plan not found: {key}", resource="Plan")
        else:
            plan = next((p for p in versions if p.version == version), None)
            if plan is None:
                raise NotFoundError(f"plan not found: {key} version {version}", resource="Plan")
            allowed = (PLAN_ACTIVE, PLAN_ARCHIVED) if allow_archived else (PLAN_ACTIVE,)
            if plan.status(now) not in allowed:
                raise _invalid(f"plan {key} version {version} is {plan.status(now)}, not active", "$.plan", "plan_not_active")
        return plan, PlanRef(plan.id, plan.key, plan.version)

    def _custom_plan(self, body: dict[str, Any]) -> Plan:
        from domain.catalog.issues import raise_issues
        from domain.catalog.plans import all_cards, check_features_exist, normalise_phases, validate_plan

        now = dt.datetime.now(dt.timezone.utc)
        pro_rating = body.get("proRatingConfig")
        plan = Plan(
            id="", key="", version=0, name=body["name"], description=body.get("description"), metadata=body.get("metadata"),
            currency=body.get("currency") or "USD", billing_cadence=body["billingCadence"],
            pro_rating={"enabled": pro_rating["enabled"], "mode": pro_rating["mode"]} if pro_rating else dict(DEFAULT_PRO_RATING),
            phases=normalise_phases(list(body["phases"])), effective_from=None, effective_to=None, created_at=now, updated_at=now,
        )  # fmt: skip
        check_features_exist(self.session, [card for _, card in all_cards(plan)])
        issues = [i for i in validate_plan(plan) if i.code != "resource_key_empty"]
        issues = [dataclasses.replace(i, field="$.plan" + i.field[1:]) for i in issues]
        raise_issues(issues)  # a subscription's plan must be publishable: warnings refuse it too
        return plan

    def _build(self, customer: Customer, plan: Plan, ref: PlanRef | None, data: CreateInput, *, start: dt.datetime,
               billing_anchor: dt.datetime, now: dt.datetime, annotations: dict[str, Any] | None = None) -> Subscription:  # fmt: skip
        keys = plan.phase_keys()
        first = 0
        if data.starting_phase is not None:
            if data.starting_phase not in keys:
                raise _invalid(f"starting phase {data.starting_phase} not found in plan", "$.startingPhase", "starting_phase_not_found")
            first = keys.index(data.starting_phase)
        cards = [card for phase in plan.phases[first:] for card in phase.get("rateCards") or []]
        if any(ratecards.is_billable(card) for card in cards) and customer.currency and customer.currency != plan.currency:
            raise _invalid(f"currency mismatch: customer currency {customer.currency} differs from plan currency {plan.currency}",
                           "$.currency", "currency_mismatch")  # fmt: skip
        if any(ratecards.is_billable(card) for card in cards) and not customer.currency:
            self._set_customer_currency(customer, plan.currency, now)
        phases = []
        cursor = start
        for index, source in enumerate(plan.phases):
            phase_start = start if index < first else cursor
            items = [Item(id=new_id(), key=card["key"], rate_card=card, active_from=phase_start, active_to=None,
                          created_at=now, updated_at=now) for card in source.get("rateCards") or []]  # fmt: skip
            phases.append(Phase(id=new_id(), key=source["key"], name=source["name"], description=source.get("description"),
                                metadata=source.get("metadata"), discounts=source.get("discounts"), active_from=phase_start,
                                items=items, created_at=now, updated_at=now))  # fmt: skip
            if index >= first and source.get("duration") is not None:
                cursor = timing_.add_text(cursor, source["duration"])
        custom = ref is None
        return Subscription(
            id=new_id(), customer_id=customer.id,
            name=data.name or plan.name,
            description=data.description if not custom else plan.description,
            metadata=data.metadata if not custom else plan.metadata,
            plan=ref, currency=plan.currency, billing_cadence=plan.billing_cadence, pro_rating=dict(plan.pro_rating),
            billing_anchor=billing_anchor, active_from=start, active_to=None, phases=phases,
            created_at=now, updated_at=now, annotations=dict(annotations or {}),
        )  # fmt: skip

    def _set_customer_currency(self, customer: Customer, currency: str, now: dt.datetime) -> None:
        """A customer without a currency takes the subscription's (the reference); everything else stays."""
        from domain.customers import CustomerInput

        CustomerService(self.session).update(customer.id, CustomerInput(
            name=customer.name, key=customer.key, description=customer.description, metadata=customer.metadata,
            subject_keys=tuple(customer.usage_attribution.subject_keys), primary_email=customer.primary_email,
            currency=currency, billing_address=customer.billing_address,
        ), now=now)  # fmt: skip

    def _check_unique(self, subscription: Subscription, *, ignoring: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        for other in self.subscriptions.of_customer(subscription.customer_id):
            if other.id == subscription.id or other.id in ignoring:
                continue
            if other.overlaps(subscription.active_from, subscription.active_to):
                raise ConflictError(
                    SINGLE_SUBSCRIPTION_MESSAGE,
                    extensions={"validationErrors": [{
                        "code": SINGLE_SUBSCRIPTION_CODE, "message": SINGLE_SUBSCRIPTION_MESSAGE,
                        "field": "$.activeFrom", "severity": "critical", "conflictingSubscriptionId": other.id,
                    }]},
                )  # fmt: skip

    # --- state changes -------------------------------------------------------------------------

    def _locked(self, subscription_id: str) -> Subscription:
        subscription = self.get(subscription_id)
        self.subscriptions.lock_customer(subscription.customer_id)
        return self.get(subscription.id)

    def _cancel_time(self, subscription: Subscription, value: Any, now: dt.datetime) -> dt.datetime:
        resolved = timing_.parse_timing(value)
        if resolved == timing_.IMMEDIATE:
            return now
        located = subscription.phase_at(now if resolved == timing_.NEXT_BILLING_CYCLE else resolved)  # type: ignore[arg-type]
        if resolved == timing_.NEXT_BILLING_CYCLE:
            if located is None:  # pragma: no cover - an active subscription is always in a phase
                raise _invalid("subscription has no current phase", "$.timing", "timing_invalid")
            _, start, end = located
            return timing_.aligned_period_at(subscription.billing_anchor, subscription.billing_cadence, now, start, end).end
        assert isinstance(resolved, dt.datetime)
        if resolved < now:
            raise _invalid("cancelation time cannot be in the past", "$.timing", "timing_in_the_past")
        if located is None:
            raise _invalid("cannot cancel aligned subscription with custom misaligned timing", "$.timing", "timing_misaligned")
        _, start, end = located
        period = timing_.aligned_period_at(subscription.billing_anchor, subscription.billing_cadence, resolved, start, end)
        if period.start != resolved:
            raise _invalid("cannot cancel aligned subscription with custom misaligned timing", "$.timing", "timing_misaligned")
        return resolved

    def cancel(self, subscription_id: str, timing: Any, *, now: dt.datetime) -> Subscription:
        subscription = self._locked(subscription_id)
        subscription.require("cancel", now)
        end = self._cancel_time(subscription, timing if timing is not None else timing_.IMMEDIATE, now)
        canceled = dataclasses.replace(subscription, active_to=end, updated_at=now)
        self.subscriptions.save(canceled)
        return canceled

    def unschedule_cancelation(self, subscription_id: str, *, now: dt.datetime) -> Subscription:
        subscription = self._locked(subscription_id)
        subscription.require("continue", now)
        annotations = {k: v for k, v in subscription.annotations.items() if k != SUPERSEDING_ANNOTATION}
        continued = dataclasses.replace(subscription, active_to=None, updated_at=now, annotations=annotations)
        self._check_unique(continued)
        self.subscriptions.save(continued)
        return continued

    def restore(self, subscription_id: str, *, now: dt.datetime) -> Subscription:
        subscription = self._locked(subscription_id)
        subscription.require("continue", now)
        for other in self.subscriptions.of_customer(subscription.customer_id):
            if other.id != subscription.id and (other.active_to is None or other.active_to > now):
                self.subscriptions.save(dataclasses.replace(other, deleted_at=now, updated_at=now))
        return self.unschedule_cancelation(subscription.id, now=now)

    def delete(self, subscription_id: str, *, now: dt.datetime) -> None:
        subscription = self._locked(subscription_id)
        subscription.require("delete", now)
        self.subscriptions.save(dataclasses.replace(subscription, deleted_at=now, updated_at=now))

    # --- change and migrate --------------------------------------------------------------------

    def _supersede(self, current: Subscription, timing: Any, plan: Plan, ref: PlanRef | None, data: CreateInput,
                   billing_anchor: dt.datetime | None, *, now: dt.datetime) -> tuple[Subscription, Subscription]:  # fmt: skip
        current.require("cancel", now)
        end = self._cancel_time(current, timing, now)
        customer = CustomerService(self.session).get_active(current.customer_id)
        nxt = self._build(customer, plan, ref, data, start=end, billing_anchor=billing_anchor or current.billing_anchor,
                          now=now, annotations={PREVIOUS_ANNOTATION: current.id})  # fmt: skip
        ended = dataclasses.replace(current, active_to=end, updated_at=now,
                                    annotations={**current.annotations, SUPERSEDING_ANNOTATION: nxt.id})  # fmt: skip
        self.subscriptions.save(ended)
        self._check_unique(nxt)
        self.subscriptions.save(nxt)
        return ended, nxt

    def change(self, subscription_id: str, data: CreateInput, *, now: dt.datetime) -> tuple[Subscription, Subscription]:
        current = self._locked(subscription_id)
        current.require("cancel", now)
        plan, ref = self._plan_of(data)
        return self._supersede(current, data.timing, plan, ref, data, data.billing_anchor, now=now)

    def migrate(self, subscription_id: str, *, timing: Any, target_version: int | None, starting_phase: str | None,
                billing_anchor: dt.datetime | None, now: dt.datetime) -> tuple[Subscription, Subscription]:  # fmt: skip
        current = self._locked(subscription_id)
        current.require("cancel", now)
        if current.plan is None:
            raise _invalid("cannot migrate a custom subscription", "$.plan", "subscription_not_plan_based")
        if target_version is None:
            plan, ref = self._plan_by_ref(current.plan.key, None)
        else:
            plan, ref = self._plan_by_ref(current.plan.key, target_version, allow_archived=True)
        if ref.version <= current.plan.version:
            raise _invalid(f"cannot migrate to version {ref.version}: the subscription is on version {current.plan.version}",
                           "$.targetVersion", "plan_version_invalid")  # fmt: skip
        data = CreateInput(starting_phase=starting_phase, name=current.name, description=current.description,
                           metadata=current.metadata)  # fmt: skip
        return self._supersede(current, timing if timing is not None else timing_.IMMEDIATE, plan, ref, data, billing_anchor, now=now)


def check_statuses(statuses: list[str] | None) -> None:
    for status in statuses or []:
        if status not in STATUSES:  # pragma: no cover - the spec's enum refuses it first
            raise ValidationError(f"invalid status: {status}")



def edit(session: Session, subscription_id: str, operations: list[dict[str, Any]], timing: Any, *, now: dt.datetime) -> Subscription:
    """editSubscription: the patches applied in order at the resolved time (403 unless active)."""
    from domain.subscriptions.edits import Editor

    service = SubscriptionService(session)
    subscription = service._locked(subscription_id)
    subscription.require("update", now)
    from storage.subscriptions import SubscriptionAddonRepository

    if SubscriptionAddonRepository(session).of_subscription(subscription.id):
        raise ForbiddenError("a subscription with add-ons cannot be edited")
    editor = Editor(session, subscription, now=now)
    edited = editor.apply(operations, editor.resolve(timing))
    service.subscriptions.save(edited)
    return edited
