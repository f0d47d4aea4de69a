"""Runtime shared by Tollgate's generated API clients (copied into `generated/` by `tollgate generate`).

What every generated client gets from here: one httpx client with timeouts, retries with backoff for
idempotent calls, exact decimals both ways (JSON numbers decode to `Decimal`, `Decimal` encodes as a
JSON number), typed exceptions that carry the decoded error body, and pagination helpers.
"""

from __future__ import annotations

import datetime as _dt
import enum
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import quote

import httpx
import simplejson
from pydantic import BaseModel, TypeAdapter

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})


class ApiError(Exception):
    """A non-2xx answer. `body` is the decoded error document (dict) or the raw text."""

    status: int = 0

    def __init__(self, *, status: int, body: Any, headers: Mapping[str, str], operation_id: str, method: str, url: str):
        self.status = status
        self.body = body
        self.headers = dict(headers)
        self.operation_id = operation_id
        self.method = method
        self.url = url
        super().__init__(f"{operation_id}: {method} {url} -> {status}: {self.message}")

    @property
    def message(self) -> str:
        """The human-readable part of the error body, whatever the API's error shape."""
        if isinstance(self.body, Mapping):
            for key in ("detail", "message", "error", "title"):
                value = self.body.get(key)
                if value:
                    return value if isinstance(value, str) else simplejson.dumps(value, sort_keys=True)
            return simplejson.dumps(self.body, sort_keys=True)
        return str(self.body or "")


class BadRequestError(ApiError):
    status = 400


class UnauthorizedError(ApiError):
    status = 401


class ForbiddenError(ApiError):
    status = 403


class NotFoundError(ApiError):
    status = 404


class MethodNotAllowedError(ApiError):
    status = 405


class ConflictError(ApiError):
    status = 409


class PreconditionFailedError(ApiError):
    status = 412


class PayloadTooLargeError(ApiError):
    status = 413


class UnsupportedMediaTypeError(ApiError):
    status = 415


class UnprocessableEntityError(ApiError):
    status = 422


class TooManyRequestsError(ApiError):
    status = 429


class ServerError(ApiError):
    status = 500


class NotImplementedByServerError(ServerError):
    status = 501


_ERRORS_BY_STATUS: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (
        BadRequestError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        MethodNotAllowedError,
        ConflictError,
        PreconditionFailedError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        UnprocessableEntityError,
        TooManyRequestsError,
        NotImplementedByServerError,
    )
}


def error_class_for(status: int) -> type[ApiError]:
    if status in _ERRORS_BY_STATUS:
        return _ERRORS_BY_STATUS[status]
    return ServerError if status >= 500 else ApiError


class UnexpectedResponseError(ApiError):
    """A 2xx status or media type the spec does not declare for the operation."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retries apply to idempotent methods only: connection failures and 408/429/502/503/504."""

    max_retries: int = 2
    backoff: float = 0.2
    max_backoff: float = 5.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None:
            retry_after = response.headers.get("retry-after")
            if retry_after and retry_after.isdigit():
                return min(float(retry_after), self.max_backoff)
        return min(self.max_backoff, self.backoff * (2**attempt)) * (0.5 + random.random() / 2)


NO_RETRY = RetryPolicy(max_retries=0)


@dataclass(frozen=True)
class QueryParam:
    name: str
    value: Any
    style: str = "form"
    explode: bool = True
    json_content: bool = False


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _dt.datetime):
        return format_datetime(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, BaseModel):
        return _scalar(to_jsonable(value))
    return str(value)


def encode_query(params: Sequence[QueryParam]) -> list[tuple[str, str]]:
    """Serialise query parameters as the spec's `style`/`explode` say."""
    pairs: list[tuple[str, str]] = []
    for param in params:
        value = param.value
        if value is None:
            continue
        if isinstance(value, BaseModel):
            value = to_jsonable(value)
        if param.json_content:
            pairs.append((param.name, dumps(value)))
        elif isinstance(value, Mapping):
            if param.style == "deepObject":
                for key, item in value.items():
                    items = item if isinstance(item, (list, tuple)) else [item]
                    pairs.extend((f"{param.name}[{key}]", _scalar(entry)) for entry in items)
            elif param.explode:
                pairs.extend((str(key), _scalar(item)) for key, item in value.items())
            else:
                pairs.append((param.name, ",".join(f"{key},{_scalar(item)}" for key, item in value.items())))
        elif isinstance(value, (list, tuple, set, frozenset)):
            if param.explode:
                pairs.extend((param.name, _scalar(item)) for item in value)
            else:
                pairs.append((param.name, ",".join(_scalar(item) for item in value)))
        else:
            pairs.append((param.name, _scalar(value)))
    return pairs


def format_datetime(value: _dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime: give a timezone (UTC) for API timestamps")
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _json_default(value: Any) -> Any:
    if isinstance(value, _dt.datetime):
        return format_datetime(value)
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, BaseModel):
        return to_jsonable(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


def to_jsonable(value: Any) -> Any:
    """A model as the JSON it stands for: aliases, fields the caller set (explicit nulls kept)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python", by_alias=True, exclude_unset=True)
    return value


def dumps(value: Any) -> str:
    return simplejson.dumps(to_jsonable(value), use_decimal=True, default=_json_default, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    return simplejson.loads(text, use_decimal=True)


def quote_path(value: Any) -> str:
    return quote(_scalar(value), safe="")


class BaseClient:
    """One API's client. Give it the server root; the API's base path is added per request."""

    api_base_path = ""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8080",
        *,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        http_client: httpx.Client | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self._headers = {"Accept": "application/json", "User-Agent": "tollgate-generated-client"}
        if token:
            self._headers.update(self.auth_headers(token))
        self._headers.update(headers or {})
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)
        self._adapters: dict[Any, TypeAdapter] = {}

    def auth_headers(self, token: str) -> dict[str, str]:
        """How a bare `token` is sent; clients of APIs with other schemes override this."""
        return {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _adapter(self, annotation: Any) -> TypeAdapter:
        adapter = self._adapters.get(annotation)
        if adapter is None:
            adapter = self._adapters[annotation] = TypeAdapter(annotation)
        return adapter

    def _request(
        self,
        operation_id: str,
        method: str,
        path: str,
        *,
        query: Sequence[QueryParam] = (),
        headers: Mapping[str, str | None] | None = None,
        body: Any = None,
        content_type: str | None = None,
        responses: Mapping[int, Any],
        accept: str | None = None,
        has_body: bool = False,
    ) -> Any:
        url = f"{self.base_url}{self.api_base_path}{path}"
        request_headers = dict(self._headers)
        request_headers.update({key: value for key, value in (headers or {}).items() if value is not None})
        if accept:
            request_headers["Accept"] = accept
        content: bytes | None = None
        if has_body:
            media_type = content_type or "application/json"
            request_headers["Content-Type"] = media_type
            if media_type == "application/x-www-form-urlencoded":
                content = httpx.QueryParams(
                    {key: _scalar(value) for key, value in (to_jsonable(body) or {}).items() if value is not None}
                ).__str__().encode()
            elif isinstance(body, (bytes, bytearray)):
                content = bytes(body)
            elif isinstance(body, str) and not media_type.endswith("json"):
                content = body.encode()
            else:
                content = dumps(body).encode()
        params = encode_query(query)
        idempotent = method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._http.request(method, url, params=params, headers=request_headers, content=content)
            except httpx.TransportError:
                if not idempotent or attempt >= self.retry.max_retries:
                    raise
            else:
                if not (idempotent and response.status_code in RETRYABLE_STATUSES and attempt < self.retry.max_retries):
                    return self._decode(operation_id, method, url, response, responses)
            time.sleep(self.retry.delay(attempt, response))
            attempt += 1

    def _decode(self, operation_id: str, method: str, url: str, response: httpx.Response, responses: Mapping[int, Any]) -> Any:
        status = response.status_code
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if status >= 400 or status < 200:
            body: Any = response.text
            if media_type.endswith("json"):
                try:
                    body = loads(response.content)
                except ValueError:
                    pass
            raise error_class_for(status)(
                status=status, body=body, headers=response.headers, operation_id=operation_id, method=method, url=url
            )
        if status not in responses:
            raise UnexpectedResponseError(
                status=status, body=response.text, headers=response.headers, operation_id=operation_id, method=method, url=url
            )
        annotation = responses[status]
        if annotation is None or not response.content:
            return None
        if annotation is str or not media_type.endswith("json"):
            return response.text
        return self._adapter(annotation).validate_python(loads(response.content))


def iter_pages(call: Callable[..., Any], /, *, page_size: int = 100, **kwargs: Any) -> Iterator[Any]:
    """Every item of a `page`/`pageSize` paginated list operation, fetching pages as needed."""
    page = 1
    seen = 0
    while True:
        result = call(page=page, page_size=page_size, **kwargs)
        result = getattr(result, "root", result)
        items = list(result.items)
        yield from items
        seen += len(items)
        total = getattr(result, "total_count", None)
        if not items or len(items) < page_size or (total is not None and seen >= total):
            return
        page += 1


def iter_cursor(call: Callable[..., Any], /, **kwargs: Any) -> Iterator[Any]:
    """Every item of a cursor-paginated list operation (`nextCursor` in, `cursor` out)."""
    cursor = None
    while True:
        result = call(cursor=cursor, **kwargs) if cursor else call(**kwargs)
        items = list(result.items)
        yield from items
        cursor = getattr(result, "next_cursor", None)
        if not items or not cursor:
            return
