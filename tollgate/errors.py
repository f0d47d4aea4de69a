"""Error bodies, in exactly one place: every failure becomes the error shape of the API it hit.

- OpenMeter: RFC 7807 `application/problem+json` with `type`, `title`, `status`, `detail`, `instance`
  (`urn:request:<id>`) and `extensions` when there is extra data (the spec requires detail and instance).
- GitLab: `{"message": "404 Namespace Not Found"}` from its error helpers, `{"error": "x is missing"}`
  from parameter validation, `{"message": {"seats": ["can't be blank"]}}` for model validation.
- Flowglad: `{"error": <text>, "code": <TRPC code>, "request_id": <id>}`.

Nothing here ever sends a traceback: unexpected exceptions are logged and answered with a bare 500.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from domain.errors import DomainError, NotFoundError, ValidationError
from tollgate.apis import ApiDefinition

logger = logging.getLogger("tollgate.errors")


@dataclass(frozen=True)
class ErrorResponse:
    status: int
    body: Any
    media_type: str
    headers: dict[str, str] | None = None

    def encoded(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class RequestError(Exception):
    """A request the machine refuses before any handler runs (validation, auth, routing, size).

    `parameter` and `reason` ("missing" / "invalid") let GitLab say `<parameter> is missing`.
    """

    def __init__(self, status: int, detail: str, *, parameter: str | None = None, reason: str | None = None,
                 headers: dict[str, str] | None = None, also: list[RequestError] | None = None):  # fmt: skip
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.parameter = parameter
        self.reason = reason
        self.headers = headers
        self.also = list(also or [])
        """Further problems of the same request, reported together with this one."""

    @property
    def all(self) -> list[RequestError]:
        return [self, *self.also]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# --- OpenMeter ---------------------------------------------------------------------------------


def _problem(status: int, detail: str, request_id: str, extensions: dict | None = None, headers=None) -> ErrorResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _phrase(status),
        "status": status,
        "detail": detail or _phrase(status),
        "instance": f"urn:request:{request_id}",
    }
    if extensions:
        body["extensions"] = extensions
    return ErrorResponse(status, body, "application/problem+json", headers)


# --- GitLab ------------------------------------------------------------------------------------

_GITLAB_PHRASES = {400: "Bad request", 405: "Method Not Allowed", 413: "Request Entity Too Large"}


def _gitlab_message(status: int, detail: str = "") -> dict:
    text = f"{status} {_GITLAB_PHRASES.get(status, _phrase(status))}"
    return {"message": f"{text} - {detail}" if detail else text}


def _gitlab_domain(error: DomainError) -> dict:
    if error.body is not None:
        return error.body
    if isinstance(error, NotFoundError) and error.resource:
        return {"message": f"404 {error.resource} Not Found"}
    if isinstance(error, ValidationError) and error.problems and all(p.field for p in error.problems):
        fields: dict[str, list[str]] = {}
        for problem in error.problems:
            fields.setdefault(problem.field, []).append(problem.message)
        return {"message": fields}
    return _gitlab_message(error.status, error.message)


def _gitlab_request_error(error: RequestError) -> dict:
    if error.status == 400:
        # Grape joins every parameter problem into one message.
        named = [e for e in error.all if e.parameter and e.reason]
        if named:
            return {"error": ", ".join(dict.fromkeys(f"{e.parameter} is {e.reason}" for e in named))}
        return {"error": error.detail}
    if error.status in (404, 405):
        return {"error": f"{error.status} {'Not Found' if error.status == 404 else 'Not Allowed'}"}
    if error.status in (401, 403):
        return _gitlab_message(error.status)
    return _gitlab_message(error.status, "" if error.status in (413,) else error.detail)


# --- Flowglad ----------------------------------------------------------------------------------

_TRPC_CODES = {
    400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_SUPPORTED",
    409: "CONFLICT", 412: "PRECONDITION_FAILED", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_CONTENT", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR", 501: "NOT_IMPLEMENTED",
}  # fmt: skip


def _flowglad(status: int, message: str, request_id: str, headers=None) -> ErrorResponse:
    body = {"error": message or _phrase(status), "code": _TRPC_CODES.get(status, "INTERNAL_SERVER_ERROR"), "request_id": request_id}
    return ErrorResponse(status, body, "application/json", headers)


# --- entry points ------------------------------------------------------------------------------


def domain_error_response(api: ApiDefinition, error: DomainError, request_id: str) -> ErrorResponse:
    if api.error_style == "problem":
        detail = f"{error.kind}: {error.message}" if error.message else error.kind
        return _problem(error.status, detail, request_id, error.extensions)
    if api.error_style == "gitlab":
        return ErrorResponse(error.status, _gitlab_domain(error), "application/json")
    if error.body is not None:
        return ErrorResponse(error.status, error.body, "application/json")
    return _flowglad(error.status, error.message, request_id)


def request_error_response(api: ApiDefinition, error: RequestError, request_id: str) -> ErrorResponse:
    if api.error_style == "problem":
        extensions = None
        if error.also:
            extensions = {"validationErrors": [
                {"message": e.detail, "severity": "error", **({"field": e.parameter} if e.parameter else {})} for e in error.all
            ]}  # fmt: skip
        return _problem(error.status, error.detail, request_id, extensions, headers=error.headers)
    if api.error_style == "gitlab":
        return ErrorResponse(error.status, _gitlab_request_error(error), "application/json", error.headers)
    return _flowglad(error.status, error.detail, request_id, error.headers)


def unexpected_error_response(api: ApiDefinition, error: BaseException, request_id: str) -> ErrorResponse:
    logger.error("unhandled error in request %s", request_id, exc_info=error)
    if api.error_style == "problem":
        return _problem(500, "an internal error occurred; see the server log for request " + request_id, request_id)
    if api.error_style == "gitlab":
        return ErrorResponse(500, {"message": "500 Internal Server Error"}, "application/json")
    return _flowglad(500, "Internal server error", request_id)


_MISSING_PROPERTY = re.compile(r"^'(?P<name>[^']+)' is a required property")


def body_error_parameter(error_path: list[Any], message: str, validator: str) -> tuple[str | None, str]:
    """The Grape-style name and reason of a JSON-schema failure: `add_on_purchases[duo_pro][0][quantity]`."""
    path = [str(part) for part in error_path]
    reason = "invalid"
    if validator == "required":
        match = _MISSING_PROPERTY.match(message)
        if match:
            path.append(match.group("name"))
            reason = "missing"
    if not path:
        return None, reason
    return path[0] + "".join(f"[{part}]" for part in path[1:]), reason
