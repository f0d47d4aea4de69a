"""Values of the GitLab Subscriptions API: plans, subscriptions, limits, add-ons, minutes packs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

PLAN_CODES = ("default", "free", "bronze", "silver", "premium", "gold", "ultimate", "ultimate_trial",
              "ultimate_trial_paid_customer", "premium_trial", "opensource")  # fmt: skip
PAID_HOSTED_PLANS = frozenset({"bronze", "silver", "premium", "gold", "ultimate", "ultimate_trial",
                               "ultimate_trial_paid_customer", "premium_trial", "opensource"})  # fmt: skip
TOP_PLANS = frozenset({"gold", "ultimate", "opensource"})
EXCLUDE_GUESTS_PLANS = frozenset({"gold", "ultimate", "ultimate_trial"})


def titleize(code: str) -> str:
    """Rails' titleize of a stored name: `ultimate_trial` -> `Ultimate Trial`."""
    return " ".join(word.capitalize() for word in code.split("_"))


def plan_title(code: str | None) -> str | None:
    """The plan's title (GitLab's plans table holds the titleized code)."""
    return titleize(code) if code in PLAN_CODES else None


# Stored add-on names; Duo Pro is stored as `code_suggestions`.
ADD_ON_NAMES = ("code_suggestions", "product_analytics", "duo_enterprise", "duo_amazon_q", "duo_core",
                "self_hosted_dap", "gitlab_credits")  # fmt: skip
ADD_ON_ALIASES = {"duo_pro": "code_suggestions"}
BULK_ADD_ON_KEYS = {"duo_core": "duo_core", "duo_pro": "code_suggestions", "duo_enterprise": "duo_enterprise",
                    "product_analytics": "product_analytics"}  # fmt: skip


@dataclass(frozen=True)
class Subscription:
    id: int | None
    namespace_id: int
    plan_code: str | None
    seats: int | None
    seats_in_use: int
    max_seats_used: int | None
    max_seats_used_changed_at: dt.datetime | None
    seats_owed: int
    start_date: dt.date | None
    end_date: dt.date | None
    auto_renew: bool | None
    trial: bool
    trial_starts_on: dt.date | None
    trial_ends_on: dt.date | None
    trial_extension_type: int | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def plan_known(self) -> bool:
        return self.plan_code in PLAN_CODES

    @property
    def has_a_paid_hosted_plan(self) -> bool:
        return not self.trial and (self.seats or 0) > 0 and self.plan_code in PAID_HOSTED_PLANS

    def expired(self, today: dt.date) -> bool:
        return self.end_date is not None and self.end_date < today

    def upgradable(self, today: dt.date) -> bool:
        if self.plan_code in TOP_PLANS:
            return False
        return self.has_a_paid_hosted_plan and not self.expired(today)


@dataclass(frozen=True)
class NamespaceLimits:
    namespace_id: int
    shared_runners_minutes_limit: int | None = None
    extra_shared_runners_minutes_limit: int | None = None
    additional_purchased_storage_size: int = 0
    additional_purchased_storage_ends_on: dt.date | None = None
    duo_core_features_enabled: bool | None = None


@dataclass(frozen=True)
class UpcomingReconciliation:
    id: int
    namespace_id: int
    next_reconciliation_date: dt.date
    display_alert_from: dt.date


@dataclass(frozen=True)
class CreditCardValidation:
    user_id: int
    credit_card_validated_at: dt.datetime
    zuora_payment_method_xid: str | None
    stripe_setup_intent_xid: str | None
    stripe_payment_method_xid: str | None
    stripe_card_fingerprint: str | None
    last_digits_hash: str
    holder_name_hash: str
    network_hash: str
    expiration_date_hash: str
    updated_at: dt.datetime


@dataclass(frozen=True)
class AddOnPurchase:
    id: int | None
    namespace_id: int
    add_on: str
    quantity: int
    started_on: dt.date
    expires_on: dt.date
    purchase_xid: str
    trial: bool

    @property
    def add_on_title(self) -> str:
        return titleize(self.add_on)


@dataclass(frozen=True)
class MinutesPack:
    id: int
    namespace_id: int
    number_of_minutes: int
    expires_at: dt.date
    purchase_xid: str
