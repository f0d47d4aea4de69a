"""Authentication for every operation, before request validation runs.

Connexion reads each operation's `security` from the served spec and calls one of our handlers per
scheme. `VERIFIERS` maps (api, scheme name) to a function `(credential, request, runtime) -> Principal`
that raises `RequestError(401/403)` for bad credentials. A scheme whose credential is absent yields
`NO_VALUE`, so the next alternative of the operation is tried; when none has credentials, 401.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import anyio
import jwt
from connexion.security import NO_VALUE, AbstractSecurityHandler

from tollgate.context import Principal
from tollgate.errors import RequestError

if TYPE_CHECKING:  # pragma: no cover
    from tollgate.runtime import Runtime

logger = logging.getLogger("tollgate.auth")

Verifier = Callable[[str, Any, "Runtime"], Principal]


def _unauthorized(detail: str = "invalid credentials") -> RequestError:
    return RequestError(401, detail)


def _matches_any(candidate: str, secrets: tuple[str, ...]) -> bool:
    # Compare against every key so the time taken does not tell which one nearly matched.
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(candidate.encode("utf-8"), secret.encode("utf-8"))
    return found


# --- OpenMeter ---------------------------------------------------------------------------------


def openmeter_api_key(credential: str, request: Any, runtime: Runtime) -> Principal:
    if not _matches_any(credential, runtime.secrets.openmeter_api_keys):
        raise _unauthorized("invalid API key")
    return Principal(scheme="ApiKeyAuth")


def openmeter_portal_token(credential: str, request: Any, runtime: Runtime) -> Principal:
    try:
        claims = jwt.decode(
            credential, runtime.secrets.portal_token_secret, algorithms=["HS256"], issuer="openmeter",
            options={"require": ["exp", "sub"]},
        )  # fmt: skip
    except jwt.PyJWTError as error:
        raise _unauthorized(f"invalid portal token: {error}") from None
    if not claims.get("sub"):
        raise _unauthorized("portal token has no subject")
    return Principal(scheme="PortalTokenAuth", subject=claims["sub"], claims=claims)


# --- GitLab ------------------------------------------------------------------------------------


def _lenient_base64(value: str) -> bytes | None:
    """Ruby's Base64.decode64: characters outside the alphabet (newlines included) are ignored."""
    cleaned = "".join(ch for ch in value if ch.isalnum() or ch in "+/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return None


def _strip_one_line_end(value: bytes) -> bytes:
    for ending in (b"\r\n", b"\n", b"\r"):
        if value.endswith(ending):
            return value[: -len(ending)]
    return value


def _shared_secret_matches(candidate: bytes, runtime: Runtime) -> bool:
    secret = runtime.secrets.gitlab_shell_secret.encode("utf-8")
    candidate = _strip_one_line_end(candidate)
    return bool(candidate) and hmac.compare_digest(candidate, secret)


def gitlab_shared_secret_header(credential: str, request: Any, runtime: Runtime) -> Principal:
    # A `secret_token` parameter, when present, is the only candidate (ruling 13, GitLab's order).
    if "secret_token" in request.query_params:
        return NO_VALUE  # type: ignore[return-value]
    decoded = _lenient_base64(credential)
    if decoded is None or not _shared_secret_matches(decoded, runtime):
        raise _unauthorized()
    return Principal(scheme="GitlabSharedSecret")


def gitlab_shared_secret_param(credential: str, request: Any, runtime: Runtime) -> Principal:
    raw = credential.encode("utf-8")
    decoded = _lenient_base64(credential)
    if _shared_secret_matches(raw, runtime) or (decoded is not None and _shared_secret_matches(decoded, runtime)):
        return Principal(scheme="GitlabSharedSecret")
    raise _unauthorized()


def gitlab_kas_jwt(credential: str, request: Any, runtime: Runtime) -> Principal:
    try:
        claims = jwt.decode(credential, runtime.secrets.gitlab_kas_secret, algorithms=["HS256"], issuer="gitlab-kas",
                            options={"verify_aud": False})  # fmt: skip
    except jwt.PyJWTError as error:
        raise _unauthorized(f"invalid kas token: {error}") from None
    return Principal(scheme="GitlabKasJwt", claims=claims)


class _JwksCache:
    """CustomersDot's public keys, from a file or URL; reloaded when a token names an unknown kid."""

    def __init__(self) -> None:
        self._source: str | None = None
        self._keys: dict[str, Any] = {}

    def key_for(self, source: str, kid: str | None) -> Any:
        if source != self._source or kid not in self._keys:
            self._keys = self._load(source)
            self._source = source
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return self._keys.get(kid)

    @staticmethod
    def _load(source: str) -> dict[str, Any]:
        if source.startswith(("http://", "https://")):
            import httpx

            document = httpx.get(source, timeout=5.0).raise_for_status().json()
        else:
            document = json.loads(Path(source).read_text(encoding="utf-8"))
        keys = {}
        for index, jwk in enumerate(document.get("keys", [])):
            keys[jwk.get("kid") or f"#{index}"] = jwt.PyJWK(jwk).key
        return keys


_JWKS = _JwksCache()


def customers_dot_jwt(credential: str, request: Any, runtime: Runtime) -> Principal:
    settings = runtime.settings
    options = {"verify_aud": True, "require": []}
    try:
        header = jwt.get_unverified_header(credential)
        if settings.customers_dot_jwks:
            key = _JWKS.key_for(settings.customers_dot_jwks, header.get("kid"))
            if key is None:
                raise _unauthorized("unknown signing key")
            algorithms = ["RS256", "RS384", "RS512", "ES256"]
        elif settings.customers_dot_signing_key:
            key, algorithms = settings.customers_dot_signing_key, ["HS256"]
        else:
            raise _unauthorized("CustomersDot authentication is not configured")
        claims = jwt.decode(
            credential, key, algorithms=algorithms, audience="gitlab-subscriptions",
            issuer=settings.customers_dot_issuer, options=options,
        )  # fmt: skip
    except RequestError:
        raise
    except Exception as error:  # any decode problem, a JWKS that cannot be fetched: 401
        raise _unauthorized(f"invalid CustomersDot token: {error}") from None
    if claims.get("sub") != "customers-dot-internal-api":
        raise _unauthorized("wrong token subject")
    return Principal(scheme="CustomersDotJwt", claims=claims)


def gitlab_personal_access_token(credential: str, request: Any, runtime: Runtime) -> Principal:
    from domain.gitlab.identity import IdentityService

    with runtime.database.session(write=False) as session:
        owner = IdentityService(session).authenticate(credential, now=dt.datetime.now(dt.timezone.utc))
    if owner is None or owner.state != "active":
        raise _unauthorized()
    return Principal(
        scheme="PersonalAccessToken",
        subject=str(owner.user_id),
        claims={"user_id": owner.user_id, "username": owner.username, "admin": owner.admin,
                "admin_mode": owner.admin_mode, "scopes": owner.scopes},
    )  # fmt: skip


# --- Flowglad ----------------------------------------------------------------------------------


def flowglad_api_key(credential: str, request: Any, runtime: Runtime) -> Principal:
    # The SDK sends the raw key; `Bearer <key>` is accepted too, the prefix in any letter case.
    scheme, _, rest = credential.partition(" ")
    key = rest.strip() if scheme.lower() == "bearer" and rest else credential.strip()
    if not key or " " in key or not _matches_any(key, runtime.secrets.flowglad_api_keys):
        raise _unauthorized("API key invalid. Please check that you are providing a valid API key.")
    return Principal(scheme="FlowgladApiKey", claims={"livemode": "_live_" in key})


# (api name, security scheme name) -> verifier. A blocking verifier (database) runs in a thread.
VERIFIERS: dict[tuple[str, str], tuple[Verifier, bool]] = {
    ("openmeter", "ApiKeyAuth"): (openmeter_api_key, False),
    ("openmeter", "PortalTokenAuth"): (openmeter_portal_token, False),
    ("gitlab", "GitlabSharedSecret"): (gitlab_shared_secret_header, False),
    ("gitlab", "GitlabSharedSecretParam"): (gitlab_shared_secret_param, False),
    ("gitlab", "GitlabKasJwt"): (gitlab_kas_jwt, False),
    ("gitlab", "CustomersDotJwt"): (customers_dot_jwt, True),
    ("gitlab", "PrivateToken"): (gitlab_personal_access_token, True),
    ("gitlab", "PrivateTokenParam"): (gitlab_personal_access_token, True),
    ("gitlab", "PersonalAccessTokenBearer"): (gitlab_personal_access_token, True),
    ("flowglad", "FlowgladApiKey"): (flowglad_api_key, False),
}


def _credential(scheme: dict, request: Any) -> str | None:
    if scheme["type"] == "http":
        authorization = request.headers.get("Authorization")
        if not authorization:
            return None
        kind, _, value = authorization.partition(" ")
        if kind.lower() != scheme.get("scheme", "").lower() or not value.strip():
            return None
        return value.strip()
    location, name = scheme.get("in"), scheme.get("name")
    if location == "header":
        return request.headers.get(name)
    if location == "query":
        return request.query_params.get(name)
    if location == "cookie":
        return request.cookies.get(name)
    return None


def security_map(api_name: str, schemes: dict[str, dict], runtime: Runtime) -> dict[str, type]:
    """Connexion security handlers for one API, finding each scheme's verifier by its definition."""
    by_definition = {json.dumps(definition, sort_keys=True): name for name, definition in schemes.items()}

    class TollgateSecurityHandler(AbstractSecurityHandler):
        def get_fn(self, security_scheme: dict, required_scopes: Any):
            name = by_definition.get(json.dumps(security_scheme, sort_keys=True))
            entry = VERIFIERS.get((api_name, name)) if name else None
            if entry is None:
                raise RuntimeError(f"no verifier for security scheme {name!r} of API {api_name!r}")
            verifier, blocking = entry

            async def verify(request: Any) -> Any:
                credential = _credential(security_scheme, request)
                if credential is None:
                    return NO_VALUE
                if blocking:
                    principal = await anyio.to_thread.run_sync(verifier, credential, request, runtime)
                else:
                    principal = verifier(credential, request, runtime)
                if principal is NO_VALUE:
                    return NO_VALUE
                return {"principal": principal, "sub": principal.subject}

            return verify

    return {"apiKey": TollgateSecurityHandler, "bearer": TollgateSecurityHandler, "basic": TollgateSecurityHandler}


def principals_from_token_info(token_info: Any) -> tuple[Principal, ...]:
    """Connexion keeps one scheme's result as is, several AND-ed schemes' results keyed by name."""
    if not isinstance(token_info, dict):
        return ()
    if isinstance(token_info.get("principal"), Principal):
        return (token_info["principal"],)
    return tuple(value["principal"] for value in token_info.values() if isinstance(value, dict) and "principal" in value)
