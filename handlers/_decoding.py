"""Decoding helpers shared by handler modules of every API.

Connexion has validated the request against the served spec before a handler runs; these turn the
validated JSON into generated models, and turn what the schema cannot express (a JSON-encoded query
parameter, a model's own validators) into the API's 400 instead of a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, TypeVar

import pydantic

from domain.errors import Problem, ValidationError

M = TypeVar("M", bound=pydantic.BaseModel)


def _problems(error: pydantic.ValidationError, prefix: str) -> list[Problem]:
    problems = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        field = f"{prefix}.{location}" if prefix and location else (prefix or location or None)
        problems.append(Problem(message=item["msg"], field=field, code=item["type"]))
    return problems


def decode(model: type[M], data: Any, *, field: str = "") -> M:
    """`model.model_validate(data)`, with a validation failure reported as a 400 of the API."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as error:
        raise ValidationError(problems=_problems(error, field)) from None


def json_parameter(name: str, raw: str | None, model: Any = None) -> Any:
    """A query parameter the spec declares as `content: application/json`, decoded (None when absent)."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise ValidationError(f"invalid JSON in parameter {name}: {error}", problems=[Problem(str(error), field=name)]) from None
    if model is None:
        return value
    try:
        return pydantic.TypeAdapter(model).validate_python(value)
    except pydantic.ValidationError as error:
        raise ValidationError(problems=_problems(error, name)) from None


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def datetime_parameter(name: str, raw: Any) -> dt.datetime | None:
    """A `format: date-time` parameter (connexion passes the text) as an aware datetime, its offset
    kept; None when absent; a 400 naming the parameter when it is not RFC 3339 with an offset."""
    if raw is None:
        return None
    if isinstance(raw, dt.datetime) and raw.tzinfo is not None:
        return raw
    if isinstance(raw, str) and _RFC3339.match(raw):
        text = raw.replace("z", "Z").replace("t", "T")
        try:
            return dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            pass
    raise ValidationError(
        f"invalid param format {name}: not an RFC 3339 date-time", problems=[Problem("not an RFC 3339 date-time", field=name)]
    )


def instant_parameter(name: str, raw: Any) -> dt.datetime | None:
    """A `format: date-time` parameter as an aware UTC datetime (for code that works in UTC, like the
    credit engine); None when absent; the same 400 as `datetime_parameter` when it is not RFC 3339."""
    parsed = datetime_parameter(name, raw)
    return None if parsed is None else parsed.astimezone(dt.timezone.utc)
