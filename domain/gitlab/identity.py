"""GitLab users and personal access tokens: who a token belongs to, and the root bootstrap.

Tokens are never stored: only their SHA-256 digest is (GitLab stores a digest too), so a leaked
database does not leak credentials.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy.orm import Session

ROOT_USER_ID = 1
ROOT_TOKEN_NAME = "TOLLGATE_GITLAB_ROOT_TOKEN"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenOwner:
    """The user a valid personal access token authenticates, and what the token may do."""

    user_id: int
    username: str
    admin: bool
    state: str
    scopes: tuple[str, ...]
    token_id: int

    @property
    def admin_mode(self) -> bool:
        """GitLab requires the `admin_mode` scope for admin API calls when admin mode is on."""
        return self.admin and "admin_mode" in self.scopes


class IdentityService:
    def __init__(self, session: Session):
        from storage.gitlab_identity import IdentityRepository

        self.repository = IdentityRepository(session)

    def authenticate(self, token: str, *, now: dt.datetime) -> TokenOwner | None:
        """The owner of an active, unexpired, unrevoked token, or None."""
        found = self.repository.token_by_digest(token_digest(token))
        if found is None:
            return None
        owner, expires_at, revoked, digest = found
        if revoked or not hmac.compare_digest(digest, token_digest(token)):
            return None
        if expires_at is not None and expires_at <= now.date():
            return None
        return owner

    def ensure_root(self, token: str, *, now: dt.datetime) -> None:
        """User 1, `root`, an admin whose token (scopes `api`, `admin_mode`) is `token`."""
        self.repository.ensure_user(
            ROOT_USER_ID, username="root", name="Administrator", email="admin@example.com", admin=True, now=now
        )
        self.repository.replace_named_token(
            ROOT_USER_ID, name=ROOT_TOKEN_NAME, digest=token_digest(token), scopes=("api", "admin_mode"), now=now
        )
        from domain.gitlab.users import UserService

        # Every user has a personal namespace (`root`), as in GitLab.
        service = UserService(self.repository.session)
        service.ensure_namespace(service.get(ROOT_USER_ID), now=now)
