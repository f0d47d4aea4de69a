"""Flowglad `Customers` operations: load the billing view from the domains, encode it."""

from __future__ import annotations

import typing
from typing import Any

from domain.flowglad_billing import build_billing, load_billing
from generated.flowglad import models
from tollgate.context import RequestContext

_CURRENCIES = frozenset(typing.get_args(models.SubscriptionPrice.model_fields["currency"].annotation))


def get_customer_billing(ctx: RequestContext, *, external_id: str) -> dict[str, Any]:
    # A plain JSON-ready dict, not a model: Flowglad's required-but-null keys must stay as explicit nulls.
    principal = ctx.principal_for("FlowgladApiKey")
    livemode = bool(principal and principal.claims.get("livemode"))
    source = load_billing(ctx.session, external_id, now=ctx.now, livemode=livemode,
                          external_url=ctx.settings.external_url, currencies=_CURRENCIES)  # fmt: skip
    return build_billing(source)
