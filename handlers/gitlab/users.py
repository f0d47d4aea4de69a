"""GitLab REST v4 `Users`: users, their state, SSH keys and personal access tokens (admin only)."""

from __future__ import annotations

import datetime as dt

from domain.gitlab.internal_entities import InternalEntityService
from domain.gitlab.users import UserService
from generated.gitlab import models
from handlers.gitlab._rest import dump, paginated, parse_date, parse_datetime, require_admin, user_out
from tollgate.context import Reply, RequestContext


def _user(ctx: RequestContext, service: UserService, user) -> dict:
    namespace = service.namespace_of(user)
    two_factor = InternalEntityService(ctx.session).two_factor_enabled(user.id)
    return user_out(ctx, user, namespace.id if namespace else None, two_factor_enabled=two_factor)


def _key(key) -> dict:
    return dump(models.SshKey(id=key.id, title=key.title, key=key.key, created_at=key.created_at,
                              expires_at=key.expires_at, usage_type=key.usage_type))  # fmt: skip


def list_users(ctx: RequestContext, *, username: str | None = None, search: str | None = None, active: bool | None = None,
               blocked: bool | None = None, page: int = 1, per_page: int = 20) -> Reply:  # fmt: skip
    require_admin(ctx)
    service = UserService(ctx.session)
    users, total = service.list(username=username, search=search, active=active, blocked=blocked,
                                offset=(page - 1) * per_page, limit=per_page)  # fmt: skip
    return paginated(ctx, [_user(ctx, service, user) for user in users], path="/users", page=page, per_page=per_page,
                     total=total, already_sliced=True)  # fmt: skip


def create_user(ctx: RequestContext, *, body: dict) -> dict:
    require_admin(ctx)
    service = UserService(ctx.session)
    user = service.create(username=body["username"], name=body["name"], email=body["email"],
                          admin=bool(body.get("admin", False)), bot=bool(body.get("bot", False)), now=ctx.now)  # fmt: skip
    return _user(ctx, service, user)


def get_user(ctx: RequestContext, *, id_: int) -> dict:
    require_admin(ctx)
    service = UserService(ctx.session)
    return _user(ctx, service, service.get(id_))


def modify_user(ctx: RequestContext, *, id_: int, body: dict) -> dict:
    require_admin(ctx)
    service = UserService(ctx.session)
    changes = {key: body[key] for key in ("email", "username", "name", "admin", "bot") if key in body}
    return _user(ctx, service, service.update(id_, now=ctx.now, **changes))


def block_user(ctx: RequestContext, *, id_: int) -> bool:
    require_admin(ctx)
    return UserService(ctx.session).block(id_, now=ctx.now)


def unblock_user(ctx: RequestContext, *, id_: int) -> bool:
    require_admin(ctx)
    return UserService(ctx.session).unblock(id_, now=ctx.now)


def deactivate_user(ctx: RequestContext, *, id_: int) -> bool:
    require_admin(ctx)
    return UserService(ctx.session).deactivate(id_, now=ctx.now)


def activate_user(ctx: RequestContext, *, id_: int) -> bool:
    require_admin(ctx)
    return UserService(ctx.session).activate(id_, now=ctx.now)


def list_user_keys(ctx: RequestContext, *, id_: int) -> list[dict]:
    require_admin(ctx)
    return [_key(key) for key in UserService(ctx.session).keys(id_)]


def create_user_key(ctx: RequestContext, *, id_: int, body: dict) -> dict:
    require_admin(ctx)
    key = UserService(ctx.session).add_key(
        id_, title=body["title"], key=body["key"], expires_at=parse_datetime(body.get("expires_at"), "expires_at"),
        usage_type=body.get("usage_type", "auth_and_signing"), now=ctx.now,
    )  # fmt: skip
    return _key(key)


def get_user_key(ctx: RequestContext, *, id_: int, key_id: int) -> dict:
    require_admin(ctx)
    return _key(UserService(ctx.session).key(id_, key_id))


def delete_user_key(ctx: RequestContext, *, id_: int, key_id: int) -> None:
    require_admin(ctx)
    UserService(ctx.session).delete_key(id_, key_id)


def create_user_personal_access_token(ctx: RequestContext, *, id_: int, body: dict) -> dict:
    require_admin(ctx)
    token = UserService(ctx.session).create_token(id_, name=body["name"], scopes=body["scopes"],
                                                  expires_at=parse_date(body.get("expires_at"), "expires_at"), now=ctx.now)  # fmt: skip
    return dump(models.PersonalAccessToken(
        id=token["id"], name=token["name"], revoked=token["revoked"], created_at=token["created_at"], scopes=token["scopes"],
        user_id=token["user_id"], last_used_at=None, active=True, expires_at=token["expires_at"], token=token["token"],
    ))  # fmt: skip


def _key_with_user(ctx: RequestContext, service: UserService, key) -> dict:
    return {**_key(key), "user": _user(ctx, service, service.get(key.user_id))}


def get_key(ctx: RequestContext, *, id_: int) -> dict:
    require_admin(ctx)
    service = UserService(ctx.session)
    return _key_with_user(ctx, service, service.key_by_id(id_))


def get_key_by_fingerprint(ctx: RequestContext, *, fingerprint: str) -> dict:
    require_admin(ctx)
    service = UserService(ctx.session)
    return _key_with_user(ctx, service, service.key_by_fingerprint(fingerprint))


def _token_out(token: dict, ctx_today: dt.date) -> dict:
    return dump(models.PersonalAccessToken(
        id=token["id"], name=token["name"], revoked=token["revoked"], created_at=token["created_at"], scopes=token["scopes"],
        user_id=token["user_id"], last_used_at=None, expires_at=token["expires_at"],
        active=not token["revoked"] and (token["expires_at"] is None or token["expires_at"] > ctx_today),
    ))  # fmt: skip


def list_personal_access_tokens(ctx: RequestContext, *, user_id: int | None = None, page: int = 1, per_page: int = 20) -> Reply:
    require_admin(ctx)
    tokens = [_token_out(token, ctx.now.date()) for token in UserService(ctx.session).tokens(user_id)]
    return paginated(ctx, tokens, path="/personal_access_tokens", page=page, per_page=per_page)


def revoke_personal_access_token(ctx: RequestContext, *, id_: int) -> None:
    require_admin(ctx)
    UserService(ctx.session).revoke_token(id_)
