"""Plans: versions of a key, phases with rate cards, lifecycle draft -> active (-> archived), scheduled.

openmeter-billing.md 1.1. The HTTP API always acts "now": publish sets effectiveFrom = now and archives
the version active until then; archive sets effectiveTo = now. Create and update are blocked only by
critical issues; warnings stay on the plan (`validationErrors`) and block publishing, together with
missing features and incompatible add-on assignments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from domain.catalog import durations, ratecards
from domain.catalog.issues import Issue, field_of, issue, keyed, raise_critical, raise_issues, warnings
from domain.catalog.model import ACTIVE, DRAFT, SCHEDULED, ListQuery, Plan
from domain.currencies import is_known_currency
from domain.errors import ConflictError, NotFoundError
from domain.ids import is_ulid, new_id

PLAN_BILLING_CADENCES = ("P1W", "P2W", "P4W", "P1M", "P3M", "P6M", "P12M", "P1Y")
DEFAULT_PRO_RATING = {"enabled": True, "mode": "prorate_prices"}


@dataclass(frozen=True)
class PlanInput:
    """What create and update carry (key and currency only matter on create)."""

    name: str
    billing_cadence: str
    phases: list[dict[str, Any]]
    description: str | None = None
    metadata: dict[str, str] | None = None
    pro_rating: dict[str, Any] | None = None
    key: str = ""
    currency: str = "USD"


def normalise_phases(phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Phases in the stored shape; unparsable durations are refused (400) here."""
    result = []
    for index, phase in enumerate(phases):
        base = keyed("", "phases", phase["key"])
        if phase.get("duration") is not None:
            ratecards.duration_or_error(phase["duration"], field_of(base, "duration"))
        for card in phase.get("rateCards") or []:
            ratecards.check_durations(card, keyed(base, "rateCards", card["key"]))
        out: dict[str, Any] = {"key": phase["key"], "name": phase["name"]}
        if phase.get("description") is not None:
            out["description"] = phase["description"]
        if phase.get("metadata") is not None:
            out["metadata"] = dict(phase["metadata"])
        out["duration"] = phase.get("duration")
        out["rateCards"] = [ratecards.normalise(card) for card in phase.get("rateCards") or []]
        result.append(out)
    return result


def validate_plan(plan: Plan) -> list[Issue]:
    """Every issue of a plan's content (no database lookups), critical and warning."""
    issues: list[Issue] = []
    if not is_known_currency(plan.currency):
        issues.append(issue("currency_invalid", "$.currency"))
    if not plan.key:
        issues.append(issue("resource_key_empty", "$.key"))
    if not plan.name:
        issues.append(issue("resource_name_empty", "$.name"))
    cadence = None
    if plan.billing_cadence not in PLAN_BILLING_CADENCES:
        issues.append(issue("plan_billing_cadence_invalid", "$.billingCadence"))
    else:
        cadence = durations.parse(plan.billing_cadence)
    if not plan.phases:
        issues.append(issue("plan_with_no_phases", "$.phases"))
    seen_phases: set[str] = set()
    for index, phase in enumerate(plan.phases):
        base = keyed("", "phases", phase["key"])
        if phase["key"] in seen_phases:
            issues.append(issue("plan_phase_duplicated_key", field_of(base, "key")))
        seen_phases.add(phase["key"])
        last = index == len(plan.phases) - 1
        if phase.get("duration") is None and not last:
            issues.append(issue("plan_has_non_last_phase_with_no_duration", field_of(base, "duration")))
        if phase.get("duration") is not None:
            if last:
                issues.append(issue("plan_has_last_phase_with_duration", field_of(base, "duration")))
            length = durations.parse(phase["duration"])
            if not length.is_positive:
                issues.append(issue("plan_phase_with_negative_duration", field_of(base, "duration")))
            elif not length.at_least(durations.HOUR):
                issues.append(issue("plan_phase_duration_less_then_an_hour", field_of(base, "duration")))
        cards = phase.get("rateCards") or []
        if not cards:
            issues.append(issue("plan_phase_has_no_rate_cards", field_of(base, "rateCards")))
        seen_cards: set[str] = set()
        for card in cards:
            card_base = keyed(base, "rateCards", card["key"])
            if card["key"] in seen_cards:
                issues.append(issue("rate_card_duplicated_key", field_of(card_base, "key")))
            seen_cards.add(card["key"])
            issues += ratecards.validate(card, card_base)
            if cadence is not None and ratecards.is_billable(card) and card.get("billingCadence") is not None:
                card_cadence = durations.parse(card["billingCadence"])
                if card_cadence.is_positive and not durations.aligned(cadence, card_cadence):
                    issues.append(issue("rate_card_billing_cadence_unaligned", field_of(card_base, "billingCadence")))
    return issues


def plan_warnings(plan: Plan) -> list[Issue]:
    """What a plan's `validationErrors` shows: the non-blocking issues of its content."""
    return warnings(validate_plan(plan))


def check_features_exist(session: Session, cards: list[dict[str, Any]]) -> None:
    """Create/update: a rate card naming a feature that does not exist (or is archived) answers 404."""
    from domain.features import FeatureService

    features = FeatureService(session)
    for key in ratecards.feature_keys(cards):
        if features.find(key) is None:
            raise NotFoundError(f"feature not found: {key}")


def feature_issues(session: Session, located_cards: list[tuple[str, dict[str, Any]]]) -> list[Issue]:
    """Publish: every rate card whose feature is gone (deleted or archived since)."""
    from domain.features import FeatureService

    features = FeatureService(session)
    issues = []
    for base, card in located_cards:
        if card.get("featureKey") and features.find(card["featureKey"]) is None:
            issues.append(issue("rate_card_feature_not_found", field_of(base, "featureKey"),
                                message=f"feature not found: {card['featureKey']}"))  # fmt: skip
    return issues


def all_cards(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    located = []
    for phase in plan.phases:
        base = keyed("", "phases", phase["key"])
        located += [(keyed(base, "rateCards", card["key"]), card) for card in phase.get("rateCards") or []]
    return located


class PlanService:
    def __init__(self, session: Session):
        from storage.catalog import PlanRepository

        self.session = session
        self.plans = PlanRepository(session)

    # --- reads ---------------------------------------------------------------------------------

    def get(self, id_or_key: str, *, include_latest: bool = False, now: dt.datetime) -> Plan:
        """By id (deleted ones too), or by key: the version active now, or with includeLatest the newest."""
        plan = self.plans.get_by_id(id_or_key) if is_ulid(id_or_key) else None
        if plan is None:
            versions = [p for p in self.plans.versions(id_or_key) if p.deleted_at is None]
            if include_latest:
                plan = versions[-1] if versions else None
            else:
                plan = next((p for p in versions if p.status(now) == ACTIVE), None)
        if plan is None:
            raise NotFoundError(f"plan not found: {id_or_key}")
        return plan

    def get_live(self, id_or_key: str, *, now: dt.datetime) -> Plan:
        """For changes: a deleted plan is not found; by key, the newest version."""
        plan = self.get(id_or_key, include_latest=not is_ulid(id_or_key), now=now)
        if plan.deleted_at is not None:
            raise NotFoundError(f"plan not found: {id_or_key}")
        return plan

    def list(self, query: ListQuery, *, now: dt.datetime) -> tuple[list[Plan], int]:
        return self.plans.list(query, now=now)

    # --- changes -------------------------------------------------------------------------------

    def _checked(self, plan: Plan) -> Plan:
        # Features are resolved first, as the reference does, then the content is validated.
        check_features_exist(self.session, [card for _, card in all_cards(plan)])
        raise_critical(validate_plan(plan))
        return plan

    def _refuse_second_draft(self, key: str, now: dt.datetime) -> None:
        drafts = [p for p in self.plans.versions(key) if p.deleted_at is None and p.status(now) == DRAFT]
        if drafts:  # a state conflict: 409 naming the draft (the reference answers 400)
            raise ConflictError(f"only a single draft version is allowed: plan {drafts[0].id} (version {drafts[0].version}) is a draft",
                                extensions={"conflictingEntityId": drafts[0].id})  # fmt: skip

    def create(self, inputs: PlanInput, *, now: dt.datetime) -> Plan:
        phases = normalise_phases(inputs.phases)
        plan = Plan(
            id=new_id(), key=inputs.key, version=1, name=inputs.name, description=inputs.description,
            metadata=inputs.metadata, currency=inputs.currency, billing_cadence=inputs.billing_cadence,
            pro_rating=dict(inputs.pro_rating or DEFAULT_PRO_RATING), phases=phases,
            effective_from=None, effective_to=None, created_at=now, updated_at=now,
        )  # fmt: skip
        self._checked(plan)
        self._refuse_second_draft(plan.key, now)
        plan = dataclasses.replace(plan, version=self.plans.max_version(plan.key) + 1)
        self.plans.insert(plan)
        return plan

    def update(self, id_or_key: str, inputs: PlanInput, *, now: dt.datetime) -> Plan:
        current = self.get_live(id_or_key, now=now)
        if current.status(now) not in (DRAFT, SCHEDULED):
            raise_issues([issue("plan_invalid_status", "$.status",
                                message=f"only draft or scheduled plans can be updated; plan {current.id} is {current.status(now)}")])  # fmt: skip
        plan = dataclasses.replace(
            current, name=inputs.name, description=inputs.description, metadata=inputs.metadata,
            billing_cadence=inputs.billing_cadence, pro_rating=dict(inputs.pro_rating or DEFAULT_PRO_RATING),
            phases=normalise_phases(inputs.phases), updated_at=now,
        )  # fmt: skip
        self._checked(plan)
        self.plans.update(plan)
        return plan

    def delete(self, id_or_key: str, *, now: dt.datetime) -> None:
        from domain.catalog.plan_addons import PlanAddonService

        plan = self.get_live(id_or_key, now=now)
        if plan.status(now) == ACTIVE:
            raise_issues([issue("plan_invalid_status", "$.status",
                                message=f"active plan {plan.id} cannot be deleted; archive it first")])  # fmt: skip
        self.plans.update(dataclasses.replace(plan, deleted_at=now, updated_at=now))
        PlanAddonService(self.session).delete_all_of_plan(plan.id, now=now)

    def publish(self, id_or_key: str, *, now: dt.datetime) -> Plan:
        from domain.catalog.plan_addons import PlanAddonService

        plan = self.get_live(id_or_key, now=now)
        if plan.status(now) not in (DRAFT, SCHEDULED):
            raise_issues([issue("plan_invalid_status", "$.status",
                                message=f"only draft or scheduled plans can be published; plan {plan.id} is {plan.status(now)}")])  # fmt: skip
        issues = validate_plan(plan)
        issues += feature_issues(self.session, all_cards(plan))
        published = dataclasses.replace(plan, effective_from=now, effective_to=None, updated_at=now)
        issues += PlanAddonService(self.session).incompatibilities(published, now=now)
        raise_issues(issues)
        for other in self.plans.versions(plan.key):
            if other.id != plan.id and other.deleted_at is None and other.status(now) in (ACTIVE, SCHEDULED):
                self.plans.update(dataclasses.replace(other, effective_to=now, updated_at=now))
        self.plans.update(published)
        return published

    def archive(self, id_or_key: str, *, now: dt.datetime) -> Plan:
        plan = self.get_live(id_or_key, now=now)
        if plan.status(now) != ACTIVE:
            raise_issues([issue("plan_invalid_status", "$.status",
                                message=f"only active plans can be archived; plan {plan.id} is {plan.status(now)}")])  # fmt: skip
        archived = dataclasses.replace(plan, effective_to=now, updated_at=now)
        self.plans.update(archived)
        return archived

    def next_version(self, id_or_key: str, *, now: dt.datetime) -> Plan:
        """A new draft copied from the plan with this id, or from the newest version of this key."""
        if is_ulid(id_or_key):
            source = self.plans.get_by_id(id_or_key)
        else:
            versions = self.plans.versions(id_or_key)
            source = versions[-1] if versions else None
        if source is None:
            raise NotFoundError(f"plan not found: {id_or_key}")
        self._refuse_second_draft(source.key, now)
        plan = dataclasses.replace(
            source, id=new_id(), version=self.plans.max_version(source.key) + 1, effective_from=None, effective_to=None,
            created_at=now, updated_at=now, deleted_at=None,
        )  # fmt: skip
        self.plans.insert(plan)
        return plan


