"""GitLab `Internal` operations: the API GitLab Shell and Gitaly call (shared-secret auth)."""

from __future__ import annotations

from typing import Any

from domain.errors import DomainError, NotFoundError
from domain.gitlab import access
from domain.gitlab.internal import (
    SHELL_TOKEN_SCOPES,
    InternalService,
    invalid_scope_message,
    issue_lfs_token,
    parameter_error,
    parse_expiry,
)
from domain.gitlab.users import UserService
from generated.gitlab import models
from handlers._decoding import decode
from tollgate.context import Reply, RequestContext

GITLAB_VERSION = "13.10.0-tollgate"
GITLAB_REVISION = "tollgate"


def internal_check(ctx: RequestContext) -> models.InstanceCheck:
    # GitLab reports whether Redis answers a ping; Tollgate keeps that state in its database.
    return models.InstanceCheck(
        api_version="v4", gitlab_version=GITLAB_VERSION, gitlab_rev=GITLAB_REVISION, redis=ctx.database.ping()
    )


# --- issue 4: GitLab Shell and Gitaly -----------------------------------------------------------------


def _service(ctx: RequestContext) -> InternalService:
    return InternalService(ctx.session, external_url=ctx.settings.external_url)


def _given(body: dict[str, Any], name: str) -> bool:
    return body.get(name) is not None


def internal_allowed(ctx: RequestContext, *, body: dict[str, Any]) -> dict[str, Any] | Reply:
    # The body was validated against AllowedRequest before this runs; the answer is built as the
    # AllowedResponse schema says (checked by the tests' response validation), without a model round trip.
    service = _service(ctx)
    actor = service.resolve_actor(key_id=body.get("key_id"), user_id=body.get("user_id"), username=body.get("username"))
    # The project is read with the user's access level (one query instead of two).
    level_for = (actor.user.id, ctx.now.date()) if actor.user is not None and actor.deploy_key is None else None
    repository = service.resolve_repository(gl_repository=body.get("gl_repository"), project=body.get("project"), level_for=level_for)
    result = service.allowed(actor=actor, repository=repository, action=body["action"], changes=body["changes"],
                             protocol=body["protocol"], now=ctx.now)  # fmt: skip
    if isinstance(result, access.Denied):
        return Reply(body={"status": False, "message": result.message}, status=result.status)
    if result["gitaly"]["token"] is None:
        del result["gitaly"]["token"]
    return result


def internal_lfs_authenticate(ctx: RequestContext, *, body: dict[str, Any]) -> models.LfsAuthenticateResponse:
    decode(models.LfsAuthenticateRequest, body)
    service = _service(ctx)
    repository = service.resolve_repository(gl_repository=body.get("gl_repository"), project=body.get("project"))
    if repository.project is None or repository.repo_type is access.RepoType.SNIPPET:
        raise NotFoundError("project not found", body={"message": "404 Not Found"})
    actor = service.resolve_actor(key_id=body.get("key_id"), user_id=body.get("user_id"), username=body.get("username"))
    name = service.lfs_actor_name(actor)
    if name is None:
        raise NotFoundError("actor not found", body={"message": "404 Not found"})
    ttl = ctx.settings.lfs_token_ttl_seconds
    token = issue_lfs_token(name, base_secret=ctx.secrets.gitlab_shell_secret, ttl_seconds=ttl, now=ctx.now)
    return models.LfsAuthenticateResponse(username=name, lfs_token=token, repository_http_path=service.http_url(repository),
                                          expires_in=ttl)  # fmt: skip


def internal_authorized_keys(ctx: RequestContext, *, key: str | None = None, fingerprint: str | None = None) -> models.AuthorizedKey:
    # Neither parameter: GitLab fails with a 500; no key matches nothing, so Tollgate answers the 404.
    found = _service(ctx).authorized_key(key=key, fingerprint=fingerprint) if (key, fingerprint) != (None, None) else None
    if found is None:
        raise NotFoundError("key not found", resource="Key")
    return models.AuthorizedKey.model_validate(found)


def internal_discover(ctx: RequestContext, *, key_id: str | None = None, user_id: str | None = None,
                      username: str | None = None) -> models.DiscoveredUser | Reply:  # fmt: skip
    actor = _service(ctx).resolve_actor(key_id=key_id, user_id=user_id, username=username)
    if actor.user is None:
        # GitLab answers the JSON literal `null` (GitLab Shell then greets "Anonymous").
        return Reply(body="null", status=200, media_type="application/json; charset=utf-8")
    return models.DiscoveredUser(id=actor.user.id, name=actor.user.name, username=actor.user.username)


def _actor_for_codes_and_tokens(service: InternalService, body: dict[str, Any]):
    actor = service.resolve_actor(key_id=body.get("key_id"), user_id=body.get("user_id"))
    refusal = InternalService.actor_refusal(actor, user_id_given=_given(body, "user_id"), key_id_given=_given(body, "key_id"))
    return actor, refusal


def internal_two_factor_recovery_codes(ctx: RequestContext, *, body: dict[str, Any]) -> models.RecoveryCodesResponse:
    decode(models.ActorRequest, body)
    service = _service(ctx)
    actor, refusal = _actor_for_codes_and_tokens(service, body)
    if refusal is None and actor.deploy_key is not None:
        refusal = "Deploy keys cannot be used to retrieve recovery codes"
    if refusal is None and not service.two_factor_enabled(actor.user.id):
        refusal = "Two-factor authentication is not enabled for this user"
    if refusal is not None:
        return models.RecoveryCodesResponse(success=False, message=refusal)
    codes = service.regenerate_recovery_codes(actor.user.id, now=ctx.now)
    return models.RecoveryCodesResponse(success=True, recovery_codes=codes)


def _sentence(errors: Any) -> str:
    if not isinstance(errors, dict):
        return str(errors)
    parts = [f"{field.replace('_', ' ').capitalize()} {message}" for field, messages in errors.items() for message in messages]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def internal_personal_access_token(ctx: RequestContext, *, body: dict[str, Any]) -> dict[str, Any]:
    decode(models.PersonalAccessTokenRequest, body)
    service = _service(ctx)
    actor, refusal = _actor_for_codes_and_tokens(service, body)

    def refuse(message: str) -> dict[str, Any]:
        return {"success": False, "message": message}

    if actor.deploy_key is not None:
        return refuse("Deploy keys cannot be used to create personal access tokens")
    if refusal is not None:
        return refuse(refusal)
    name = body.get("name")
    if not name or not str(name).strip():
        return refuse("No token name specified")
    scopes = body.get("scopes") or []
    if not scopes:
        return refuse("No token scopes specified")
    for scope in scopes:
        if scope not in SHELL_TOKEN_SCOPES:
            return refuse(invalid_scope_message(scope))
    raw_expiry = body.get("expires_at")
    expires_at = None
    if raw_expiry:
        try:
            expires_at = parse_expiry(raw_expiry)
        except ValueError:
            return refuse(f"Invalid token expiry date: '{raw_expiry}'")
    try:
        created = UserService(ctx.session).create_token(actor.user.id, name=name, scopes=list(scopes), expires_at=expires_at, now=ctx.now)
    except DomainError as error:
        detail = error.body.get("message") if isinstance(error.body, dict) else error.message
        return refuse(f"Failed to create token: {_sentence(detail)}")
    return {"success": True, "token": created["token"], "scopes": list(scopes),
            "expires_at": expires_at.isoformat() if expires_at else None}  # fmt: skip


def internal_pre_receive(ctx: RequestContext, *, body: dict[str, Any]) -> models.PreReceiveResponse:
    gl_repository = body.get("gl_repository")
    _service(ctx).increase_reference_counter(gl_repository if isinstance(gl_repository, str) else None, now=ctx.now)
    return models.PreReceiveResponse(reference_counter_increased=True)


def internal_post_receive(ctx: RequestContext, *, body: dict[str, Any]) -> models.PostReceiveResponse:
    decode(models.PostReceiveRequest, body)
    gl_repository = body.get("gl_repository")
    if gl_repository is None:
        raise parameter_error("gl_repository", "missing")
    service = _service(ctx)
    repository = service.resolve_repository(gl_repository=gl_repository, project=None)
    service.decrease_reference_counter(gl_repository, now=ctx.now)
    identifier = body.get("identifier")
    user = service.resolve_actor(identifier=identifier).user if isinstance(identifier, str) else None
    messages = service.post_receive_messages(repository=repository, changes=body.get("changes"), now=ctx.now, user=user)
    return models.PostReceiveResponse(messages=messages, reference_counter_decreased=True)
