"""The app factory: the one module that assembles connexion.

Three APIs from their served specs (generated/<api>/openapi.json), each resolved through its
operations table; security, validation and error rendering from tollgate's own modules; health and
readiness endpoints; a request id and a body-size limit on every request.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from urllib.parse import unquote
from typing import Any

import connexion
import flask
from connexion.exceptions import (
    BadRequestProblem,
    NonConformingResponse,
    OAuthProblem,
    OAuthScopeProblem,
    ProblemException,
    UnsupportedMediaTypeProblem,
)
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.context import operation as connexion_operation
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.spec import OpenAPISpecification
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.errors import DomainError
from domain.ids import new_id
from tollgate.apis import APIS, api_for_path
from tollgate.auth import security_map
from tollgate.config import Settings
from tollgate.dispatch import REQUEST_ID_HEADER, OperationResolver
from tollgate.errors import (
    ErrorResponse,
    RequestError,
    domain_error_response,
    request_error_response,
    unexpected_error_response,
)
from tollgate.runtime import Runtime
from tollgate.validation import NOT_VALIDATED, VALIDATORS, validated_body

logger = logging.getLogger("tollgate")

# The served specs are validated by `make check` (openapi-spec-validator) when they are generated;
# validating 1 MB of OpenMeter spec again on every start would cost most of the cold-start budget.
OpenAPISpecification._validate_spec = classmethod(lambda cls, spec: None)  # type: ignore[method-assign]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class RequestIdMiddleware:
    """Every request gets an id (the caller's `X-Request-Id` when sane, else a new ULID), echoed back."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = REQUEST_ID_HEADER.lower().encode()
        given = next((value.decode("latin-1") for key, value in scope["headers"] if key == header), "")
        request_id = given if _REQUEST_ID.match(given) else new_id()
        headers = [(key, value) for key, value in scope["headers"] if key != header]
        scope = dict(scope, headers=headers + [(header, request_id.encode())])

        async def send_with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) + [(header, request_id.encode())])
            await send(message)

        await self.app(scope, receive, send_with_id)


class BodyLimitMiddleware:
    """413 for bodies over `TOLLGATE_MAX_BODY_BYTES`, whether declared (Content-Length) or streamed.

    A streamed (chunked) body is read here, up to the limit, and passed on with its Content-Length:
    connexion's validators treat a request without Content-Length as having no body at all.
    """

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit():
                raise RequestError(400, "invalid Content-Length header")
            if int(length) > self.max_bytes:
                raise RequestError(413, f"request body of {int(length)} bytes exceeds the limit of {self.max_bytes} bytes")
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        received = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                raise RequestError(413, f"request body exceeds the limit of {self.max_bytes} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        kept = [(key, value) for key, value in scope["headers"] if key not in (b"transfer-encoding", b"content-length")]
        scope = dict(scope, headers=kept + [(b"content-length", str(len(body)).encode())])
        await self.app(scope, replay, send)


class UnstorableTextMiddleware:
    """400 for a NUL in the path or query string (`%00`): no database stores it, so no handler should see it."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")):
            raise RequestError(400, "the request path or query contains a NUL character")
        await self.app(scope, receive, send)


class EncodedSlashMiddleware:
    """GitLab's `:id` may be a URL-encoded full path (`/groups/top%2Fsub`): keep `%2F` encoded in the
    routed path so the path parameter stays one segment; `domain.gitlab.entities.parse_id_or_path`
    decodes it."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") if scope["type"] == "http" else None
        if raw and scope["path"].startswith("/api/v4/") and re.search(rb"%2[fF]", raw):
            pieces = re.split(rb"%2[fF]", raw)
            scope = dict(scope, path="%2F".join(unquote(piece.decode("latin-1")) for piece in pieces))
        await self.app(scope, receive, send)


def _as_request_error(error: Exception) -> RequestError | None:
    if isinstance(error, RequestError):
        return error
    if isinstance(error, OAuthScopeProblem):
        return RequestError(403, error.detail or "insufficient scope")
    if isinstance(error, OAuthProblem):
        return RequestError(401, error.detail or "authentication required")
    if isinstance(error, UnsupportedMediaTypeProblem):
        return RequestError(415, error.detail or "unsupported media type")
    if isinstance(error, NonConformingResponse):
        return None  # a server bug, not a client error
    if isinstance(error, BadRequestProblem):
        return RequestError(400, (error.detail or "bad request").split("\n", 1)[0])
    if isinstance(error, ProblemException) and 400 <= error.status < 500:
        return RequestError(error.status, (error.detail or error.title or "").split("\n", 1)[0], headers=error.headers)
    if isinstance(error, HTTPException) and 400 <= error.status_code < 500:
        detail = error.detail if isinstance(error.detail, str) else ""
        return RequestError(error.status_code, detail, headers=dict(error.headers or {}))
    return None


class PathMethods:
    """Which methods each API documents for a concrete path, for the `Allow` header of a 405."""

    def __init__(self) -> None:
        self._patterns: dict[str, list[tuple[re.Pattern[str], list[str]]]] = {}

    def register(self, api_name: str, base_path: str, spec: dict) -> None:
        patterns = []
        for template, item in spec.get("paths", {}).items():
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(base_path + template))
            methods = [m.upper() for m in ("get", "put", "post", "delete", "patch", "head", "options") if m in item]
            patterns.append((re.compile(f"^{regex}$"), methods))
        self._patterns[api_name] = patterns

    def allowed(self, api_name: str, path: str) -> list[str]:
        for pattern, methods in self._patterns.get(api_name, []):
            if pattern.match(path):
                return methods
        return []


PATH_METHODS = PathMethods()


def render_error(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    """Every error the middleware sees, in the error shape of the API the request was for."""
    api = api_for_path(request.url.path)
    request_id = request.headers.get(REQUEST_ID_HEADER, "")
    rendered: ErrorResponse
    if isinstance(error, DomainError):
        rendered = domain_error_response(api, error, request_id)
    elif (request_error := _as_request_error(error)) is not None:
        rendered = request_error_response(api, request_error, request_id)
    else:
        if isinstance(error, NonConformingResponse):
            logger.error("response of %s %s does not conform to the spec: %s", request.method, request.url.path, error.detail)
        rendered = unexpected_error_response(api, error, request_id)
    headers = dict(rendered.headers or {})
    if rendered.status == 405:
        headers["Allow"] = ", ".join(PATH_METHODS.allowed(api.name, request.url.path))
    return ConnexionResponse(status_code=rendered.status, body=rendered.encoded(), mimetype=rendered.media_type, headers=headers)


def _load_spec(path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _resolved(spec: dict, schema: dict) -> dict:
    target: Any = spec
    for part in schema["$ref"].lstrip("#/").split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    return target if isinstance(target, dict) else {}


def _schema_type(spec: dict, schema: Any, depth: int = 0) -> str | None:
    """The JSON type a schema admits, following `$ref` and one-branch or same-typed combinators."""
    if not isinstance(schema, dict) or depth > 20:
        return None
    if "type" in schema:
        return schema["type"]
    if "$ref" in schema:
        return _schema_type(spec, _resolved(spec, schema), depth + 1)
    for combinator in ("allOf", "oneOf", "anyOf"):
        types = {_schema_type(spec, part, depth + 1) for part in schema.get(combinator, [])}
        if len(types) == 1:
            return types.pop()
    return None


def adapt_for_connexion(spec: dict) -> dict:
    """Give every parameter schema an explicit `type`, and JSON-encoded parameters a string schema.

    Connexion's parameter parsing reads `schema["type"]` directly and fails on schemas such as
    OpenMeter's `order` (`allOf: [$ref SortOrder]`). Naming the type the schema already implies
    changes nothing it accepts. Only connexion's in-memory copy is touched; the served document
    stays byte for byte.
    """

    def typed(schema: Any) -> Any:
        if not isinstance(schema, dict) or "type" in schema:
            return schema
        kind = _schema_type(spec, schema)
        if kind is None:
            return schema
        if "$ref" not in schema:
            return {**schema, "type": kind}
        return schema if "type" in _resolved(spec, schema) else {"allOf": [schema], "type": kind}

    def fix(parameter: dict) -> None:
        if "content" in parameter and "schema" not in parameter:
            # A JSON-encoded parameter (`content: application/json`) reaches the handler as its raw
            # string; handlers decode it (handlers/_decoding.py: json_parameter).
            parameter["schema"] = {"type": "string"}
            return
        schema = typed(parameter.get("schema"))
        if isinstance(schema, dict) and schema.get("type") == "array" and "items" in schema:
            schema = {**schema, "items": typed(schema["items"])}
        if schema is not None:
            parameter["schema"] = schema

    for parameter in spec.get("components", {}).get("parameters", {}).values():
        fix(parameter)
    for item in spec.get("paths", {}).values():
        for entry in [item, *[op for op in item.values() if isinstance(op, dict)]]:
            for parameter in entry.get("parameters", []) if isinstance(entry, dict) else []:
                if isinstance(parameter, dict):
                    fix(parameter)
    return spec


def _add_spec_route(app: connexion.FlaskApp, api) -> None:
    document = api.served_spec_path.read_bytes()

    def served_spec() -> flask.Response:
        return flask.Response(document, mimetype="application/json")

    app.add_url_rule(f"{api.base_path}/openapi.json", f"{api.name}_openapi", served_spec)


class ValidatedBodyJSONProvider(flask.json.provider.DefaultJSONProvider):
    """Flask's JSON, except that a request body the validator already parsed is not parsed again."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        body = validated_body(s)
        return super().loads(s, **kwargs) if body is NOT_VALIDATED else body


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> connexion.FlaskApp:
    settings = settings or Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Connexion logs every query parameter the spec does not declare at ERROR; unknown parameters
    # are ignored by design (GitLab and OpenMeter clients send extras), so that is noise.
    logging.getLogger("connexion.decorators.parameter").setLevel(logging.CRITICAL)
    # ...and it warns "this operation accepts multiple content types" on every request to such an
    # operation (ingestEvents takes three): a log line per request, several ms of each ingest batch.
    logging.getLogger("connexion.operations.openapi3").setLevel(logging.ERROR)
    runtime = runtime or Runtime.start(settings)
    app = connexion.FlaskApp(__name__)
    app.app.json = ValidatedBodyJSONProvider(app.app)
    for api in APIS:
        spec = adapt_for_connexion(_load_spec(api.served_spec_path))
        PATH_METHODS.register(api.name, api.base_path, spec)
        operations = importlib.import_module(f"generated.{api.name}.operations").OPERATIONS
        app.add_api(
            spec,
            name=api.name,
            base_path=api.base_path or None,
            resolver=OperationResolver(api, operations, runtime),
            pythonic_params=True,
            strict_validation=False,
            validate_responses=settings.validate_responses,
            validator_map=VALIDATORS,
            security_map=security_map(api.name, spec.get("components", {}).get("securitySchemes", {}), runtime),
            # The spec itself is served below, byte for byte from generated/ (connexion would serve
            # its resolved copy, which cannot be serialised for OpenMeter's recursive schemas).
            swagger_ui_options=SwaggerUIOptions(swagger_ui=settings.swagger_ui, serve_spec=False, spec_path="/openapi.json"),
        )
        _add_spec_route(app, api)
    for error_class in (Exception, ProblemException, HTTPException, RequestError, DomainError):
        app.add_error_handler(error_class, render_error)
    app.add_middleware(RequestIdMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(BodyLimitMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER, max_bytes=settings.max_body_bytes)
    app.add_middleware(UnstorableTextMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER)
    app.add_middleware(EncodedSlashMiddleware, position=MiddlewarePosition.BEFORE_SWAGGER)

    def healthz() -> flask.Response:
        return flask.jsonify(status="ok")

    def readyz() -> flask.Response:
        if runtime.database.ping():
            return flask.jsonify(status="ok", database="ok")
        return flask.Response(json.dumps({"status": "unavailable", "database": "unreachable"}), 503, mimetype="application/json")

    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    own_routes = {"healthz", "readyz", *(f"{api.name}_openapi" for api in APIS)}

    def only_routed_operations() -> None:
        # Werkzeug and Starlette disagree on a few paths (a `%0A` in a path parameter): Flask may
        # match an operation that connexion's router, and so its auth and validation, never saw.
        if flask.request.endpoint in own_routes:
            return
        try:
            connexion_operation.operation_id  # noqa: B018 - raises outside a routed operation
        except RuntimeError:
            raise RequestError(404, "no operation matches this path") from None

    app.app.before_request(only_routed_operations)
    app.runtime = runtime  # type: ignore[attr-defined]
    return app


def create_asgi_app() -> connexion.FlaskApp:
    """Entry point for ASGI servers (`uvicorn --factory tollgate.app:create_asgi_app`)."""
    return create_app()
