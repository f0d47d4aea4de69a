"""Flowglad's customer billing view (`GET /api/v1/customers/{externalId}/billing`) over Tollgate's data.

`build_billing` is a pure mapping from Tollgate's domain objects (customer, published plans, features,
meters, subscriptions, entitlement balances) to Flowglad's wire shape (flowglad.md sections 1, 3, 6):
JSON-ready dicts with camelCase keys, explicit `None` where Flowglad sends `null`, integer money in
minor units and epoch-millisecond timestamps. `load_billing` gathers its inputs through the other
domains' services. Tollgate has no invoices, payment methods or purchases: those lists are empty.

Rules of the mapping (documented in spec/flowglad.yaml):
- ids are made up and stable: `<flowglad prefix>_<21 base62 chars of a SHA-256 of the Tollgate id>`;
  one pricing model (`pricing_model_...`) and one organization for the whole server.
- a plan active now is a product (slug = plan key); its last phase's `flat_fee` rate cards are its
  prices (`subscription` with a cadence, `single_payment` without); a plan without a flat fee gets one
  free subscription price at the plan's cadence. The first subscription price is the default. The
  product named `free` is the default product.
- `usage_based` rate cards with a `unit` or `package` price on a feature with a meter are usage prices
  of that meter (`unitPrice` per `usageEventsPerUnit`, scaled by powers of ten to stay exact).
- rate cards' features are the product's features: a `metered` entitlement template with a positive
  whole `issueAfterReset` is a `usage_credit_grant`, anything else a `toggle`.
- meters aggregating SUM or COUNT are `sum` meters, UNIQUE_COUNT `count_distinct_properties`; meters
  of other aggregations have no Flowglad counterpart and are left out.
- subscription status: active -> `active`, active with a scheduled end -> `cancellation_scheduled`,
  ended -> `canceled`, not started yet -> `incomplete`; `active` and `cancellation_scheduled` are
  current. Usage balances (`balance - overage` of the customer's metered entitlements active now,
  keyed by meter) are shown on current subscriptions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from domain.catalog import durations
from domain.currencies import get_currency
from domain.errors import DomainError, NotFoundError

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from domain.catalog.model import Plan
    from domain.customers import Customer
    from domain.features import Feature
    from domain.metering.meters import Meter
    from domain.subscriptions.model import Subscription

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_MAX_SCALE = 12
MAX_INT = 2**53 - 1
"""Flowglad's integers are JavaScript safe integers: a figure above this has no Flowglad form."""
CURRENT_STATUSES = ("active", "past_due", "trialing", "cancellation_scheduled", "unpaid", "credit_trial")
_AGGREGATIONS = {"SUM": "sum", "COUNT": "sum", "UNIQUE_COUNT": "count_distinct_properties"}


# --- small conversions ---------------------------------------------------------------------------


def made_up_id(prefix: str, *parts: str) -> str:
    """`<prefix>_<21 base62 chars>`, the same for the same parts."""
    number = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest(), "big")
    chars = []
    for _ in range(21):
        number, digit = divmod(number, 62)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(chars)}"


def epoch_ms(value: dt.datetime | None) -> int | None:
    if value is None:
        return None
    return (value - _EPOCH) // dt.timedelta(milliseconds=1)


def minor_units(amount: Any, currency: str) -> int:
    """A major-unit decimal amount as an integer in the currency's minor unit (half up below it)."""
    known = get_currency(currency)
    exponent = known.subunits if known else 2
    value = Decimal(str(amount)).scaleb(exponent)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def per_units(amount: Any, quantity: Any, currency: str) -> tuple[int, int] | None:
    """`amount` (major units) per `quantity` units as exact integers (minor units, units), or None."""
    known = get_currency(currency)
    exponent = known.subunits if known else 2
    try:
        price, units = Decimal(str(amount)).scaleb(exponent), Decimal(str(quantity))
    except InvalidOperation:
        return None
    if not (price.is_finite() and units.is_finite()) or price < 0 or units <= 0 or price > MAX_INT or units > MAX_INT:
        return None
    for scale in range(_MAX_SCALE + 1):
        scaled_price, scaled_units = price.scaleb(scale), units.scaleb(scale)
        if scaled_price == scaled_price.to_integral_value() and scaled_units == scaled_units.to_integral_value():
            if scaled_price > MAX_INT or scaled_units > MAX_INT:
                return None
            return int(scaled_price), int(scaled_units)
    return None


def interval(cadence: str | None) -> tuple[str, int] | None:
    """An ISO 8601 cadence as Flowglad's (intervalUnit, intervalCount), when it is one of those."""
    if not cadence:
        return None
    try:
        duration = durations.parse(cadence)
    except durations.InvalidDuration:
        return None
    if duration.negative or duration.hours or duration.minutes or duration.seconds:
        return None
    parts = [(unit, count) for unit, count in (("year", duration.years), ("month", duration.months),
                                               ("week", duration.weeks), ("day", duration.days)) if count]  # fmt: skip
    if len(parts) == 1:
        unit, count = parts[0]
    elif not duration.weeks and not duration.days and parts:
        unit, count = "month", duration.years * 12 + duration.months
    else:
        return None
    return (unit, count) if count <= MAX_INT else None


# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BillingSource:
    """Everything the view shows, as loaded from Tollgate's domains."""

    customer: Customer
    plans: list[Plan]
    features: list[Feature]
    meters: list[Meter]
    subscriptions: list[Subscription]
    balances: dict[str, Decimal] = field(default_factory=dict)
    """Meter slug -> available balance (`balance - overage`) of the customer's metered entitlements."""
    now: dt.datetime = _EPOCH
    livemode: bool = False
    external_url: str = "http://127.0.0.1:8080"
    subscription_plans: dict[str, Plan] = field(default_factory=dict)
    """Plan id -> the plan version a subscription was created from (its prices' timestamps)."""
    currencies: frozenset[str] | None = None
    """Flowglad's currency codes; prices in other currencies are left out (None: all)."""


class _Catalog:
    """Lookups shared by the pricing model and the subscriptions."""

    def __init__(self, source: BillingSource):
        self.source = source
        self.livemode = source.livemode
        self.organization_id = made_up_id("org", "tollgate")
        self.pricing_model_id = made_up_id("pricing_model", "tollgate", "live" if source.livemode else "test")
        self.features_by_key = {f.key: f for f in sorted(source.features, key=lambda f: f.archived_at is not None)}
        self.meters_by_slug = {m.key: m for m in source.meters if m.deleted_at is None and m.aggregation.value in _AGGREGATIONS}
        self.known_prices: dict[str, dict[str, Any]] = {}
        """The pricing model's prices by id: a subscription item embeds the very same record."""

    def currency_ok(self, currency: str) -> bool:
        return self.source.currencies is None or currency in self.source.currencies

    def base(self, id_: str, created: dt.datetime, updated: dt.datetime) -> dict[str, Any]:
        return {"id": id_, "createdAt": epoch_ms(created), "updatedAt": epoch_ms(updated), "livemode": self.livemode}

    # --- meters ------------------------------------------------------------------------------

    def meter_record(self, meter: Meter) -> dict[str, Any]:
        return {
            **self.base(made_up_id("usage_meter", meter.id), meter.created_at, meter.updated_at),
            "organizationId": self.organization_id,
            "name": (meter.name or meter.key)[:255],
            "pricingModelId": self.pricing_model_id,
            "slug": meter.key,
            "aggregationType": _AGGREGATIONS[meter.aggregation.value],
        }

    def meter_of_card(self, card: dict[str, Any]) -> Meter | None:
        feature = self.features_by_key.get(card.get("featureKey") or "")
        return self.meters_by_slug.get(feature.meter_slug) if feature and feature.meter_slug else None

    # --- prices ------------------------------------------------------------------------------

    def flat_price(self, owner_id: str, card: dict[str, Any], currency: str, created: dt.datetime, updated: dt.datetime,
                   *, product_id: str, is_default: bool) -> dict[str, Any] | None:  # fmt: skip
        price = card.get("price") or {}
        try:
            unit_price = minor_units(price.get("amount", "0") if price.get("type") == "flat" else "0", currency)
        except (InvalidOperation, ValueError, OverflowError):
            return None
        record = {
            **self.base(made_up_id("price", owner_id, card["key"]), created, updated),
            "name": card.get("name") or card["key"],
            "slug": card["key"],
            "isDefault": is_default,
            "active": True,
            "unitPrice": unit_price,
            "currency": currency,
            "pricingModelId": self.pricing_model_id,
            "productId": product_id,
            "usageMeterId": None,
        }
        cadence = interval(card.get("billingCadence"))
        if not 0 <= record["unitPrice"] <= MAX_INT:
            return None
        if card.get("billingCadence") is None:
            record.update(type="single_payment", intervalUnit=None, intervalCount=None, trialPeriodDays=None, usageEventsPerUnit=None)
            return record
        if cadence is None:
            return None
        record.update(type="subscription", intervalUnit=cadence[0], intervalCount=cadence[1], trialPeriodDays=None, usageEventsPerUnit=None)
        return record

    def free_price(self, owner_id: str, slug: str, name: str, cadence: str, currency: str, created: dt.datetime,
                   updated: dt.datetime, *, product_id: str) -> dict[str, Any]:  # fmt: skip
        unit, count = interval(cadence) or ("month", 1)
        return {
            **self.base(made_up_id("price", owner_id, "\x00plan"), created, updated),
            "type": "subscription", "name": name, "slug": slug, "isDefault": True, "active": True, "unitPrice": 0,
            "currency": currency, "pricingModelId": self.pricing_model_id, "intervalUnit": unit, "intervalCount": count,
            "trialPeriodDays": None, "usageEventsPerUnit": None, "productId": product_id, "usageMeterId": None,
        }  # fmt: skip

    def usage_price(self, owner_id: str, card: dict[str, Any], currency: str, created: dt.datetime, updated: dt.datetime,
                    *, is_default: bool) -> dict[str, Any] | None:  # fmt: skip
        meter = self.meter_of_card(card)
        price = card.get("price") or {}
        cadence = interval(card.get("billingCadence"))
        if meter is None or cadence is None:
            return None
        if price.get("type") == "unit":
            exact = per_units(price.get("amount", "0"), 1, currency)
        elif price.get("type") == "package":
            exact = per_units(price.get("amount", "0"), price.get("quantityPerPackage", "1"), currency)
        else:
            return None  # tiered and dynamic prices have no Flowglad counterpart
        if exact is None:
            return None
        return {
            **self.base(made_up_id("price", owner_id, card["key"]), created, updated),
            "type": "usage", "name": card.get("name") or card["key"], "slug": card["key"], "isDefault": is_default,
            "active": True, "unitPrice": exact[0], "currency": currency, "pricingModelId": self.pricing_model_id,
            "intervalUnit": cadence[0], "intervalCount": cadence[1], "trialPeriodDays": None,
            "usageEventsPerUnit": exact[1], "productId": None, "usageMeterId": made_up_id("usage_meter", meter.id),
        }  # fmt: skip

    def product_prices(self, owner_id: str, cards: list[dict[str, Any]], currency: str, cadence: str, name: str, slug: str,
                       created: dt.datetime, updated: dt.datetime, product_id: str) -> list[dict[str, Any]]:  # fmt: skip
        """The flat-fee prices of a phase's rate cards, the first subscription price the default."""
        if not self.currency_ok(currency):
            return []
        prices = []
        for card in cards:
            if card.get("type") != "flat_fee" or not card.get("price"):
                continue  # a rate card without a price (a feature only) is no price
            record = self.flat_price(owner_id, card, currency, created, updated, product_id=product_id, is_default=False)
            if record is not None:
                prices.append(record)
        default = next((p for p in prices if p["type"] == "subscription"), None)
        if default is None:
            default = self.free_price(owner_id, slug, name, cadence, currency, created, updated, product_id=product_id)
        else:
            prices.remove(default)
        prices.insert(0, default)
        default["isDefault"] = True
        return prices

    # --- features ----------------------------------------------------------------------------

    def feature_kind(self, card: dict[str, Any]) -> tuple[str, int | None, Meter | None]:
        template = card.get("entitlementTemplate") or {}
        meter = self.meter_of_card(card)
        if template.get("type") == "metered" and meter is not None:
            try:
                amount = Decimal(str(template.get("issueAfterReset")))
            except InvalidOperation:
                amount = Decimal(0)
            if amount.is_finite() and 1 <= amount <= MAX_INT and amount == amount.to_integral_value():
                return "usage_credit_grant", int(amount), meter
        return "toggle", None, None

    def feature_common(self, feature: Feature, kind: str, amount: int | None, meter: Meter | None) -> dict[str, Any]:
        return {
            "type": kind,
            "slug": feature.key,
            "name": feature.name,
            "pricingModelId": self.pricing_model_id,
            "amount": amount,
            "usageMeterId": made_up_id("usage_meter", meter.id) if meter else None,
            "renewalFrequency": "every_billing_period" if kind == "usage_credit_grant" else None,
            "resourceId": None,
        }

    def catalog_feature(self, card: dict[str, Any]) -> dict[str, Any] | None:
        feature = self.features_by_key.get(card.get("featureKey") or "")
        if feature is None:
            return None
        kind, amount, meter = self.feature_kind(card)
        return {
            **self.base(made_up_id("feature", feature.id, kind), feature.created_at, feature.updated_at),
            "organizationId": self.organization_id,
            **self.feature_common(feature, kind, amount, meter),
            "description": (feature.metadata or {}).get("description", ""),
            "active": feature.archived_at is None,
        }


def _last_phase_cards(phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(phases[-1].get("rateCards") or []) if phases else []


# --- pricing model -------------------------------------------------------------------------------


def pricing_model(catalog: _Catalog) -> dict[str, Any]:
    source = catalog.source
    products, meter_prices = [], {}
    for plan in sorted(source.plans, key=lambda p: (p.key, p.version)):
        if plan.status(source.now) != "active" or plan.deleted_at is not None:
            continue
        cards = _last_phase_cards(plan.phases)
        product_id = made_up_id("prod", plan.key)
        prices = catalog.product_prices(plan.id, cards, plan.currency, plan.billing_cadence, plan.name, plan.key,
                                        plan.created_at, plan.updated_at, product_id)  # fmt: skip
        if not prices:
            continue
        features: dict[str, dict[str, Any]] = {}
        for card in cards:
            record = catalog.catalog_feature(card)
            if record is not None:
                features.setdefault(record["id"], record)
            if card.get("type") == "usage_based" and catalog.currency_ok(plan.currency):
                meter = catalog.meter_of_card(card)
                usage = catalog.usage_price(plan.id, card, plan.currency, plan.created_at, plan.updated_at, is_default=False)
                if meter is not None and usage is not None:
                    meter_prices.setdefault(meter.key, []).append(usage)
        products.append({
            **catalog.base(product_id, plan.created_at, plan.updated_at),
            "name": plan.name,
            "description": plan.description,
            "imageURL": None,
            "organizationId": catalog.organization_id,
            "active": True,
            "singularQuantityLabel": None,
            "pluralQuantityLabel": None,
            "pricingModelId": catalog.pricing_model_id,
            "default": plan.key == "free",
            "slug": plan.key,
            "prices": prices,
            "defaultPrice": prices[0],
            "features": list(features.values()),
        })  # fmt: skip
    meters = []
    for slug in sorted(catalog.meters_by_slug):
        meter = catalog.meters_by_slug[slug]
        record = catalog.meter_record(meter)
        prices = meter_prices.get(slug, [])
        if prices:
            prices[0]["isDefault"] = True
        record["prices"] = prices
        if prices:
            record["defaultPrice"] = prices[0]
        meters.append(record)
    moments = [p.created_at for p in source.plans] + [m.created_at for m in source.meters] + [source.customer.created_at]
    first = min(moments)
    for product in products:
        catalog.known_prices.update((price["id"], price) for price in product["prices"])
    for meter_record in meters:
        catalog.known_prices.update((price["id"], price) for price in meter_record["prices"])
    model = {
        **catalog.base(catalog.pricing_model_id, first, max(moments)),
        "organizationId": catalog.organization_id,
        "isDefault": True,
        "name": "Tollgate",
        "products": products,
        "usageMeters": meters,
    }
    default_product = next((p for p in products if p["default"]), None)
    if default_product is not None:
        model["defaultProduct"] = default_product
    return model


# --- customer ------------------------------------------------------------------------------------


def customer_record(catalog: _Catalog) -> dict[str, Any]:
    customer = catalog.source.customer
    record = {
        **catalog.base(made_up_id("cust", customer.id), customer.created_at, customer.updated_at),
        "organizationId": catalog.organization_id,
        "email": customer.primary_email or "",
        "name": customer.name,
        "invoiceNumberBase": hashlib.sha256(customer.id.encode()).hexdigest()[:7].upper(),
        "archived": False,
        "logoURL": None,
        "iconURL": None,
        "domain": None,
        "externalId": customer.key,
        "userId": None,
        "pricingModelId": catalog.pricing_model_id,
    }
    address = customer.billing_address
    if address is not None and address.country:
        record["billingAddress"] = {
            "address": {"country": address.country, "name": customer.name, "line1": address.line1, "line2": address.line2,
                        "city": address.city, "state": address.state, "postal_code": address.postal_code},
            "name": customer.name,
            "email": customer.primary_email,
            "phone": address.phone_number,
        }  # fmt: skip
    return record


# --- subscriptions -------------------------------------------------------------------------------


def subscription_status(subscription: Subscription, now: dt.datetime) -> str:
    status = subscription.status(now)
    if status == "scheduled":
        return "incomplete"
    if status == "active":
        return "active"
    if status == "canceled":  # Tollgate's "canceled": still active, its end scheduled
        return "cancellation_scheduled"
    return "canceled"


def subscription_record(catalog: _Catalog, subscription: Subscription) -> dict[str, Any] | None:
    from domain.subscriptions.model import flattened_items

    source, now = catalog.source, catalog.source.now
    if not catalog.currency_ok(subscription.currency):
        return None
    status = subscription_status(subscription, now)
    sub_id = made_up_id("sub", subscription.id)
    owner_id = subscription.plan.id if subscription.plan else subscription.id
    current_phase = subscription.phase_at(now)
    items = flattened_items(*current_phase, now) if current_phase and status in ("active", "cancellation_scheduled") else []
    cards = [item.rate_card for item in items]
    plan = source.subscription_plans.get(subscription.plan.id) if subscription.plan else None
    created, updated = (plan.created_at, plan.updated_at) if plan else (subscription.created_at, subscription.updated_at)
    flat_prices = catalog.product_prices(owner_id, cards, subscription.currency, subscription.billing_cadence,
                                         plan.name if plan else subscription.name,
                                         subscription.plan.key if subscription.plan else subscription.id.lower(), created, updated,
                                         made_up_id("prod", subscription.plan.key if subscription.plan else subscription.id))  # fmt: skip
    if not flat_prices:
        return None
    main_price = catalog.known_prices.get(flat_prices[0]["id"], flat_prices[0])
    prices_by_key = {p["slug"]: p for p in flat_prices}

    def item_record(id_: str, name: str, added: dt.datetime, created: dt.datetime, updated: dt.datetime,
                    price: dict[str, Any], expired: dt.datetime | None) -> dict[str, Any]:  # fmt: skip
        return {
            **catalog.base(id_, created, updated), "subscriptionId": sub_id, "name": name, "addedDate": epoch_ms(added),
            "priceId": price["id"], "unitPrice": price["unitPrice"], "quantity": 1, "type": "static", "externalId": None,
            "manuallyCreated": False, "price": price, "metadata": None, "expiredAt": epoch_ms(expired),
            "pricingModelId": catalog.pricing_model_id,
        }  # fmt: skip

    records, main_item_id = [], None
    for item in items:
        card = item.rate_card
        if card.get("type") == "flat_fee" and card.get("key") in prices_by_key:
            price = prices_by_key[card["key"]]
        elif card.get("type") == "usage_based":
            price = catalog.usage_price(owner_id, card, subscription.currency, created, updated, is_default=True)
        else:
            price = None
        if price is None:
            continue
        price = catalog.known_prices.get(price["id"], price)
        record = item_record(made_up_id("si", item.id), card.get("name") or item.key, item.active_from, item.created_at,
                             item.updated_at, price, item.active_to)  # fmt: skip
        if price["id"] == main_price["id"]:
            main_item_id = record["id"]
        records.append(record)
    if main_item_id is None and status in ("active", "cancellation_scheduled"):
        main = item_record(made_up_id("si", subscription.id, "\x00plan"), subscription.name, subscription.active_from,
                           subscription.created_at, subscription.updated_at, main_price, None)  # fmt: skip
        records.insert(0, main)
        main_item_id = main["id"]

    feature_items = {}
    for item in items:
        feature = catalog.features_by_key.get(item.rate_card.get("featureKey") or "")
        if feature is None or main_item_id is None:
            continue
        kind, amount, meter = catalog.feature_kind(item.rate_card)
        feature_items.setdefault(feature.key, {
            **catalog.base(made_up_id("sub_feature", item.id), item.created_at, item.updated_at),
            "subscriptionItemId": main_item_id,
            "featureId": made_up_id("feature", feature.id, kind),
            "manuallyCreated": False,
            **catalog.feature_common(feature, kind, amount, meter),
            "productFeatureId": None,
            "expiredAt": None,
            "detachedAt": None,
            "detachedReason": None,
        })  # fmt: skip
    current = status in CURRENT_STATUSES
    balances = []
    if current:
        for slug in sorted(source.balances):
            meter = catalog.meters_by_slug.get(slug)
            if meter is not None:
                balances.append({**catalog.meter_record(meter), "availableBalance": source.balances[slug], "subscriptionId": sub_id})
    cadence = interval(subscription.billing_cadence) or (main_price["intervalUnit"], main_price["intervalCount"])
    period_start = period_end = None
    if current:
        from domain.subscriptions.timing import cadence_period_at

        try:
            period = cadence_period_at(subscription.billing_anchor, subscription.billing_cadence, now)
            period_start, period_end = period.start, period.end
        except (ValueError, OverflowError, DomainError):
            pass
    in_advance = (main_price["type"] == "subscription" and all(
        (c.get("price") or {}).get("paymentTerm", "in_advance") == "in_advance" for c in cards if c.get("type") == "flat_fee"))  # fmt: skip
    return {
        **catalog.base(sub_id, subscription.created_at, subscription.updated_at),
        "startDate": epoch_ms(subscription.active_from),
        "customerId": made_up_id("cust", subscription.customer_id),
        "organizationId": catalog.organization_id,
        "status": status,
        "defaultPaymentMethodId": None,
        "backupPaymentMethodId": None,
        "trialEnd": None,
        "currentBillingPeriodStart": epoch_ms(period_start),
        "currentBillingPeriodEnd": epoch_ms(period_end),
        "cancellationReason": None,
        "replacedBySubscriptionId": None,
        "isFreePlan": sum(p["unitPrice"] for p in flat_prices) == 0,
        "doNotCharge": False,
        "priceId": main_price["id"],
        "runBillingAtPeriodStart": in_advance,
        "interval": cadence[0],
        "intervalCount": cadence[1],
        "billingCycleAnchorDate": epoch_ms(subscription.billing_anchor),
        "name": subscription.name,
        "renews": True,
        "pricingModelId": catalog.pricing_model_id,
        "current": current,
        "subscriptionItems": records,
        "metadata": dict(subscription.metadata) if subscription.metadata else None,
        "canceledAt": epoch_ms(subscription.active_to) if status == "canceled" else None,
        "cancelScheduledAt": epoch_ms(subscription.active_to) if status == "cancellation_scheduled" else None,
        "experimental": {"featureItems": list(feature_items.values()), "usageMeterBalances": balances},
    }


def _newest_first(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """createdAt descending, then updatedAt descending, then id ascending (flowglad.md 3.5)."""
    return sorted(records, key=lambda r: (-r["createdAt"], -r["updatedAt"], r["id"]))


# --- the view ------------------------------------------------------------------------------------


def build_billing(source: BillingSource) -> dict[str, Any]:
    catalog = _Catalog(source)
    model = pricing_model(catalog)
    subscriptions = [record for s in source.subscriptions if (record := subscription_record(catalog, s)) is not None]
    subscriptions = _newest_first(subscriptions)
    current = [s for s in subscriptions if s["current"]]
    view = {
        "customer": customer_record(catalog),
        "subscriptions": subscriptions,
        "invoices": [],
        "paymentMethods": [],
        "purchases": [],
        "catalog": model,
        "pricingModel": model,
        "billingPortalUrl": f"{source.external_url.rstrip('/')}/billing-portal/{catalog.organization_id}",
        "currentSubscriptions": current,
    }
    if current:
        view["currentSubscription"] = current[0]
    return view


# --- loading -------------------------------------------------------------------------------------


def available_balances(session: Session, customer_id: str, now: dt.datetime, features: list[Feature]) -> dict[str, Decimal]:
    """Meter slug -> sum of `balance - overage` over the customer's metered entitlements active now."""
    from domain.entitlements.service import EntitlementService
    service = EntitlementService(session)
    by_id = {feature.id: feature for feature in features}  # archived ones too: their entitlements may live on
    entitlements, _ = service.list(customer_ids=[customer_id], types=["metered"], active_at=now)
    balances: dict[str, Decimal] = {}
    for entitlement in entitlements:
        feature = by_id.get(entitlement.feature_id)
        if feature is None or not feature.meter_slug or not entitlement.is_active_at(now):
            continue
        try:
            value = service.value(entitlement, at=now)
        except DomainError:
            continue
        if value.balance is None:
            continue
        balances[feature.meter_slug] = balances.get(feature.meter_slug, Decimal(0)) + value.balance - (value.overage or 0)
    return balances


def load_billing(session: Session, external_id: str, *, now: dt.datetime, livemode: bool, external_url: str,
                 currencies: frozenset[str] | None = None) -> BillingSource:  # fmt: skip
    """The inputs of the view of the live customer whose key is `external_id` (404 NOT_FOUND otherwise)."""
    from domain.catalog.model import ListQuery
    from domain.catalog.plans import PlanService
    from domain.customers import CustomerService
    from domain.features import FeatureService
    from domain.features import Page as FeaturePage
    from domain.metering.meters import MeterService
    from domain.subscriptions.service import SubscriptionService

    customer = CustomerService(session).customers.get_active_by_key(external_id)
    if customer is None or customer.is_deleted:
        raise NotFoundError(f"Customer with externalId {external_id} not found")
    plans, _ = PlanService(session).list(ListQuery(statuses=["active"], page_size=10_000), now=now)
    features, _ = FeatureService(session).list(include_archived=True, page=FeaturePage(limit=1_000_000))
    subscriptions = SubscriptionService(session).list_of_customer(customer.id, statuses=None, now=now)
    plan_service, subscription_plans = PlanService(session), {}
    for subscription in subscriptions:
        if subscription.plan and subscription.plan.id not in subscription_plans:
            try:
                subscription_plans[subscription.plan.id] = plan_service.get(subscription.plan.id, now=now)
            except NotFoundError:
                pass
    return BillingSource(
        customer=customer,
        plans=list(plans),
        features=list(features),
        meters=MeterService(session).list(),
        subscriptions=subscriptions,
        subscription_plans=subscription_plans,
        balances=available_balances(session, customer.id, now, features),
        now=now,
        livemode=livemode,
        external_url=external_url,
        currencies=currencies,
    )
