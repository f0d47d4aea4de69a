"""Request validation against the served spec, before any handler runs.

Connexion's own validators are kept, with two changes: a failure raises `RequestError` carrying the
parameter's name and whether it was missing or invalid (GitLab answers `<name> is missing`), and the
compiled JSON-schema validators are cached per schema instead of being rebuilt on every request.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import re
import threading
from typing import Any

from connexion.json_schema import Draft4RequestValidator
from connexion.datastructures import MediaTypeDict
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError as SchemaValidationError
from jsonschema.exceptions import best_match

from tollgate.errors import RequestError, body_error_parameter

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _full_date(value: object) -> bool:
    """RFC 3339 `full-date`: Draft 4's checker knows no `date` format, so `2020-13-01` would reach a handler."""
    if not isinstance(value, str):
        return True
    if not _DATE.match(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


# The JSON body the validator parsed, with its bytes. Flask, behind connexion's ASGI->WSGI bridge,
# would parse the same bytes again for the handler (a few ms for a 1,000-event ingest batch);
# `validated_body` lets it take this one instead. A context variable: one per request task, copied
# into the bridge's worker thread.
_VALIDATED_BODY: contextvars.ContextVar[tuple[bytes, Any] | None] = contextvars.ContextVar("tollgate_validated_body", default=None)
NOT_VALIDATED = object()


def validated_body(raw: Any) -> Any:
    """The body parsed from exactly these bytes by this request's validator, else `NOT_VALIDATED`."""
    entry = _VALIDATED_BODY.get()
    if entry is None or not isinstance(raw, bytes) or entry[0] != raw:
        return NOT_VALIDATED
    return entry[1]


_FORMAT_CHECKER = FormatChecker()
_FORMAT_CHECKER.checkers = {**Draft4Validator.FORMAT_CHECKER.checkers}
_FORMAT_CHECKER.checks("date")(_full_date)
_compiled: dict[int, tuple[Any, Any]] = {}
_lock = threading.Lock()


def _compiled_validator(schema: dict, factory: Any) -> Any:
    """One compiled validator per schema object; connexion keeps the resolved schemas alive."""
    key = id(schema)
    entry = _compiled.get(key)
    if entry is None or entry[0] is not schema:
        with _lock:
            entry = (schema, factory(schema, format_checker=_FORMAT_CHECKER))
            _compiled[key] = entry
    return entry[1]


def unstorable_text(value: Any, path: str = "") -> str | None:
    """Where `value` holds a string no database can store (a NUL, an unpaired UTF-16 surrogate), or None.

    JSON allows both as escapes (`\\u0000`, `\\ud800`), but PostgreSQL rejects them in text and JSON
    columns and UTF-8 cannot encode a lone surrogate: refusing them here is a 400, not a 500 later.
    """
    if isinstance(value, str):
        if "\x00" in value:
            return path or "/"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "/"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            where = unstorable_text(key, f"{path}/{key!r}") or unstorable_text(item, f"{path}/{key}")
            if where:
                return where
    elif isinstance(value, list):
        for index, item in enumerate(value):
            where = unstorable_text(item, f"{path}/{index}")
            if where:
                return where
    return None


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def _body_error(error: SchemaValidationError) -> RequestError:
    error = best_match([error]) if error.context else error
    parameter, reason = body_error_parameter(list(error.absolute_path), error.message, str(error.validator))
    location = "/".join(str(part) for part in error.absolute_path)
    detail = f"request body has an error: {_first_line(error.message)}" + (f" (at {location})" if location else "")
    return RequestError(400, detail, parameter=parameter, reason=reason)


class JsonBodyValidator(JSONRequestBodyValidator):
    @property
    def _validator(self):
        return _compiled_validator(self._schema, Draft4RequestValidator)

    async def _parse(self, stream, scope):
        raw = b"".join([message async for message in stream])
        if not raw:
            return None
        try:
            body = json.loads(raw.decode(self._encoding))
        except (UnicodeDecodeError, ValueError) as error:
            raise RequestError(400, f"request body is not valid JSON: {error}") from None
        # Raw NULs and surrogates are invalid JSON or UTF-8 already; only escapes can smuggle them in.
        if b"\\u" in raw:
            where = unstorable_text(body)
            if where:
                raise RequestError(400, f"request body has an error: string contains a NUL or an unpaired surrogate (at {where})")
        _VALIDATED_BODY.set((raw, body))
        return body

    def _validate(self, body: Any):
        if body is None:
            if self._required and not self._nullable:
                raise RequestError(400, "request body must not be empty", parameter=None)
            return None
        # A schema marked `x-tollgate-validated-by-handler` is checked, to the letter, by its handler
        # (large ingest batches: the generic walk costs more than the rest of the request).
        if self._schema.get("x-tollgate-validated-by-handler"):
            return None
        # Every problem at once, in document order, not only the first one.
        errors = sorted(self._validator.iter_errors(body), key=lambda e: [str(p) for p in e.absolute_path])
        if errors:
            first, *rest = [_body_error(error) for error in errors]
            first.also = rest
            raise first
        return None


class FormBodyValidator(FormDataValidator):
    @property
    def _validator(self):
        return _compiled_validator(self._schema, Draft4RequestValidator)

    def _validate(self, body: Any):
        try:
            return super()._validate(body)
        except Exception as error:  # connexion raises BadRequestProblem with text only
            if isinstance(error, RequestError):
                raise
            raise RequestError(400, _first_line(str(getattr(error, "detail", error)))) from None


class NamedParameterValidator(ParameterValidator):
    """Parameter validation that names the failing parameter."""

    @staticmethod
    def _check(kind: str, value: Any, param: dict) -> RequestError | None:
        name = param["name"]
        if is_nullable(param) and is_null(value):
            return None
        if value is None:
            if param.get("required"):
                return RequestError(400, f"parameter \"{name}\" in {kind} is required", parameter=name, reason="missing")
            return None
        schema = param.get("schema", param)
        try:
            _compiled_validator(schema, Draft4Validator).validate(value)
        except SchemaValidationError as error:
            return RequestError(
                400, f"parameter \"{name}\" in {kind} has an error: {_first_line(error.message)}", parameter=name, reason="invalid"
            )
        return None

    def validate_request(self, request) -> None:
        for param in self.parameters.get("query", []):
            error = self._check("query", request.query_params.get(param["name"]), param)
            if error:
                raise error
        for param in self.parameters.get("path", []):
            error = self._check("path", request.path_params.get(param["name"].replace("-", "_")), param)
            if error:
                raise error
        for param in self.parameters.get("header", []):
            error = self._check("header", request.headers.get(param["name"]), param)
            if error:
                raise error


VALIDATORS: dict[str, Any] = {
    "parameter": NamedParameterValidator,
    "body": MediaTypeDict(
        {
            "*/*json": JsonBodyValidator,
            "application/x-www-form-urlencoded": FormBodyValidator,
            "multipart/form-data": MultiPartFormDataValidator,
        }
    ),
}
