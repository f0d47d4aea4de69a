"""OpenMeter `Customers` operations: create, list, get, replace (PUT), delete.

getCustomerAccess and the app-data/Stripe/subscription operations of this tag live elsewhere
(entitlements and billing); they are not defined here.
"""

from __future__ import annotations

from typing import Any

import domain.subscriptions.service  # noqa: F401 - registers the planKey filter and the delete check with customers
from domain.customers import Address, Customer, CustomerFilter, CustomerInput, CustomerService
from generated.openmeter import models
from handlers._decoding import decode
from tollgate.context import RequestContext


def _to_api(customer: Customer) -> models.Customer:
    """A customer as OpenMeter answers it: optional fields only when set, attribution only when non-empty."""
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
    )


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
) -> models.CustomerPaginatedResponse:
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
    return models.CustomerPaginatedResponse(
        total_count=result.total_count,
        page=result.page,
        page_size=result.page_size,
        items=[_to_api(customer) for customer in result.items],
    )


def get_customer(ctx: RequestContext, *, customer_id_or_key: str, expand: list[str] | None = None) -> models.Customer:
    return _to_api(CustomerService(ctx.session).get(customer_id_or_key))


def update_customer(ctx: RequestContext, *, customer_id_or_key: str, body: dict[str, Any]) -> models.Customer:
    customer = CustomerService(ctx.session).update(customer_id_or_key, _input(body, models.CustomerReplaceUpdate), now=ctx.now)
    return _to_api(customer)


def delete_customer(ctx: RequestContext, *, customer_id_or_key: str) -> None:
    CustomerService(ctx.session).delete(customer_id_or_key, now=ctx.now)


def list_customer_subscriptions(ctx: RequestContext, *, customer_id_or_key: str, status: list[str] | None = None,
                                order: str | None = None, order_by: str | None = None, page: int | None = None,
                                page_size: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Every subscription when neither page nor pageSize is given (they then echo 0), else one page."""
    from domain.subscriptions.service import SubscriptionService
    from handlers.openmeter._mapping import subscription_to_api

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
