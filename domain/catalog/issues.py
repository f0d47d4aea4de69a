"""Validation issues of the product catalog, with OpenMeter's codes, messages and severities.

An issue is `critical` (it blocks create and update) or a `warning` (kept and shown in the resource's
`validationErrors`, but it blocks publishing). Validators collect every issue, then the service
decides what blocks: callers see all problems at once (openmeter-billing.md 0 and 1).
Fields are JSONPath expressions, e.g. `$.phases[?(@.key=='trial')].rateCards[?(@.key=='api')].price`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from domain.errors import ValidationError

CRITICAL = "critical"
WARNING = "warning"

# code -> (message, severity), as the reference names them (productcatalog/errors.go).
CATALOG: dict[str, tuple[str, str]] = {
    "currency_invalid": ("currency is invalid", CRITICAL),
    "resource_key_empty": ("key must not be empty", CRITICAL),
    "resource_name_empty": ("name must not be empty", CRITICAL),
    "plan_billing_cadence_invalid": (
        "billing cadence must be one of the following: P1W, P2W, P4W, P1M, P3M, P6M, P12M, P1Y", CRITICAL),
    "plan_invalid_status": ("invalid status", CRITICAL),
    "plan_with_no_phases": ("plan must have at least one phase", WARNING),
    "plan_has_non_last_phase_with_no_duration": ("duration must be set for plan phase if it is not the last one", WARNING),
    "plan_has_last_phase_with_duration": ("duration must not be set for the last plan phase", WARNING),
    # The reference blocks this one at create; Tollgate keeps it as a warning like rate_card_duplicated_key
    # (a draft may hold it; publishing is refused), since no schema rule can state key uniqueness.
    "plan_phase_duplicated_key": ("duplicated plan phase key", WARNING),
    "plan_phase_with_negative_duration": ("duration must be positive", WARNING),
    "plan_phase_duration_less_then_an_hour": ("duration must be at least 1 hour", WARNING),
    "plan_phase_has_no_rate_cards": ("plan phase must have at least one rate card", WARNING),
    "plan_has_incompatible_addon": ("plan has incompatible add-on assignment", WARNING),
    "rate_card_billing_cadence_unaligned": ("ratecards with prices must have compatible billing cadence", WARNING),
    "rate_card_multiple_billing_cadence": ("ratecards with prices must have the exact same billing cadence", WARNING),
    "billing_cadence_invalid_value": ("billing cadence must be positive and 1 hour long duration at least", WARNING),
    "rate_card_key_feature_key_mismatch": ("rate card key must match feature key", CRITICAL),
    "entitlement_template_with_no_feature": ("entitlement template requires feature to be associated with", WARNING),
    "rate_card_duplicated_key": ("duplicated key", WARNING),
    "rate_card_feature_not_found": ("feature not found", WARNING),
    "rate_card_feature_archived": ("feature is archived", WARNING),
    "rate_card_usage_based_missing_billing_cadence": ("billing cadence is required for usage based rate cards", CRITICAL),
    "entitlement_template_invalid_issue_after_reset_with_priority": (
        "invalid entitlement template as issue after reset is required if issue after reset priority is set", WARNING),
    "entitlement_template_negative_usage_period": ("usage period must be positive", WARNING),
    "entitlement_template_usage_period_less_then_an_hour": ("usage period must be at least 1 hour", WARNING),
    "entitlement_template_invalid_json_config": ("invalid JSON in static entitlement config", CRITICAL),
    "percentage_discount_invalid_value": ("percentage must be between 0 and 100", CRITICAL),
    "usage_discount_negative_quantity": ("usage must be greater than 0", WARNING),
    "usage_discount_with_flat_price": ("usage discount is not supported for flat price", WARNING),
    "discount_without_price": ("discounts require a price", WARNING),
    "price_amount_negative": ("amount must not be negative", WARNING),
    "price_multiplier_negative": ("multiplier must not be negative", WARNING),
    "price_quantity_per_package_not_positive": ("quantity per package must be greater than 0", WARNING),
    "price_commitment_negative": ("commitment amounts must not be negative", WARNING),
    "price_minimum_greater_than_maximum": ("minimum amount must not be greater than maximum amount", WARNING),
    "price_tiers_unsorted": ("tiers must be sorted by upToAmount", WARNING),
    "price_tiers_duplicated_up_to": ("multiple tiers with the same upToAmount", WARNING),
    "price_tiers_open_ended": ("exactly one tier must be open-ended (without upToAmount), the last one", WARNING),
    "price_tier_without_price": ("a tier needs a flat or a unit price", WARNING),
    "addon_invalid_status": ("invalid status", CRITICAL),
    "addon_invalid_status_for_publish": ("only draft add-ons can be published", CRITICAL),
    "addon_invalid_ratecard_price_for_multi_instance": (
        "only free or flat price ratecards are allowed for add-on with multiple instance type", WARNING),
    "addon_has_no_rate_cards": ("add-on must have at least one rate card", WARNING),
    "plan_addon_incompatible_status": ("plan status is incompatible with the addon status", WARNING),
    "plan_addon_max_quantity_must_be_set": (
        "maximum quantity must be set to positive number for add-on with multiple instance type", WARNING),
    "plan_addon_max_quantity_must_not_be_set": ("maximum quantity must not be set for add-on with single instance type", WARNING),
    "plan_addon_currency_mismatch": ("currency of the plan and addon must match", WARNING),
    "plan_addon_unknown_plan_phase_key": (
        "add-on must define valid/existing plan phase key from which the add-on is available for purchase", WARNING),
    "plan_billing_cadence_not_compatible": ("plan billing cadence is not compatible with rate card billing cadence", WARNING),
    "rate_card_price_type_mismatch": ("price type must match", WARNING),
    "rate_card_price_payment_term_mismatch": ("price payment term must match", WARNING),
    "rate_card_only_flat_price_allowed": ("only flat price is allowed", WARNING),
    "rate_card_feature_key_mismatch": ("feature key must match", WARNING),
    "rate_card_billing_cadence_mismatch": ("billing cadence must match", WARNING),
    "rate_card_entitlement_template_type_mismatch": ("entitlement template type must match", WARNING),
    "rate_card_static_entitlement_template_not_allowed": ("static entitlement template is not allowed", WARNING),
    "rate_card_metered_entitlement_template_usage_period_mismatch": (
        "usage period for metered entitlement template must match", WARNING),
    "rate_card_percentage_discount_not_allowed": ("percentage discount is not allowed", WARNING),
}  # fmt: skip


@dataclass(frozen=True)
class Issue:
    code: str
    field: str
    message: str
    severity: str

    @property
    def critical(self) -> bool:
        return self.severity == CRITICAL

    def as_problem(self) -> dict[str, Any]:
        """The entry of a 400's `extensions.validationErrors`."""
        return {"code": self.code, "message": self.message, "field": self.field, "severity": self.severity}

    def as_api(self) -> dict[str, Any]:
        """The entry of a resource's `validationErrors` (the spec's ValidationError)."""
        return {"field": self.field, "code": self.code, "message": self.message, "attributes": {"severity": self.severity}}


def issue(code: str, field: str, *, message: str | None = None) -> Issue:
    text, severity = CATALOG[code]
    return Issue(code=code, field=field, message=message or text, severity=severity)


def field_of(base: str, name: str) -> str:
    return f"{base}.{name}" if base else f"$.{name}"


def keyed(base: str, collection: str, key: str) -> str:
    """`$.phases[?(@.key=='trial')]`: an element of a keyed collection, as the reference writes it."""
    return f"{field_of(base, collection)}[?(@.key=={key!r})]"


def raise_issues(issues: Iterable[Issue], *, detail: str | None = None) -> None:
    """Raise a 400 carrying every issue (when there are any)."""
    issues = list(issues)
    if not issues:
        return
    message = detail or "; ".join(f"{i.field}: {i.message}" for i in issues)
    raise ValidationError(message, extensions={"validationErrors": [i.as_problem() for i in issues]})


def raise_critical(issues: Iterable[Issue]) -> None:
    """Create and update are blocked by critical issues only (warnings are kept on the resource)."""
    raise_issues([i for i in issues if i.critical])


def warnings(issues: Iterable[Issue]) -> list[Issue]:
    return [i for i in issues if not i.critical]
