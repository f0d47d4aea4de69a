"""Rate cards and their prices, discounts, entitlement templates and tax config.

`normalise` turns a rate card as the API received it (already schema-valid) into the stored shape:
known fields only, money as canonical decimal strings (`"10.50"` -> `"10.5"`), defaults applied
(flat `paymentTerm` in_advance, dynamic `multiplier` 1, metered template `usagePeriod` = the card's
cadence). `validate` reports every issue of one card (openmeter-billing.md 1.2).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.catalog import durations
from domain.catalog.issues import Issue, field_of, issue
from domain.errors import ValidationError

FLAT_FEE, USAGE_BASED = "flat_fee", "usage_based"
_MONEY_FIELDS = ("amount", "minimumAmount", "maximumAmount", "multiplier", "quantityPerPackage")


def decimal_of(text: Any, field: str = "amount") -> Decimal:
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{field}: not a number: {text!r}") from None
    if not value.is_finite():
        raise ValidationError(f"{field}: not a finite number: {text!r}")
    return value


def money_text(value: Any, field: str = "amount") -> str:
    """Canonical decimal text: no exponent, no trailing zeros (`10.50` -> `10.5`, `-0` -> `0`)."""
    text = format(decimal_of(value, field), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def duration_or_error(text: str, field: str) -> durations.Duration:
    try:
        return durations.parse(text)
    except durations.InvalidDuration as error:
        raise ValidationError(str(error), extensions={"validationErrors": [
            {"code": "invalid_duration", "message": str(error), "field": field, "severity": "critical"}]}) from None


def _normalise_price(price: dict[str, Any] | None) -> dict[str, Any] | None:
    if price is None:
        return None
    out: dict[str, Any] = {"type": price["type"]}
    for name in _MONEY_FIELDS:
        if price.get(name) is not None:
            out[name] = money_text(price[name], name)
    if price["type"] == "flat":
        out["paymentTerm"] = price.get("paymentTerm") or "in_advance"
    if price["type"] == "dynamic":
        out.setdefault("multiplier", "1")
    if price["type"] == "tiered":
        out["mode"] = price["mode"]
        tiers = []
        for tier in price.get("tiers") or []:
            item: dict[str, Any] = {}
            if tier.get("upToAmount") is not None:
                item["upToAmount"] = money_text(tier["upToAmount"], "upToAmount")
            for part, kind in (("flatPrice", "flat"), ("unitPrice", "unit")):
                component = tier.get(part)
                item[part] = None if component is None else {"type": kind, "amount": money_text(component["amount"])}
            tiers.append(item)
        out["tiers"] = tiers
    return out


def _normalise_entitlement(template: dict[str, Any] | None, cadence: str | None) -> dict[str, Any] | None:
    if template is None:
        return None
    out: dict[str, Any] = {"type": template["type"]}
    if template.get("metadata") is not None:
        out["metadata"] = dict(template["metadata"])
    if template["type"] == "static":
        out["config"] = template["config"]
    elif template["type"] == "metered":
        out["isSoftLimit"] = bool(template.get("isSoftLimit", False))
        if template.get("issueAfterReset") is not None:
            out["issueAfterReset"] = template["issueAfterReset"]
        if template.get("issueAfterResetPriority") is not None:
            out["issueAfterResetPriority"] = template["issueAfterResetPriority"]
        elif template.get("issueAfterReset") is not None:
            out["issueAfterResetPriority"] = 1
        out["preserveOverageAtReset"] = bool(template.get("preserveOverageAtReset", False))
        usage_period = template.get("usagePeriod") or cadence
        if usage_period is not None:
            out["usagePeriod"] = usage_period
    return out


def normalise(card: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": card["type"], "key": card["key"], "name": card["name"]}
    for name in ("description", "featureKey"):
        if card.get(name) is not None:
            out[name] = card[name]
    if card.get("metadata") is not None:
        out["metadata"] = dict(card["metadata"])
    cadence = card.get("billingCadence")
    template = _normalise_entitlement(card.get("entitlementTemplate"), cadence)
    if template is not None:
        out["entitlementTemplate"] = template
    if card.get("taxConfig") is not None:
        out["taxConfig"] = {k: v for k, v in card["taxConfig"].items() if v is not None}
    out["billingCadence"] = cadence
    out["price"] = _normalise_price(card.get("price"))
    discounts = card.get("discounts") or {}
    kept: dict[str, Any] = {}
    if discounts.get("percentage") is not None:
        kept["percentage"] = {"percentage": discounts["percentage"]["percentage"]}
    if discounts.get("usage") is not None:
        kept["usage"] = {"quantity": money_text(discounts["usage"]["quantity"], "quantity")}
    if kept:
        out["discounts"] = kept
    return out


def check_durations(card: dict[str, Any], base: str) -> None:
    """Unparsable ISO 8601 durations are refused outright (400), before any other rule."""
    if card.get("billingCadence") is not None:
        duration_or_error(card["billingCadence"], field_of(base, "billingCadence"))
    template = card.get("entitlementTemplate") or {}
    if template.get("usagePeriod") is not None:
        duration_or_error(template["usagePeriod"], field_of(field_of(base, "entitlementTemplate"), "usagePeriod"))


def _validate_commitments(price: dict[str, Any], base: str) -> list[Issue]:
    issues = []
    low, high = price.get("minimumAmount"), price.get("maximumAmount")
    for name, value in (("minimumAmount", low), ("maximumAmount", high)):
        if value is not None and Decimal(value) < 0:
            issues.append(issue("price_commitment_negative", field_of(base, name)))
    if low is not None and high is not None and Decimal(low) > 0 and Decimal(high) > 0 and Decimal(low) > Decimal(high):
        issues.append(issue("price_minimum_greater_than_maximum", field_of(base, "minimumAmount")))
    return issues


def validate_price(price: dict[str, Any], base: str) -> list[Issue]:
    issues: list[Issue] = []
    kind = price["type"]
    if "amount" in price and Decimal(price["amount"]) < 0:
        issues.append(issue("price_amount_negative", field_of(base, "amount")))
    if kind == "dynamic" and Decimal(price["multiplier"]) < 0:
        issues.append(issue("price_multiplier_negative", field_of(base, "multiplier")))
    if kind == "package" and Decimal(price["quantityPerPackage"]) <= 0:
        issues.append(issue("price_quantity_per_package_not_positive", field_of(base, "quantityPerPackage")))
    if kind == "tiered":
        tiers = price.get("tiers") or []
        bounded = [Decimal(t["upToAmount"]) for t in tiers if t.get("upToAmount") is not None]
        open_ended = [i for i, t in enumerate(tiers) if t.get("upToAmount") is None]
        if bounded != sorted(bounded):
            issues.append(issue("price_tiers_unsorted", field_of(base, "tiers")))
        if len(set(bounded)) != len(bounded):
            issues.append(issue("price_tiers_duplicated_up_to", field_of(base, "tiers")))
        if len(open_ended) != 1 or open_ended[0] != len(tiers) - 1:
            issues.append(issue("price_tiers_open_ended", field_of(base, "tiers")))
        for index, tier in enumerate(tiers):
            tier_field = f"{field_of(base, 'tiers')}[{index}]"
            if tier.get("flatPrice") is None and tier.get("unitPrice") is None:
                issues.append(issue("price_tier_without_price", tier_field))
            for part in ("flatPrice", "unitPrice"):
                if tier.get(part) is not None and Decimal(tier[part]["amount"]) < 0:
                    issues.append(issue("price_amount_negative", f"{tier_field}.{part}.amount"))
            if tier.get("upToAmount") is not None and Decimal(tier["upToAmount"]) < 0:
                issues.append(issue("price_amount_negative", f"{tier_field}.upToAmount"))
    if kind != "flat":
        issues += _validate_commitments(price, base)
    return issues


def validate(card: dict[str, Any], base: str) -> list[Issue]:
    """Every issue of one normalised rate card; `base` is its JSONPath."""
    issues: list[Issue] = []
    cadence_text = card.get("billingCadence")
    if cadence_text is None and card["type"] == USAGE_BASED:
        issues.append(issue("rate_card_usage_based_missing_billing_cadence", field_of(base, "billingCadence")))
    if cadence_text is not None:
        cadence = durations.parse(cadence_text)
        if not cadence.is_positive or not cadence.at_least(durations.HOUR):
            issues.append(issue("billing_cadence_invalid_value", field_of(base, "billingCadence")))
    feature_key = card.get("featureKey")
    if feature_key is not None and feature_key != card["key"]:
        issues.append(issue("rate_card_key_feature_key_mismatch", field_of(base, "key")))
    template = card.get("entitlementTemplate")
    if template is not None:
        template_field = field_of(base, "entitlementTemplate")
        if feature_key is None:
            issues.append(issue("entitlement_template_with_no_feature", field_of(base, "featureKey")))
        if template["type"] == "static":
            try:
                config = json.loads(template["config"])
            except ValueError:
                config = None
            if not isinstance(config, dict):
                issues.append(issue("entitlement_template_invalid_json_config", field_of(template_field, "config")))
        if template["type"] == "metered":
            if template.get("issueAfterResetPriority") is not None and template.get("issueAfterReset") is None:
                issues.append(issue("entitlement_template_invalid_issue_after_reset_with_priority",
                                    field_of(template_field, "issueAfterReset")))  # fmt: skip
            if template.get("usagePeriod") is not None:
                period = durations.parse(template["usagePeriod"])
                if not period.is_positive:
                    issues.append(issue("entitlement_template_negative_usage_period", field_of(template_field, "usagePeriod")))
                elif not period.at_least(durations.HOUR):
                    issues.append(issue("entitlement_template_usage_period_less_then_an_hour",
                                        field_of(template_field, "usagePeriod")))  # fmt: skip
    price = card.get("price")
    if price is not None:
        issues += validate_price(price, field_of(base, "price"))
    discounts = card.get("discounts") or {}
    if discounts and price is None:
        issues.append(issue("discount_without_price", field_of(base, "discounts")))
    percentage = discounts.get("percentage")
    if percentage is not None and not 0 <= Decimal(str(percentage["percentage"])) <= 100:
        issues.append(issue("percentage_discount_invalid_value", field_of(field_of(base, "discounts"), "percentage")))
    usage = discounts.get("usage")
    if usage is not None:
        if Decimal(usage["quantity"]) < 0:
            issues.append(issue("usage_discount_negative_quantity", field_of(field_of(base, "discounts"), "usage")))
        if price is not None and price["type"] == "flat":
            issues.append(issue("usage_discount_with_flat_price", field_of(field_of(base, "discounts"), "usage")))
    return issues


def is_billable(card: dict[str, Any]) -> bool:
    return card.get("price") is not None


def feature_keys(cards: list[dict[str, Any]]) -> list[str]:
    return sorted({card["featureKey"] for card in cards if card.get("featureKey")})
