"""Typed domain errors. Domain code raises these; `tollgate.errors` turns them into each API's error
body in exactly one place (OpenMeter problem+json, GitLab `{"message"}`/`{"error"}`, Flowglad `{error, code}`).

Domain code never builds HTTP responses. When an API needs a body the generic rendering cannot
produce (GitLab's exact texts), pass it as `body=`; the GitLab and Flowglad renderers send it as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input; validators collect all of them before raising."""

    message: str
    field: str | None = None
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "severity": "error"}
        if self.code:
            data["code"] = self.code
        if self.field:
            data["field"] = self.field
        return data


class DomainError(Exception):
    status: ClassVar[int] = 400
    kind: ClassVar[str] = "error"
    """OpenMeter prefixes the problem detail with the kind (`not found error: meter not found: x`)."""

    def __init__(self, message: str = "", *, extensions: dict[str, Any] | None = None, body: Any = None):
        super().__init__(message)
        self.message = message
        self.extensions = dict(extensions or {})
        self.body = body


class ValidationError(DomainError):
    status = 400
    kind = "validation error"

    def __init__(self, message: str = "", *, problems: list[Problem] | None = None, **kwargs: Any):
        self.problems = list(problems or [])
        if not message:
            message = "; ".join(p.message if not p.field else f"{p.field}: {p.message}" for p in self.problems)
        super().__init__(message, **kwargs)
        if self.problems and "validationErrors" not in self.extensions:
            self.extensions["validationErrors"] = [p.as_dict() for p in self.problems]


class UnauthorizedError(DomainError):
    status = 401
    kind = "unauthorized error"


class ForbiddenError(DomainError):
    status = 403
    kind = "forbidden error"


class NotFoundError(DomainError):
    status = 404
    kind = "not found error"

    def __init__(self, message: str = "", *, resource: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.resource = resource
        """GitLab renders `404 <resource> Not Found`."""


class ConflictError(DomainError):
    status = 409
    kind = "conflict error"


class PreconditionFailedError(DomainError):
    status = 412
    kind = "precondition failed error"


class NotImplementedOperationError(DomainError):
    status = 501
    kind = "not implemented error"


@dataclass
class ProblemCollector:
    """Collects every problem of an input, then raises once: callers see all of them at once."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        self.problems.append(Problem(message=message, field=field, code=code))

    def check(self, condition: bool, message: str, *, field: str | None = None, code: str | None = None) -> None:
        if not condition:
            self.add(message, field=field, code=code)

    def raise_if_any(self) -> None:
        if self.problems:
            raise ValidationError(problems=self.problems)
