"""Add-ons: versions of a key with rate cards; lifecycle draft -> active -> archived (openmeter-billing.md 1.3).

Create and update are blocked only by critical issues; publishing also needs at least one rate card,
one billing cadence shared by every priced card, only free or flat prices on `multiple`-instance
add-ons, and existing features. Publishing archives the version active until then.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from domain.catalog import ratecards
from domain.catalog.issues import Issue, field_of, issue, keyed, raise_critical, raise_issues, warnings
from domain.catalog.model import ACTIVE, ARCHIVED, DRAFT, Addon, ListQuery
from domain.catalog.plans import check_features_exist, feature_issues
from domain.currencies import is_known_currency
from domain.errors import ConflictError, NotFoundError
from domain.ids import is_ulid, new_id


@dataclass(frozen=True)
class AddonInput:
    name: str
    instance_type: str
    rate_cards: list[dict[str, Any]]
    description: str | None = None
    metadata: dict[str, str] | None = None
    key: str = ""
    currency: str = "USD"


def normalise_rate_cards(cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for card in cards:
        ratecards.check_durations(card, keyed("", "rateCards", card["key"]))
    return [ratecards.normalise(card) for card in cards]


def located_cards(addon: Addon) -> list[tuple[str, dict[str, Any]]]:
    return [(keyed("", "rateCards", card["key"]), card) for card in addon.rate_cards]


def validate_addon(addon: Addon) -> list[Issue]:
    issues: list[Issue] = []
    if not is_known_currency(addon.currency):
        issues.append(issue("currency_invalid", "$.currency"))
    if not addon.key:
        issues.append(issue("resource_key_empty", "$.key"))
    if not addon.name:
        issues.append(issue("resource_name_empty", "$.name"))
    seen: set[str] = set()
    for base, card in located_cards(addon):
        if card["key"] in seen:
            issues.append(issue("rate_card_duplicated_key", field_of(base, "key")))
        seen.add(card["key"])
        issues += ratecards.validate(card, base)
    return issues


def publish_issues(addon: Addon) -> list[Issue]:
    """The rules only publishing enforces."""
    issues: list[Issue] = []
    if not addon.rate_cards:
        issues.append(issue("addon_has_no_rate_cards", "$.rateCards"))
    cadences = {card["billingCadence"] for card in addon.rate_cards if ratecards.is_billable(card) and card.get("billingCadence")}
    if len(cadences) > 1:
        issues.append(issue("rate_card_multiple_billing_cadence", "$.rateCards"))
    if addon.instance_type == "multiple":
        for base, card in located_cards(addon):
            if card.get("price") is not None and card["price"]["type"] != "flat":
                issues.append(issue("addon_invalid_ratecard_price_for_multi_instance", field_of(base, "price")))
    return issues


def addon_warnings(addon: Addon) -> list[Issue]:
    return warnings(validate_addon(addon))


class AddonService:
    def __init__(self, session: Session):
        from storage.catalog import AddonRepository

        self.session = session
        self.addons = AddonRepository(session)

    def get(self, id_or_key: str, *, include_latest: bool = False, now: dt.datetime) -> Addon:
        addon = self.addons.get_by_id(id_or_key) if is_ulid(id_or_key) else None
        if addon is None:
            versions = [a for a in self.addons.versions(id_or_key) if a.deleted_at is None]
            if include_latest:
                addon = versions[-1] if versions else None
            else:
                addon = next((a for a in versions if a.status(now) == ACTIVE), None)
        if addon is None:
            raise NotFoundError(f"add-on not found: {id_or_key}")
        return addon

    def get_live(self, id_or_key: str, *, now: dt.datetime) -> Addon:
        addon = self.get(id_or_key, include_latest=not is_ulid(id_or_key), now=now)
        if addon.deleted_at is not None:
            raise NotFoundError(f"add-on not found: {id_or_key}")
        return addon

    def get_by_id(self, addon_id: str) -> Addon | None:
        return self.addons.get_by_id(addon_id)

    def list(self, query: ListQuery, *, now: dt.datetime) -> tuple[list[Addon], int]:
        return self.addons.list(query, now=now)

    def _checked(self, addon: Addon) -> None:
        check_features_exist(self.session, addon.rate_cards)
        raise_critical(validate_addon(addon))

    def create(self, inputs: AddonInput, *, now: dt.datetime) -> Addon:
        addon = Addon(
            id=new_id(), key=inputs.key, version=1, name=inputs.name, description=inputs.description,
            metadata=inputs.metadata, currency=inputs.currency, instance_type=inputs.instance_type,
            rate_cards=normalise_rate_cards(inputs.rate_cards), effective_from=None, effective_to=None,
            created_at=now, updated_at=now,
        )  # fmt: skip
        self._checked(addon)
        drafts = [a for a in self.addons.versions(addon.key) if a.deleted_at is None and a.status(now) == DRAFT]
        if drafts:  # a state conflict: 409 naming the draft (the reference answers 400)
            raise ConflictError(f"only a single draft version is allowed: add-on {drafts[0].id} (version {drafts[0].version}) is a draft",
                                extensions={"conflictingEntityId": drafts[0].id})  # fmt: skip
        addon = dataclasses.replace(addon, version=self.addons.max_version(addon.key) + 1)
        self.addons.insert(addon)
        return addon

    def update(self, id_or_key: str, inputs: AddonInput, *, now: dt.datetime) -> Addon:
        current = self.get_live(id_or_key, now=now)
        if current.status(now) != DRAFT:
            raise_issues([issue("addon_invalid_status", "$.status",
                                message=f"only draft add-ons can be updated; add-on {current.id} is {current.status(now)}")])  # fmt: skip
        addon = dataclasses.replace(
            current, name=inputs.name, description=inputs.description, metadata=inputs.metadata,
            instance_type=inputs.instance_type, rate_cards=normalise_rate_cards(inputs.rate_cards), updated_at=now,
        )  # fmt: skip
        self._checked(addon)
        self.addons.update(addon)
        return addon

    def delete(self, id_or_key: str, *, now: dt.datetime) -> None:
        from storage.catalog import PlanAddonRepository

        addon = self.get_live(id_or_key, now=now)
        if addon.status(now) not in (DRAFT, ARCHIVED):
            raise_issues([issue("addon_invalid_status", "$.status",
                                message=f"only draft or archived add-ons can be deleted; add-on {addon.id} is {addon.status(now)}")])  # fmt: skip
        assigned = PlanAddonRepository(self.session).live_plans_of_addon(addon.id)
        if assigned:
            raise_issues([issue("addon_invalid_status", "$.status",
                                message=f"add-on {addon.id} is assigned to plans: {', '.join(assigned)}")])  # fmt: skip
        self.addons.update(dataclasses.replace(addon, deleted_at=now, updated_at=now))

    def publish(self, id_or_key: str, *, now: dt.datetime) -> Addon:
        addon = self.get_live(id_or_key, now=now)
        if addon.status(now) != DRAFT:
            raise_issues([issue("addon_invalid_status_for_publish", "$.status")])
        issues = validate_addon(addon) + publish_issues(addon) + feature_issues(self.session, located_cards(addon))
        raise_issues(issues)
        for other in self.addons.versions(addon.key):
            if other.id != addon.id and other.deleted_at is None and other.status(now) == ACTIVE:
                self.addons.update(dataclasses.replace(other, effective_to=now, updated_at=now))
        published = dataclasses.replace(addon, effective_from=now, effective_to=None, updated_at=now)
        self.addons.update(published)
        return published

    def archive(self, id_or_key: str, *, now: dt.datetime) -> Addon:
        addon = self.get_live(id_or_key, now=now)
        if addon.status(now) != ACTIVE:
            raise_issues([issue("addon_invalid_status", "$.status",
                                message=f"only active add-ons can be archived; add-on {addon.id} is {addon.status(now)}")])  # fmt: skip
        archived = dataclasses.replace(addon, effective_to=now, updated_at=now)
        self.addons.update(archived)
        return archived
