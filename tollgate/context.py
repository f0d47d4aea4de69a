"""What a handler gets besides its parameters: framework-free, so handlers stay plain functions.

Every handler is `def <snake_case(operationId)>(ctx: RequestContext, *, <parameters>)`. The
parameters are the operation's, named as connexion passes them (snake_case, with a trailing `_` on
Python keywords and builtins: `from_`, `type_`, `id_`, `filter_`), the JSON body as `body`.
A handler returns a generated model, a list or dict of them, `None` (the operation's success status
with no body), or a `Reply` when it must choose the status, headers or media type itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from storage.db import Database
    from tollgate.config import Secrets, Settings


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the security layer established it.

    `scheme` is the security scheme that accepted the credentials (`ApiKeyAuth`, `PortalTokenAuth`,
    `PrivateToken`, `GitlabSharedSecret`, `CustomersDotJwt`, ...); `claims` carries what the scheme
    learned (portal token claims, the GitLab user id and admin flag, the kas agent, ...).
    """

    scheme: str
    subject: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    """An explicit response: status, body, headers, media type (for CSV, 202s, GitLab's 401 bodies...)."""

    body: Any = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None


class RequestContext:
    """Per-request context: the caller, the clock, the database session and a read-only view of the request."""

    def __init__(
        self,
        *,
        api: str,
        operation_id: str,
        method: str,
        principals: tuple[Principal, ...],
        headers: Mapping[str, str],
        query: Mapping[str, list[str]],
        settings: Settings,
        secrets: Secrets,
        database: Database,
        request_id: str,
        now: dt.datetime | None = None,
    ):
        self.api = api
        self.operation_id = operation_id
        self.method = method
        self.principals = principals
        self.headers = headers
        self.query = query
        self.settings = settings
        self.secrets = secrets
        self.database = database
        self.request_id = request_id
        self.now = now or dt.datetime.now(dt.timezone.utc)
        self._session_scope: Any = None
        self._session: Session | None = None

    @property
    def principal(self) -> Principal | None:
        return self.principals[0] if self.principals else None

    def principal_for(self, scheme: str) -> Principal | None:
        return next((p for p in self.principals if p.scheme == scheme), None)

    @property
    def session(self) -> Session:
        """The request's unit of work, opened on first use; committed when the handler returns."""
        if self._session is None:
            self._session_scope = self.database.session(write=self.method not in ("GET", "HEAD", "OPTIONS"))
            self._session = self._session_scope.__enter__()
        return self._session

    def accepts(self, media_type: str) -> bool:
        """True when the Accept header names `media_type` (OpenMeter's CSV, for instance)."""
        accept = self.headers.get("accept", "")
        return any(part.split(";")[0].strip().lower() == media_type for part in accept.split(","))

    def finish(self, error: BaseException | None) -> None:
        """Commit (no error) or roll back (error) the unit of work, if one was opened."""
        if self._session_scope is None:
            return
        scope, self._session_scope, self._session = self._session_scope, None, None
        if error is None:
            scope.__exit__(None, None, None)
        else:
            scope.__exit__(type(error), error, error.__traceback__)
