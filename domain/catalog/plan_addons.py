"""Plan <-> add-on assignments and their compatibility rules (openmeter-billing.md 1.4 and 1.5).

An assignment makes an active add-on purchasable on a plan from one of its phases on. Assignments
change only while the plan is a draft or scheduled. Compatibility problems are warnings shown on the
assignment; publishing a plan with an incompatible assignment fails (`plan_has_incompatible_addon`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from domain.catalog import durations, ratecards
from domain.catalog.issues import Issue, field_of, issue, keyed, raise_issues
from domain.catalog.model import ACTIVE, DRAFT, SCHEDULED, Addon, ListQuery, Plan, PlanAddon
from domain.errors import ConflictError, NotFoundError
from domain.ids import is_ulid, new_id

PLAN_ADDON_ORDER = {"id": lambda a: a.id, "key": lambda a: (a.key, a.version), "version": lambda a: (a.version, a.id),
                    "created_at": lambda a: (a.created_at, a.id), "updated_at": lambda a: (a.updated_at, a.id)}  # fmt: skip


@dataclass(frozen=True)
class PlanAddonInput:
    from_plan_phase: str
    max_quantity: int | None = None
    metadata: dict[str, str] | None = None
    addon_id: str = ""


def _overlay_issues(plan_card: dict[str, Any], addon_card: dict[str, Any], base: str) -> list[Issue]:
    """An add-on rate card with a plan rate card's key must be an overlay-compatible card."""
    issues: list[Issue] = []
    plan_price, addon_price = plan_card.get("price"), addon_card.get("price")
    if plan_card["type"] != addon_card["type"] or (plan_price or {}).get("type") != (addon_price or {}).get("type"):
        issues.append(issue("rate_card_price_type_mismatch", field_of(base, "price")))
    if any(price is not None and price["type"] != "flat" for price in (plan_price, addon_price)):
        issues.append(issue("rate_card_only_flat_price_allowed", field_of(base, "price")))
    elif plan_price and addon_price and plan_price.get("paymentTerm") != addon_price.get("paymentTerm"):
        issues.append(issue("rate_card_price_payment_term_mismatch", field_of(base, "price")))
    if plan_card.get("featureKey") != addon_card.get("featureKey"):
        issues.append(issue("rate_card_feature_key_mismatch", field_of(base, "featureKey")))
    if plan_card.get("billingCadence") != addon_card.get("billingCadence"):
        issues.append(issue("rate_card_billing_cadence_mismatch", field_of(base, "billingCadence")))
    plan_template, addon_template = plan_card.get("entitlementTemplate"), addon_card.get("entitlementTemplate")
    if plan_template and addon_template:
        if plan_template["type"] != addon_template["type"]:
            issues.append(issue("rate_card_entitlement_template_type_mismatch", field_of(base, "entitlementTemplate")))
        elif addon_template["type"] == "static":
            issues.append(issue("rate_card_static_entitlement_template_not_allowed", field_of(base, "entitlementTemplate")))
        elif addon_template["type"] == "metered" and plan_template.get("usagePeriod") != addon_template.get("usagePeriod"):
            issues.append(issue("rate_card_metered_entitlement_template_usage_period_mismatch",
                                field_of(field_of(base, "entitlementTemplate"), "usagePeriod")))  # fmt: skip
    if (addon_card.get("discounts") or {}).get("percentage") is not None:
        issues.append(issue("rate_card_percentage_discount_not_allowed", field_of(field_of(base, "discounts"), "percentage")))
    return issues


def compatibility(plan: Plan, addon: Addon, assignment: PlanAddon, *, now: dt.datetime) -> list[Issue]:
    issues: list[Issue] = []
    if plan.status(now) not in (DRAFT, ACTIVE, SCHEDULED) or addon.status(now) != ACTIVE or addon.effective_to is not None:
        issues.append(issue("plan_addon_incompatible_status", "$.status"))
    if addon.instance_type == "multiple":
        if assignment.max_quantity is not None and assignment.max_quantity <= 0:
            issues.append(issue("plan_addon_max_quantity_must_be_set", "$.maxQuantity"))
    elif assignment.max_quantity is not None:
        issues.append(issue("plan_addon_max_quantity_must_not_be_set", "$.maxQuantity"))
    if plan.currency != addon.currency:
        issues.append(issue("plan_addon_currency_mismatch", "$.currency"))
    keys = plan.phase_keys()
    if assignment.from_plan_phase not in keys:
        issues.append(issue("plan_addon_unknown_plan_phase_key", "$.fromPlanPhase"))
        return issues
    if plan.billing_cadence in ("P1W", "P2W", "P4W", "P1M", "P3M", "P6M", "P12M", "P1Y"):
        plan_cadence = durations.parse(plan.billing_cadence)
        for card in addon.rate_cards:
            if ratecards.is_billable(card) and card.get("billingCadence"):
                cadence = durations.parse(card["billingCadence"])
                if not durations.aligned(plan_cadence, cadence):
                    issues.append(issue("plan_billing_cadence_not_compatible",
                                        field_of(keyed("", "rateCards", card["key"]), "billingCadence")))  # fmt: skip
    addon_cards = {card["key"]: card for card in addon.rate_cards}
    for phase in plan.phases[keys.index(assignment.from_plan_phase):]:
        for plan_card in phase.get("rateCards") or []:
            addon_card = addon_cards.get(plan_card["key"])
            if addon_card is not None:
                base = keyed(keyed("", "phases", phase["key"]), "rateCards", plan_card["key"])
                issues += _overlay_issues(plan_card, addon_card, base)
    return issues


class PlanAddonService:
    def __init__(self, session: Session):
        from storage.catalog import PlanAddonRepository

        self.session = session
        self.assignments = PlanAddonRepository(session)

    def _plan(self, plan_id_or_key: str, now: dt.datetime) -> Plan:
        from domain.catalog.plans import PlanService

        return PlanService(self.session).get(plan_id_or_key, include_latest=not is_ulid(plan_id_or_key), now=now)

    def _changeable_plan(self, plan_id_or_key: str, now: dt.datetime) -> Plan:
        from domain.catalog.plans import PlanService

        plan = PlanService(self.session).get_live(plan_id_or_key, now=now)
        if plan.status(now) not in (DRAFT, SCHEDULED):
            raise_issues([issue("plan_invalid_status", "$.status",
                                message=f"add-on assignments of plan {plan.id} cannot change: it is {plan.status(now)}")])  # fmt: skip
        return plan

    def _addon(self, addon_id_or_key: str, now: dt.datetime) -> Addon:
        from domain.catalog.addons import AddonService

        return AddonService(self.session).get(addon_id_or_key, include_latest=not is_ulid(addon_id_or_key), now=now)

    def _assignment(self, plan: Plan, addon_id_or_key: str, now: dt.datetime) -> tuple[PlanAddon, Addon]:
        for assignment in self.assignments.of_plan(plan.id, include_deleted=False):
            addon = self._addon(assignment.addon_id, now)
            if addon_id_or_key in (addon.id, addon.key):
                return assignment, addon
        raise NotFoundError(f"add-on assignment not found: plan {plan.id}, add-on {addon_id_or_key}")

    def list(self, plan_id_or_key: str, query: ListQuery, *, now: dt.datetime) -> tuple[Plan, list[tuple[PlanAddon, Addon]], int]:
        plan = self._plan(plan_id_or_key, now)
        rows = []
        for assignment in self.assignments.of_plan(plan.id, include_deleted=query.include_deleted):
            addon = self._addon(assignment.addon_id, now)
            if query.ids and addon.id not in query.ids:
                continue
            if query.keys and addon.key not in query.keys:
                continue
            if query.key_versions and addon.version not in query.key_versions.get(addon.key, []):
                continue
            rows.append((assignment, addon))
        order = PLAN_ADDON_ORDER.get(query.order_by, PLAN_ADDON_ORDER["id"])
        rows.sort(key=lambda row: order(row[0]) if query.order_by in ("id", "created_at", "updated_at") else order(row[1]),
                  reverse=query.descending)  # fmt: skip
        start = (query.page - 1) * query.page_size
        return plan, rows[start : start + query.page_size], len(rows)

    def get(self, plan_id_or_key: str, addon_id_or_key: str, *, now: dt.datetime) -> tuple[Plan, PlanAddon, Addon]:
        plan = self._plan(plan_id_or_key, now)
        assignment, addon = self._assignment(plan, addon_id_or_key, now)
        return plan, assignment, addon

    def create(self, plan_id_or_key: str, inputs: PlanAddonInput, *, now: dt.datetime) -> tuple[Plan, PlanAddon, Addon]:
        plan = self._changeable_plan(plan_id_or_key, now)
        from domain.catalog.addons import AddonService

        addon = AddonService(self.session).get_by_id(inputs.addon_id)
        if addon is None or addon.deleted_at is not None:
            raise NotFoundError(f"add-on not found: {inputs.addon_id}")
        if addon.status(now) != ACTIVE:
            raise_issues([issue("plan_addon_incompatible_status", "$.addonId",
                                message=f"only active add-ons can be assigned; add-on {addon.id} is {addon.status(now)}")])  # fmt: skip
        existing = next((a for a in self.assignments.of_plan(plan.id, include_deleted=False) if a.addon_id == addon.id), None)
        if existing is not None:
            raise ConflictError(f"add-on {addon.id} is already assigned to plan {plan.id}",
                                extensions={"conflictingEntityId": existing.id})  # fmt: skip
        assignment = PlanAddon(id=new_id(), plan_id=plan.id, addon_id=addon.id, from_plan_phase=inputs.from_plan_phase,
                               max_quantity=inputs.max_quantity, metadata=inputs.metadata, created_at=now, updated_at=now)  # fmt: skip
        self.assignments.insert(assignment)
        return plan, assignment, addon

    def update(self, plan_id_or_key: str, addon_id_or_key: str, inputs: PlanAddonInput, *, now: dt.datetime) -> tuple[Plan, PlanAddon, Addon]:
        plan = self._changeable_plan(plan_id_or_key, now)
        assignment, addon = self._assignment(plan, addon_id_or_key, now)
        assignment = dataclasses.replace(assignment, from_plan_phase=inputs.from_plan_phase, max_quantity=inputs.max_quantity,
                                         metadata=inputs.metadata, updated_at=now)  # fmt: skip
        self.assignments.update(assignment)
        return plan, assignment, addon

    def delete(self, plan_id_or_key: str, addon_id_or_key: str, *, now: dt.datetime) -> None:
        plan = self._changeable_plan(plan_id_or_key, now)
        assignment, _ = self._assignment(plan, addon_id_or_key, now)
        self.assignments.update(dataclasses.replace(assignment, deleted_at=now, updated_at=now))

    def delete_all_of_plan(self, plan_id: str, *, now: dt.datetime) -> None:
        for assignment in self.assignments.of_plan(plan_id, include_deleted=False):
            self.assignments.update(dataclasses.replace(assignment, deleted_at=now, updated_at=now))

    def incompatibilities(self, plan: Plan, *, now: dt.datetime) -> list[Issue]:
        """Publish: one `plan_has_incompatible_addon` issue per incompatible assignment, naming its problems."""
        issues = []
        for assignment in self.assignments.of_plan(plan.id, include_deleted=False):
            addon = self._addon(assignment.addon_id, now)
            problems = compatibility(plan, addon, assignment, now=now)
            if problems:
                detail = "; ".join(f"{p.code} at {p.field}" for p in problems)
                issues.append(issue("plan_has_incompatible_addon", keyed("", "addons", addon.key),
                                    message=f"plan has incompatible add-on assignment: {detail}"))  # fmt: skip
        return issues
