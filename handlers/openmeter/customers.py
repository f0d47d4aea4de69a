"""OpenMeter `Customers` operations: create, list, get, replace (PUT), delete.

getCustomerAccess and the app-data/Stripe/subscription operations of this tag live elsewhere
(entitlements and billing); they are not defined here.

A customer's `currentSubscriptionId` is its subscription running at the request time (active, or
canceled and not yet ended; never a scheduled or ended one), on get, list and replace; none when it
has none. `subscriptions` lists those running subscriptions (the spec's `Subscription`) when
`expand` holds `subscriptions`, which get and list default to, as OpenMeter does; it is left out
when empty. A list reads the subscriptions of the whole page in one query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.customers import Address, Customer, CustomerFilter, CustomerInput, CustomerService
from domain.subscriptions.model import Subscription
from domain.subscriptions.service import SubscriptionService  # also registers planKey filter and delete check
from generated.openmeter import models
from handlers._decoding import decode
from handlers.openmeter._mapping import subscription_to_api
from tollgate.context import RequestContext

EXPAND_SUBSCRIPTIONS = "subscriptions"


def _to_api(customer: Customer, running: Sequence[Subscription] = ()) -> models.Customer:
    """A customer as OpenMeter answers it: optional fields only when set, attribution only when non-empty;
    `running` are its subscriptions running now (the first is the current one)."""
    address = customer.billing_address.as_dict() if customer.billing_address else None
    subject_keys = customer.usage_attribution.subject_keys
    return models.Customer(
        id=customer.id,
        name=customer.name,
        description=customer.description,
        metadata=customer.metadata,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
        deleted_at=customer.deleted_at,
        key=customer.key,
        usage_attribution=models.CustomerUsageAttribution(subject_keys=list(subject_keys)) if subject_keys else None,
        primary_email=customer.primary_email,
        currency=customer.currency,
        billing_address=models.Address(**address) if address else None,
        current_subscription_id=running[0].id if running else None,
    )


def _expanded(ctx: RequestContext, customer: Customer, running: list[Subscription], expand: Sequence[str] | None) -> dict[str, Any]:
    """get and list: the customer as JSON, with `subscriptions` (the spec's `Subscription`, built as
    JSON like the subscription operations do) when `expand` asks and it has some. `expand` defaults
    to `subscriptions` (OpenMeter's default when the parameter is absent)."""
    data = _to_api(customer, running).model_dump(mode="python", by_alias=True, exclude_none=True)
    if running and EXPAND_SUBSCRIPTIONS in ((EXPAND_SUBSCRIPTIONS,) if expand is None else expand):
        data["subscriptions"] = [subscription_to_api(s, ctx.now) for s in running]
    return data


def _running(ctx: RequestContext, customers: list[Customer]) -> dict[str, list[Subscription]]:
    return SubscriptionService(ctx.session).running_of_customers([c.id for c in customers], at=ctx.now)


def _input(body: dict[str, Any], model: type) -> CustomerInput:
    data = decode(model, body)
    address = data.billing_address.model_dump(exclude_none=True) if data.billing_address is not None else None
    attribution = data.usage_attribution
    return CustomerInput(
        name=data.name,
        key=data.key,
        description=data.description,
        metadata=data.metadata,
        subject_keys=tuple(key.root for key in attribution.subject_keys) if attribution is not None else None,
        primary_email=data.primary_email,
        currency=data.currency,
        billing_address=Address.from_dict(address),
    )


def create_customer(ctx: RequestContext, *, body: dict[str, Any]) -> models.Customer:
    customer = CustomerService(ctx.session).create(_input(body, models.CustomerCreate), now=ctx.now)
    return _to_api(customer)


def list_customers(
    ctx: RequestContext,
    *,
    page: int = 1,
    page_size: int = 100,
    order: str = "ASC",
    order_by: str = "name",
    include_deleted: bool = False,
    key: str | None = None,
    name: str | None = None,
    primary_email: str | None = None,
    subject: str | None = None,
    plan_key: str | None = None,
    expand: list[str] | None = None,
) -> dict[str, Any]:
    filters = CustomerFilter(
        key=key, name=name, primary_email=primary_email, subject=subject, plan_key=plan_key, include_deleted=bool(include_deleted)
    )
    result = CustomerService(ctx.session).list(
        filters=filters,
        page=page,
        page_size=page_size,
        order_by=order_by or "name",
        descending=(order or "ASC").upper() == "DESC",
        now=ctx.now,
    )
    running = _running(ctx, result.items)
    return {
        "totalCount": result.total_count,
        "page": result.page,
        "pageSize": result.page_size,
        "items": [_expanded(ctx, customer, running[customer.id], expand) for customer in result.items],
    }


def get_customer(ctx: RequestContext, *, customer_id_or_key: str, expand: list[str] | None = None) -> dict[str, Any]:
    customer = CustomerService(ctx.session).get(customer_id_or_key)
    return _expanded(ctx, customer, _running(ctx, [customer])[customer.id], expand)


def update_customer(ctx: RequestContext, *, customer_id_or_key: str, body: dict[str, Any]) -> models.Customer:
    """The replaced customer with its `currentSubscriptionId` (the spec: "if the customer has one";
    OpenMeter leaves it out here), without `subscriptions` (PUT has no `expand`)."""
    customer = CustomerService(ctx.session).update(customer_id_or_key, _input(body, models.CustomerReplaceUpdate), now=ctx.now)
    return _to_api(customer, _running(ctx, [customer])[customer.id])


def delete_customer(ctx: RequestContext, *, customer_id_or_key: str) -> None:
    CustomerService(ctx.session).delete(customer_id_or_key, now=ctx.now)


def list_customer_subscriptions(ctx: RequestContext, *, customer_id_or_key: str, status: list[str] | None = None,
                                order: str | None = None, order_by: str | None = None, page: int | None = None,
                                page_size: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Every subscription when neither page nor pageSize is given (they then echo 0), else one page."""
    items = SubscriptionService(ctx.session).list_of_customer(
        customer_id_or_key, statuses=status, order_by=order_by or "activeFrom", now=ctx.now,
        descending="order" not in ctx.query or (order or "").upper() == "DESC",  # DESC unless asked (the reference)
    )
    total = len(items)
    if "page" not in ctx.query and "pageSize" not in ctx.query:
        return {"totalCount": total, "page": 0, "pageSize": 0, "items": [subscription_to_api(s, ctx.now) for s in items]}
    page, page_size = page or 1, page_size or 100
    window = items[(page - 1) * page_size : page * page_size]
    return {"totalCount": total, "page": page, "pageSize": page_size, "items": [subscription_to_api(s, ctx.now) for s in window]}
