"""GitLab `Subscriptions`: the internal API CustomersDot calls (and its deprecated `/namespaces/:id/...` twins)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from domain.errors import ForbiddenError, UnauthorizedError, ValidationError
from domain.gitlab.entities import is_numeric_id
from domain.gitlab.subscriptions import SubscriptionsService
from domain.gitlab.subscriptions_model import AddOnPurchase, MinutesPack
from generated.gitlab import models
from handlers.gitlab._rest import dump, namespace_basic, paginated, parse_date, parse_datetime, require_admin, user_web_url
from tollgate.context import Reply, RequestContext

DATE_FIELDS = ("start_date", "end_date", "trial_ends_on", "trial_starts_on", "additional_purchased_storage_ends_on",
               "started_on", "expires_on", "expires_at", "next_reconciliation_date", "display_alert_from")  # fmt: skip


def _authorize(ctx: RequestContext) -> None:
    """CustomersDot's JWT (ruling 14), or an admin personal access token in admin mode (ruling 15)."""
    if ctx.principal_for("CustomersDotJwt") is not None:
        return
    if ctx.headers.get("X-Customers-Dot-Internal-Token"):
        # A JWT header, when present, is the only credential GitLab evaluates: a bad one is a 401
        # even beside a valid admin token.
        raise UnauthorizedError(body={"message": "401 Unauthorized"})
    require_admin(ctx)


def _dates(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The sent keys, with dates parsed; `prefix` names nested parameters as Grape does (`packs[0]`)."""
    def name(key: str) -> str:
        return f"{prefix}[{key}]" if prefix else key

    return {key: (parse_date(value, name(key)) if key in DATE_FIELDS and isinstance(value, str) else value)
            for key, value in values.items()}  # fmt: skip


def _namespace_out(ctx: RequestContext, service: SubscriptionsService, namespace) -> dict:
    basic = dump(namespace_basic(ctx, namespace))
    view = service.namespace_view(namespace, basic=basic, now=ctx.now)
    return dump(models.SubscriptionNamespace(**view))


def _add_on_out(service: SubscriptionsService, purchase: AddOnPurchase) -> dict:
    namespace = service.entities.namespace(purchase.namespace_id)
    return dump(models.AddOnPurchase(
        namespace_id=purchase.namespace_id, namespace_name=namespace.name, add_on=purchase.add_on_title,
        quantity=purchase.quantity, started_on=purchase.started_on, expires_on=purchase.expires_on,
        purchase_xid=purchase.purchase_xid, trial=purchase.trial,
    ))  # fmt: skip


def _pack_out(pack: MinutesPack) -> dict:
    return dump(models.MinutesPack(namespace_id=pack.namespace_id, expires_at=pack.expires_at,
                                   number_of_minutes=pack.number_of_minutes, purchase_xid=pack.purchase_xid))  # fmt: skip


def _subscription_out(service: SubscriptionsService, namespace, now: dt.datetime) -> dict:
    return dump(models.GitlabSubscription(**service.subscription_view(namespace, now=now)))


# --- namespaces ------------------------------------------------------------------------------------


def get_subscription_namespace(ctx: RequestContext, *, id_: str) -> dict:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    return _namespace_out(ctx, service, service.namespace(id_))


def update_subscription_namespace(ctx: RequestContext, *, id_: str, body: dict) -> dict:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    namespace = service.namespace(id_)
    params = _dates(body)
    if isinstance(params.get("gitlab_subscription_attributes"), dict):
        params["gitlab_subscription_attributes"] = _dates(params["gitlab_subscription_attributes"], "gitlab_subscription_attributes")
    service.update_namespace(namespace, params, now=ctx.now)
    return _namespace_out(ctx, service, namespace)


def list_namespace_owners(ctx: RequestContext, *, id_: str, page: int = 1, per_page: int = 20) -> Reply:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    group = service.group(id_)
    owners = [
        dump(models.NamespaceOwner(
            user={"id": m.user.id, "username": m.user.username, "name": m.user.name, "public_email": None},
            access_level=m.access_level, notification_email=m.user.email,
        ))  # fmt: skip
        for m in service.owners(group, today=ctx.now.date())
    ]
    return paginated(ctx, owners, path=f"/internal/gitlab_subscriptions/namespaces/{group.id}/owners", page=page, per_page=per_page)


# --- subscriptions -----------------------------------------------------------------------------------


def get_gitlab_subscription(ctx: RequestContext, *, id_: str) -> dict:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    return _subscription_out(service, service.namespace(id_), ctx.now)


def get_namespace_gitlab_subscription(ctx: RequestContext, *, id_: str) -> dict:
    principal = ctx.principal_for("PersonalAccessToken")
    if principal is None:
        raise UnauthorizedError(body={"message": "401 Unauthorized"})
    service = SubscriptionsService(ctx.session)
    namespace = service.namespace(id_)
    claims = principal.claims
    is_admin = claims.get("admin") and claims.get("admin_mode")
    if not is_admin and not service.can_edit_billing(namespace, service.user(int(claims["user_id"])), today=ctx.now.date()):
        raise ForbiddenError(body={"message": "403 Forbidden"})
    return _subscription_out(service, namespace, ctx.now)


def _create(ctx: RequestContext, id_: str, body: dict) -> Reply:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    namespace = service.namespace(id_)
    service.create_subscription(namespace, _dates(body), now=ctx.now)
    return Reply(body=_subscription_out(service, namespace, ctx.now), status=201)


def _update(ctx: RequestContext, id_: str, body: dict) -> dict:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    namespace = service.namespace(id_)
    service.update_subscription(namespace, _dates(body), now=ctx.now)
    return _subscription_out(service, namespace, ctx.now)


def create_gitlab_subscription(ctx: RequestContext, *, id_: str, body: dict) -> Reply:
    return _create(ctx, id_, body)


def create_gitlab_subscription_deprecated(ctx: RequestContext, *, id_: str, body: dict) -> Reply:
    return _create(ctx, id_, body)


def update_gitlab_subscription(ctx: RequestContext, *, id_: str, body: dict) -> dict:
    return _update(ctx, id_, body)


def update_gitlab_subscription_deprecated(ctx: RequestContext, *, id_: str, body: dict) -> dict:
    return _update(ctx, id_, body)


# --- upcoming reconciliations ------------------------------------------------------------------------


def _reconciliation_namespace(service: SubscriptionsService, namespace_id: str):
    namespace = service.namespace(namespace_id)
    if not is_numeric_id(namespace_id):
        # GitLab finds the namespace by path, then its Integer check of `namespace_id` fails.
        raise ValidationError(body={"error": "namespace_id is invalid"})
    return namespace


def update_upcoming_reconciliation(ctx: RequestContext, *, namespace_id: str, body: dict) -> Reply:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    namespace = _reconciliation_namespace(service, namespace_id)
    params = _dates(body)
    service.upsert_reconciliation(namespace, next_date=params["next_reconciliation_date"],
                                  alert_from=params["display_alert_from"], now=ctx.now)  # fmt: skip
    return Reply(body=200, status=200)


def delete_upcoming_reconciliation(ctx: RequestContext, *, namespace_id: str) -> None:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    service.delete_reconciliation(_reconciliation_namespace(service, namespace_id))


# --- users -------------------------------------------------------------------------------------------


def get_subscription_user(ctx: RequestContext, *, id_: int) -> dict:
    _authorize(ctx)
    user = SubscriptionsService(ctx.session).user(id_)
    return dump(models.SubscriptionUser(id=user.id, username=user.username, name=user.name, web_url=user_web_url(ctx, user.username)))


def get_user_permissions(ctx: RequestContext, *, namespace_id: str, user_id: int) -> dict:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    namespace = service.namespace(namespace_id)
    user = service.user(user_id)
    return dump(models.UserPermissions(edit_billing=service.can_edit_billing(namespace, user, today=ctx.now.date())))


def update_credit_card_validation(ctx: RequestContext, *, user_id: str, body: dict) -> dict:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    user = service.user_by_id_or_username(user_id)
    params = dict(body, credit_card_validated_at=parse_datetime(body["credit_card_validated_at"], "credit_card_validated_at"))
    service.validate_credit_card(user, params, now=ctx.now)
    return {"success": {}}


# --- add-on purchases --------------------------------------------------------------------------------


def _bulk(ctx: RequestContext, id_: str, body: dict) -> Reply:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    namespace = service.namespace(id_)
    requested = {key: [_dates(item, f"add_on_purchases[{key}][{index}]") for index, item in enumerate(items or [])]
                 for key, items in (body.get("add_on_purchases") or {}).items()}  # fmt: skip
    purchases = service.provision_add_ons(namespace, requested, now=ctx.now)
    return Reply(body=[_add_on_out(service, purchase) for purchase in purchases], status=201)


def create_add_on_purchases(ctx: RequestContext, *, id_: str, body: dict) -> Reply:
    return _bulk(ctx, id_, body)


def create_add_on_purchases_deprecated(ctx: RequestContext, *, id_: str, body: dict) -> Reply:
    return _bulk(ctx, id_, body)


def _get_add_on(ctx: RequestContext, id_: str, add_on_name: str) -> dict:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    return _add_on_out(service, service.add_on_purchase(service.namespace(id_), add_on_name))


def get_add_on_purchase(ctx: RequestContext, *, id_: str, add_on_name: str) -> dict:
    return _get_add_on(ctx, id_, add_on_name)


def get_add_on_purchase_deprecated(ctx: RequestContext, *, id_: str, add_on_name: str) -> dict:
    return _get_add_on(ctx, id_, add_on_name)


def create_add_on_purchase(ctx: RequestContext, *, id_: str, add_on_name: str, body: dict) -> Reply:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    namespace = service.namespace(id_)
    purchase = service.create_single_add_on(namespace, add_on_name, _dates(body), now=ctx.now)
    return Reply(body=_add_on_out(service, purchase), status=201)


def update_add_on_purchase(ctx: RequestContext, *, id_: str, add_on_name: str, body: dict) -> dict:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    namespace = service.namespace(id_)
    purchase = service.update_single_add_on(namespace, add_on_name, _dates(body), now=ctx.now)
    return _add_on_out(service, purchase)


# --- compute minutes packs ---------------------------------------------------------------------------


def _create_packs(ctx: RequestContext, id_: str, body: dict) -> Reply:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    namespace = service.namespace(id_)
    packs = service.create_packs(namespace, [_dates(pack, f"packs[{i}]") for i, pack in enumerate(body["packs"])], now=ctx.now)
    return Reply(body=[_pack_out(pack) for pack in packs], status=201)


def _move_packs(ctx: RequestContext, id_: str, target_id: str) -> Reply:
    _authorize(ctx)
    service = SubscriptionsService(ctx.session)
    source = service.namespace(id_)
    target = service.namespace(target_id, resource="Target namespace")
    service.move_packs(source, target, now=ctx.now)
    return Reply(body={"message": "202 Accepted"}, status=202)


def create_minutes_packs(ctx: RequestContext, *, id_: str, body: dict) -> Reply:
    return _create_packs(ctx, id_, body)


def create_minutes_packs_deprecated(ctx: RequestContext, *, id_: str, body: dict) -> Reply:
    return _create_packs(ctx, id_, body)


def move_minutes_packs(ctx: RequestContext, *, id_: str, target_id: str) -> Reply:
    return _move_packs(ctx, id_, target_id)


def move_minutes_packs_deprecated(ctx: RequestContext, *, id_: str, target_id: str) -> Reply:
    return _move_packs(ctx, id_, target_id)
