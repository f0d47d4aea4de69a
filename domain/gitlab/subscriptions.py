"""The GitLab Subscriptions API's rules (what CustomersDot provisions), as GitLab.com (SaaS) applies them.

Behaviour and messages follow shared/reference/gitlab-subscriptions.md; rulings 1, 12, 14, 15, 20, 21.
Deliberate differences, documented in spec/gitlab.yaml:
- Tollgate has no background seat refresh: a subscription's stored `seats_in_use` is refreshed from
  the live billable count whenever the subscription is written.
- A bulk add-on request is all-or-nothing (GitLab keeps the add-ons that succeeded before a failure).
- Add-on `quantity: 0` is valid and means no seats (ruling 21).
"""

from __future__ import annotations

import base64
import calendar
import dataclasses
import datetime as dt
import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from domain.errors import DomainError, NotFoundError, ValidationError
from domain.gitlab.entities import GUEST, OWNER, Member, Namespace, User, is_numeric_id, parse_id_or_path
from domain.gitlab.members import GROUP_SOURCE, PROJECT_SOURCE
from domain.gitlab.subscriptions_model import (
    ADD_ON_ALIASES,
    ADD_ON_NAMES,
    BULK_ADD_ON_KEYS,
    EXCLUDE_GUESTS_PLANS,
    PLAN_CODES,
    AddOnPurchase,
    CreditCardValidation,
    MinutesPack,
    Subscription,
    plan_title,
    titleize,
)

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

SUBSCRIPTION_PARAMS = ("start_date", "end_date", "plan_code", "seats", "max_seats_used", "auto_renew", "trial",
                       "trial_ends_on", "trial_starts_on", "trial_extension_type")  # fmt: skip
CREDIT_CARD_DAILY_LIMIT = 5


class BadRequest(DomainError):
    """GitLab's `bad_request!`: 400 `{"message": "400 Bad request - <reason>"}` (no reason: `400 Bad request`)."""

    status = 400
    kind = "bad request"

    def __init__(self, reason: str = ""):
        text = f"400 Bad request - {reason}" if reason else "400 Bad request"
        super().__init__(reason, body={"message": text})


def model_errors(errors: dict[str, list[str]]) -> ValidationError:
    """GitLab's `render_validation_error!`: 400 `{"message": {"<attr>": ["<msg>"]}}`."""
    return ValidationError("; ".join(f"{k} {v[0]}" for k, v in errors.items()), body={"message": errors})


def _not_found(resource: str, detail: str = "") -> NotFoundError:
    return NotFoundError(detail or f"{resource} not found", resource=resource)


def _credit_hash(salt: str, value: str) -> str:
    """Base64 (44 chars) of a salted SHA-256, as GitLab's `sha256` helper stores card details."""
    return base64.b64encode(hmac.new(salt.encode(), value.encode("utf-8"), hashlib.sha256).digest()).decode()


class SubscriptionsService:
    def __init__(self, session: Session):
        from storage.gitlab_entities import GitlabEntityRepository
        from storage.gitlab_subscriptions import SubscriptionRepository

        self.entities = GitlabEntityRepository(session)
        self.repository = SubscriptionRepository(session)

    # --- lookups -------------------------------------------------------------------------------
    def namespace(self, id_or_path: str | int, *, resource: str = "Namespace") -> Namespace:
        ref = parse_id_or_path(id_or_path)
        found = self.entities.namespace(ref) if isinstance(ref, int) else self.entities.namespace_by_full_path(ref)
        if found is None:
            raise _not_found(resource)
        return found

    def group(self, id_or_path: str | int) -> Namespace:
        found = self.namespace(id_or_path, resource="Group Namespace")
        if not found.is_group:
            raise _not_found("Group Namespace")
        return found

    def user(self, user_id: int) -> User:
        user = self.entities.user(user_id)
        if user is None:
            raise _not_found("User")
        return user

    def user_by_id_or_username(self, ref: str) -> User:
        user = self.entities.user(int(ref)) if is_numeric_id(ref) else self.entities.user_by_username(ref)
        if user is None:
            raise _not_found("User")
        return user

    def root(self, namespace: Namespace) -> Namespace:
        return self.entities.ancestors(namespace)[-1]

    # --- seats ---------------------------------------------------------------------------------
    def billable_user_ids(self, namespace: Namespace, *, today: dt.date, exclude_guests: bool) -> set[int]:
        """Distinct active, non-bot users who occupy a seat in the namespace's hierarchy.

        Sources: group members of the group and its subgroups, project members of its projects,
        members of groups invited to the hierarchy (at most the invitation's access). Guests do not
        count when `exclude_guests` (Ultimate and Gold plans).
        """
        if namespace.kind == "user":
            owner = self.entities.user(namespace.owner_id) if namespace.owner_id else None
            return {owner.id} if owner else set()
        hierarchy = self.entities.descendant_ids(namespace.id)
        levels: dict[int, int] = {}
        users: dict[int, User] = {}

        def count(member: Member, cap: int | None = None) -> None:
            if not member.active(today):
                return
            level = member.access_level if cap is None else min(member.access_level, cap)
            users[member.user.id] = member.user
            levels[member.user.id] = max(levels.get(member.user.id, 0), level)

        for member in self.entities.members(GROUP_SOURCE, hierarchy):
            count(member)
        projects = self.entities.projects_in(hierarchy)
        for member in self.entities.members(PROJECT_SOURCE, [project.id for project in projects]):
            count(member)
        for link in self.entities.links_of_shared_groups(hierarchy):
            invited = self.entities.namespace(link.shared_with_group_id)
            if not link.active(today) or invited is None:
                continue
            for member in self.entities.members(GROUP_SOURCE, [n.id for n in self.entities.ancestors(invited)]):
                count(member, link.group_access)
        minimum = GUEST + 1 if exclude_guests else GUEST
        return {uid for uid, level in levels.items() if level >= minimum and users[uid].active and not users[uid].bot}

    def _exclude_guests(self, namespace: Namespace, plan_code: str | None) -> bool:
        return namespace.is_group and plan_code in EXCLUDE_GUESTS_PLANS

    def billable_members_count(self, namespace: Namespace, *, today: dt.date) -> int:
        if namespace.kind == "user":
            return 1
        plan = self._plan_of(namespace)
        return len(self.billable_user_ids(namespace, today=today, exclude_guests=self._exclude_guests(namespace, plan)))

    def _plan_of(self, namespace: Namespace) -> str | None:
        root = self.root(namespace)
        subscription = self.repository.subscription(root.id)
        return subscription.plan_code if subscription else None

    def _seats_in_use(self, namespace: Namespace, subscription: Subscription, today: dt.date) -> int:
        if subscription.has_a_paid_hosted_plan:
            return subscription.seats_in_use
        return self.billable_members_count(namespace, today=today)

    def _live_billable(self, namespace: Namespace, plan_code: str | None, today: dt.date) -> int:
        if namespace.kind == "user":
            return 1
        return len(self.billable_user_ids(namespace, today=today, exclude_guests=self._exclude_guests(namespace, plan_code)))

    # --- namespaces ----------------------------------------------------------------------------
    def namespace_plan(self, namespace: Namespace, *, now: dt.datetime) -> str:
        """SaaS: a root shows its subscription's plan or `free` (creating the free subscription it lacks);
        a subgroup shows its root's plan."""
        root = self.root(namespace)
        subscription = self.repository.subscription(root.id)
        if subscription is None and namespace.is_root:
            # A GET writes here; a concurrent GET may win the race, which changes nothing visible.
            subscription = self.repository.create_subscription_if_missing(Subscription(
                id=None, namespace_id=root.id, plan_code="free", seats=0, seats_in_use=0, max_seats_used=0,
                max_seats_used_changed_at=None, seats_owed=0, start_date=root.created_at.date(), end_date=None,
                auto_renew=None, trial=False, trial_starts_on=None, trial_ends_on=None, trial_extension_type=None,
                created_at=now, updated_at=now,
            ))  # fmt: skip
        if subscription is None or subscription.plan_code is None:
            return "free"
        return subscription.plan_code

    def namespace_view(self, namespace: Namespace, *, basic: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        """The internal namespace entity, fields in GitLab's order; `basic` is the basic namespace entity."""
        today = now.date()
        limits = self.repository.limits(namespace.id)
        root_limits = self.repository.limits(self.root(namespace).id)
        view = dict(basic)
        view["shared_runners_minutes_limit"] = limits.shared_runners_minutes_limit
        view["extra_shared_runners_minutes_limit"] = limits.extra_shared_runners_minutes_limit
        view["additional_purchased_storage_size"] = root_limits.additional_purchased_storage_size or 0
        view["additional_purchased_storage_ends_on"] = root_limits.additional_purchased_storage_ends_on
        view["billable_members_count"] = self.billable_members_count(namespace, today=today)
        subscription = self.repository.subscription(namespace.id)
        if subscription is not None:
            view["seats_in_use"] = self._seats_in_use(namespace, subscription, today)
            view["max_seats_used"] = subscription.max_seats_used
            view["max_seats_used_changed_at"] = subscription.max_seats_used_changed_at
            view["end_date"] = subscription.end_date
        view["plan"] = self.namespace_plan(namespace, now=now)
        view["trial_ends_on"] = subscription.trial_ends_on if subscription else None
        view["trial"] = bool(subscription and subscription.trial)
        if namespace.is_group:
            hierarchy = self.entities.descendant_ids(namespace.id)
            view["members_count_with_descendants"] = len({m.user.id for m in self.entities.members(GROUP_SOURCE, hierarchy)})
            view["root_repository_size"] = None
            view["projects_count"] = self.entities.count_projects_in(hierarchy)
        return view

    def update_namespace(self, namespace: Namespace, params: dict[str, Any], *, now: dt.datetime) -> None:
        """Only the sent keys change; `gitlab_subscription_attributes` updates (or creates) the subscription."""
        self.repository.lock_namespaces(namespace.id)
        errors: dict[str, list[str]] = {}
        limit_keys = ("shared_runners_minutes_limit", "extra_shared_runners_minutes_limit")
        if "shared_runners_minutes_limit" in params and not namespace.is_root:
            errors["shared_runners_minutes_limit"] = ["is not supported for this namespace"]
        subscription_params = params.get("gitlab_subscription_attributes")
        new_subscription = None
        if subscription_params is not None:
            current = self.repository.subscription(namespace.id)
            try:
                new_subscription = self._apply(namespace, current, subscription_params, now=now, prefix="gitlab_subscription.")
            except ValidationError as error:
                errors.update(error.body["message"])
        if errors:
            raise model_errors(errors)
        limits = self.repository.limits(namespace.id)
        changes = {key: params[key] for key in limit_keys if key in params}
        if changes:
            limits = dataclasses.replace(limits, **changes)
            self.repository.save_limits(limits, now=now)
        storage = {key: params[key] for key in ("additional_purchased_storage_size", "additional_purchased_storage_ends_on") if key in params}
        if storage:
            root_limits = self.repository.limits(self.root(namespace).id)
            if "additional_purchased_storage_size" in storage and storage["additional_purchased_storage_size"] is None:
                storage["additional_purchased_storage_size"] = 0
            self.repository.save_limits(dataclasses.replace(root_limits, **storage), now=now)
        if new_subscription is not None:
            self.repository.save_subscription(new_subscription)

    # --- subscriptions -------------------------------------------------------------------------
    def subscription_view(self, namespace: Namespace, *, now: dt.datetime) -> dict[str, Any]:
        subscription = self.repository.subscription(namespace.id)
        if subscription is None:
            return {
                "plan": {"name": None, "code": None, "auto_renew": None, "trial": None, "upgradable": None, "exclude_guests": None},
                "usage": {"seats_in_subscription": None, "seats_in_use": None, "max_seats_used": None, "seats_owed": None},
                "billing": {"subscription_start_date": None, "subscription_end_date": None, "trial_ends_on": None},
            }  # fmt: skip
        today = now.date()
        code = subscription.plan_code if subscription.plan_known else None
        return {
            "plan": {"name": plan_title(code), "code": code, "auto_renew": subscription.auto_renew, "trial": subscription.trial,
                     "upgradable": subscription.upgradable(today), "exclude_guests": self._exclude_guests(namespace, code)},
            "usage": {"seats_in_subscription": subscription.seats, "seats_in_use": self._seats_in_use(namespace, subscription, today),
                      "max_seats_used": subscription.max_seats_used, "seats_owed": subscription.seats_owed},
            "billing": {"subscription_start_date": subscription.start_date, "subscription_end_date": subscription.end_date,
                        "trial_ends_on": subscription.trial_ends_on},
        }  # fmt: skip

    def _apply(self, namespace: Namespace, current: Subscription | None, params: dict[str, Any], *, now: dt.datetime,
               prefix: str = "") -> Subscription:  # fmt: skip
        """The subscription after applying the sent `params` (absent keys untouched, explicit nulls applied)."""
        values: dict[str, Any] = dataclasses.asdict(current) if current else {
            "id": None, "namespace_id": namespace.id, "plan_code": None, "seats": None, "seats_in_use": 0,
            "max_seats_used": None, "max_seats_used_changed_at": None, "seats_owed": 0, "start_date": None,
            "end_date": None, "auto_renew": None, "trial": False, "trial_starts_on": None, "trial_ends_on": None,
            "trial_extension_type": None, "created_at": now, "updated_at": now,
        }  # fmt: skip
        for key in SUBSCRIPTION_PARAMS:
            if key in params:
                values[key] = params[key]
        if "plan_code" in params:
            code = params["plan_code"]
            values["plan_code"] = "free" if code is None else (code if code in PLAN_CODES else None)
        values["trial"] = bool(values["trial"])
        if params.get("trial") is True and "trial_starts_on" not in params:
            values["trial_starts_on"] = values["start_date"]
        errors: dict[str, list[str]] = {}
        if values["seats"] is None:
            errors[prefix + "seats"] = ["can't be blank"]
        if values["start_date"] is None:
            errors[prefix + "start_date"] = ["can't be blank"]
        if values["trial"]:
            if values["trial_starts_on"] is None:
                errors[prefix + "trial_starts_on"] = ["can't be blank"]
            if values["trial_ends_on"] is None:
                errors[prefix + "trial_ends_on"] = ["can't be blank"]
            elif values["trial_starts_on"] is not None and values["trial_ends_on"] <= values["trial_starts_on"]:
                errors[prefix + "trial_ends_on"] = [f"must be greater than {values['trial_starts_on'].isoformat()}"]
        if errors:
            raise model_errors(errors)
        if values["max_seats_used"] is None and current is None:
            values["max_seats_used"] = 0
        updated = Subscription(**{**values, "updated_at": now})
        today = now.date()
        live = self._live_billable(namespace, updated.plan_code, today)
        updated = dataclasses.replace(updated, seats_in_use=live)
        if current is not None:
            new_term = (
                "start_date" in params and "end_date" in params
                and updated.start_date != current.start_date and updated.end_date != current.end_date
                and (current.end_date is None or (updated.start_date is not None and updated.start_date >= current.end_date))
            )  # fmt: skip
            trial_ended = current.trial and not updated.trial
            stale = (current.max_seats_used_changed_at is not None and updated.start_date is not None
                     and current.max_seats_used_changed_at.date() < updated.start_date)  # fmt: skip
            if updated.has_a_paid_hosted_plan and (new_term or trial_ended or stale):
                return dataclasses.replace(updated, max_seats_used=live, seats_owed=max(0, live - (updated.seats or 0)),
                                           max_seats_used_changed_at=now)  # fmt: skip
            if updated.max_seats_used != current.max_seats_used:
                updated = dataclasses.replace(updated, max_seats_used_changed_at=now)
        return updated

    def create_subscription(self, namespace: Namespace, params: dict[str, Any], *, now: dt.datetime) -> None:
        self.repository.lock_namespaces(namespace.id)
        subscription = self._apply(namespace, None, params, now=now)
        if self.repository.subscription(namespace.id) is not None:
            raise model_errors({"namespace_id": ["has already been taken"]})
        self.repository.save_subscription(subscription)

    def update_subscription(self, namespace: Namespace, params: dict[str, Any], *, now: dt.datetime) -> None:
        self.repository.lock_namespaces(namespace.id)
        current = self.repository.subscription(namespace.id)
        if current is None:
            raise _not_found("GitlabSubscription")
        self.repository.save_subscription(self._apply(namespace, current, params, now=now))

    # --- owners, users, permissions ------------------------------------------------------------
    def owners(self, group: Namespace, *, today: dt.date) -> list[Member]:
        """Direct OWNER members of the group who are active users (no inherited or subgroup owners)."""
        return [m for m in self.entities.members(GROUP_SOURCE, [group.id])
                if m.access_level == OWNER and m.user.active and m.active(today)]  # fmt: skip

    def can_edit_billing(self, namespace: Namespace, user: User, *, today: dt.date) -> bool:
        if namespace.kind == "user":
            return namespace.owner_id == user.id
        for ancestor in self.entities.ancestors(namespace):
            member = self.entities.member(GROUP_SOURCE, ancestor.id, user.id)
            if member is not None and member.active(today) and member.access_level == OWNER:
                return True
        return False

    def validate_credit_card(self, user: User, params: dict[str, Any], *, now: dt.datetime) -> None:
        """Upsert the user's credit card validation; only salted hashes of the card details are kept.
        Every refusal is a bare `400 Bad request`, as GitLab answers."""
        mask = str(params["credit_card_mask_number"])
        month, year = params["credit_card_expiration_month"], params["credit_card_expiration_year"]
        holder, network = params["credit_card_holder_name"], params["credit_card_type"]
        zuora = params.get("zuora_payment_method_xid")
        fingerprint = params.get("stripe_card_fingerprint")
        if not (mask.isascii() and mask.isdigit()) or not 0 <= int(mask) <= 9999 or not 1 <= month <= 12 or not 1 <= year <= 9999:
            raise BadRequest()
        if len(holder) > 50 or len(network) > 32 or (zuora is not None and len(zuora) > 50):
            raise BadRequest()
        if any(len(params.get(k) or "") > 255 for k in ("stripe_setup_intent_xid", "stripe_payment_method_xid", "stripe_card_fingerprint")):
            raise BadRequest()
        if zuora and self.repository.zuora_xid_taken_by_other(zuora, user.id):
            raise BadRequest()
        validated_at: dt.datetime = params["credit_card_validated_at"]
        if fingerprint and self.repository.recent_fingerprint_uses(
            fingerprint, since=now - dt.timedelta(hours=24), user_id=user.id
        ) >= CREDIT_CARD_DAILY_LIMIT:
            raise BadRequest()
        salt = self.repository.instance_secret("credit_card_hash_salt")
        expiration = dt.date(year, month, calendar.monthrange(year, month)[1])
        saved = self.repository.save_credit_card_validation(CreditCardValidation(
            user_id=user.id, credit_card_validated_at=validated_at, zuora_payment_method_xid=zuora,
            stripe_setup_intent_xid=params.get("stripe_setup_intent_xid"),
            stripe_payment_method_xid=params.get("stripe_payment_method_xid"), stripe_card_fingerprint=fingerprint,
            last_digits_hash=_credit_hash(salt, str(int(mask))), holder_name_hash=_credit_hash(salt, holder.lower()),
            network_hash=_credit_hash(salt, network.lower()), expiration_date_hash=_credit_hash(salt, expiration.isoformat()),
            updated_at=now,
        ))  # fmt: skip
        if not saved:
            raise BadRequest()

    def credit_card_validation(self, user_id: int) -> CreditCardValidation | None:
        return self.repository.credit_card_validation(user_id)

    # --- upcoming reconciliations --------------------------------------------------------------
    def upsert_reconciliation(self, namespace: Namespace, *, next_date: dt.date, alert_from: dt.date, now: dt.datetime):
        self.repository.lock_namespaces(namespace.id)
        return self.repository.upsert_reconciliation(namespace.id, next_date=next_date, alert_from=alert_from, now=now)

    def delete_reconciliation(self, namespace: Namespace) -> None:
        if not self.repository.delete_reconciliation(namespace.id):
            raise NotFoundError("no upcoming reconciliation", body={"message": "404 Not Found"})

    def reconciliation(self, namespace: Namespace):
        return self.repository.reconciliation(namespace.id)

    # --- add-on purchases ----------------------------------------------------------------------
    @staticmethod
    def stored_add_on(name: str) -> str:
        stored = ADD_ON_ALIASES.get(name, name)
        if stored not in ADD_ON_NAMES:
            raise _not_found("Subscription Add-on")
        return stored

    def add_on_purchase(self, namespace: Namespace, add_on_name: str) -> AddOnPurchase:
        stored = self.stored_add_on(add_on_name)
        purchase = self.repository.add_on_purchase(namespace.id, stored)
        if purchase is None:
            raise NotFoundError("no such add-on purchase", body={"message": "404 Not found"})
        return purchase

    @staticmethod
    def _purchase_errors(purchase: AddOnPurchase) -> dict[str, list[str]]:
        errors: dict[str, list[str]] = {}
        if purchase.quantity is None:
            errors["quantity"] = ["can't be blank"]
        elif purchase.quantity < 0:
            errors["quantity"] = ["must be greater than or equal to 0"]
        if not purchase.purchase_xid:
            errors["purchase_xid"] = ["can't be blank"]
        elif len(purchase.purchase_xid) > 255:
            errors["purchase_xid"] = ["is too long (maximum is 255 characters)"]
        return errors

    def _require_root_group(self, namespace: Namespace) -> None:
        if not (namespace.is_group and namespace.is_root):
            raise BadRequest(f"Namespace {namespace.name} is not a root namespace")

    def _create_purchase(self, namespace: Namespace, add_on: str, item: dict[str, Any], *, now: dt.datetime) -> AddOnPurchase:
        self._require_root_group(namespace)
        if self.repository.add_on_purchase(namespace.id, add_on) is not None:
            raise BadRequest(f"Add-on purchase for namespace {namespace.name} and add-on {titleize(add_on)} already exists, "
                             "update the existing record")  # fmt: skip
        purchase = AddOnPurchase(id=None, namespace_id=namespace.id, add_on=add_on, quantity=item.get("quantity"),
                                 started_on=item["started_on"], expires_on=item["expires_on"],
                                 purchase_xid=item.get("purchase_xid") or "", trial=bool(item.get("trial") or False))  # fmt: skip
        errors = self._purchase_errors(purchase)
        if errors:
            raise model_errors(errors)
        return self.repository.save_add_on_purchase(purchase, now=now)

    def _update_purchase(self, existing: AddOnPurchase, add_on: str, item: dict[str, Any], *, now: dt.datetime) -> AddOnPurchase:
        changes = {key: item[key] for key in ("quantity", "started_on", "expires_on", "purchase_xid", "trial") if key in item and item[key] is not None}
        purchase = dataclasses.replace(existing, add_on=add_on, **changes)
        errors = self._purchase_errors(purchase)
        if errors:
            raise model_errors(errors)
        return self.repository.save_add_on_purchase(purchase, now=now)

    def provision_add_ons(self, namespace: Namespace, add_on_purchases: dict[str, list[dict[str, Any]]], *,
                          now: dt.datetime) -> list[AddOnPurchase]:  # fmt: skip
        """The bulk endpoint: per add-on key, the first purchase object creates, updates or deprovisions."""
        self.repository.lock_namespaces(namespace.id)
        requested = {key: [{k: v for k, v in items[0].items() if v is not None}]
                     for key, items in add_on_purchases.items() if key in BULK_ADD_ON_KEYS and items}  # fmt: skip
        enterprise = requested.get("duo_enterprise", [{}])[0]
        if (enterprise.get("quantity") or 0) > 0:
            requested.pop("duo_pro", None)  # Enterprise wins over Pro
        results: list[AddOnPurchase] = []
        for key in ("duo_core", "duo_pro", "duo_enterprise", "product_analytics"):
            if key not in requested:
                continue
            item, add_on = requested[key][0], BULK_ADD_ON_KEYS[key]
            if key in ("duo_pro", "duo_enterprise"):
                existing = (self.repository.add_on_purchase(namespace.id, "duo_enterprise")
                            or self.repository.add_on_purchase(namespace.id, "code_suggestions"))  # fmt: skip
            else:
                existing = self.repository.add_on_purchase(namespace.id, add_on)
            quantity = item.get("quantity")
            if existing is None and quantity is not None and quantity > 0:
                results.append(self._create_purchase(namespace, add_on, item, now=now))
            elif existing is not None and quantity is not None and quantity > 0:
                results.append(self._update_purchase(existing, add_on, item, now=now))
            elif existing is not None and existing.add_on == add_on:
                # Deprovision: only the sent fields are written (normally yesterday's dates); quantity 0 means no seats.
                results.append(self._update_purchase(existing, add_on, item, now=now))
            else:
                continue  # nothing to provision or de-provision
            if key == "duo_core" and item.get("new_subscription") is True:
                limits = self.repository.limits(namespace.id)
                if limits.duo_core_features_enabled is None:
                    self.repository.save_limits(dataclasses.replace(limits, duo_core_features_enabled=True), now=now)
        return results

    def create_single_add_on(self, namespace: Namespace, add_on_name: str, item: dict[str, Any], *, now: dt.datetime) -> AddOnPurchase:
        add_on = self.stored_add_on(add_on_name)
        self.repository.lock_namespaces(namespace.id)
        return self._create_purchase(namespace, add_on, item, now=now)

    def update_single_add_on(self, namespace: Namespace, add_on_name: str, item: dict[str, Any], *, now: dt.datetime) -> AddOnPurchase:
        add_on = self.stored_add_on(add_on_name)
        self.repository.lock_namespaces(namespace.id)
        existing = self.repository.add_on_purchase(namespace.id, add_on)
        if existing is None:
            raise BadRequest(f"Add-on purchase for namespace {namespace.name} and add-on {titleize(add_on)} does not exist, "
                             "create a new record instead")  # fmt: skip
        return self._update_purchase(existing, add_on, item, now=now)

    # --- compute minutes packs -----------------------------------------------------------------
    def create_packs(self, namespace: Namespace, packs: list[dict[str, Any]], *, now: dt.datetime) -> list[MinutesPack]:
        """All or nothing; a purchase_xid already used by this namespace returns that pack unchanged."""
        self.repository.lock_namespaces(namespace.id)
        results = []
        for pack in packs:
            existing = self.repository.pack_by_xid(pack["purchase_xid"])
            if existing is not None and existing.namespace_id == namespace.id:
                results.append(existing)
                continue
            if existing is not None or not pack["purchase_xid"] or len(pack["purchase_xid"]) > 32:
                raise BadRequest("Unable to save additional packs")
            created = self.repository.add_pack(namespace_id=namespace.id, number_of_minutes=pack["number_of_minutes"],
                                               expires_at=pack["expires_at"], purchase_xid=pack["purchase_xid"], now=now)  # fmt: skip
            if created is None:  # another namespace's request took this purchase_xid meanwhile
                raise BadRequest("Unable to save additional packs")
            results.append(created)
        return results

    def packs(self, namespace: Namespace) -> list[MinutesPack]:
        return self.repository.packs(namespace.id)

    def _owner_ids(self, namespace: Namespace, today: dt.date) -> set[int]:
        if namespace.kind == "user":
            return {namespace.owner_id} if namespace.owner_id else set()
        return {m.user.id for m in self.entities.members(GROUP_SOURCE, [namespace.id])
                if m.access_level == OWNER and m.active(today)}  # fmt: skip

    def move_packs(self, source: Namespace, target: Namespace, *, now: dt.datetime) -> int:
        if not source.is_root:
            raise BadRequest("Namespace must be a top-level namespace")
        if not target.is_root:
            raise BadRequest("Target namespace must be a top-level namespace")
        if not self._owner_ids(source, now.date()) & self._owner_ids(target, now.date()):
            raise BadRequest("Both namespaces must share the same owner")
        self.repository.lock_namespaces(source.id, target.id)
        return self.repository.move_packs(source.id, target.id)
