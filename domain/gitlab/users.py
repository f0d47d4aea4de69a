"""GitLab users, their SSH keys and personal access tokens, as the admin REST API manages them.

SSH key fingerprints are computed as GitLab computes them, over the Base64-decoded key blob:
MD5 as colon-separated lower-case hex pairs, SHA256 as `SHA256:` + unpadded Base64.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import secrets
import struct
from typing import TYPE_CHECKING

from domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from domain.gitlab.entities import Namespace, SshKey, User
from domain.gitlab.identity import token_digest

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

SSH_KEY_TYPES = (
    "ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com",
)  # fmt: skip
KEY_USAGE_TYPES = ("auth_and_signing", "auth", "signing")
TOKEN_SCOPES = (
    "api", "read_api", "read_user", "create_runner", "manage_runner", "k8s_proxy", "read_repository",
    "write_repository", "read_registry", "write_registry", "read_virtual_registry", "write_virtual_registry",
    "sudo", "admin_mode", "read_service_ping", "ai_features", "self_rotate",
)  # fmt: skip
TOKEN_PREFIX = "glpat-"


def model_error(**fields: list[str]) -> ValidationError:
    """GitLab's `render_validation_error!`: 400 `{"message": {"<attr>": ["<msg>"]}}`."""
    return ValidationError("; ".join(f"{k} {v[0]}" for k, v in fields.items()), body={"message": fields})


def model_conflict(**fields: list[str]) -> ConflictError:
    """A uniqueness failure: GitLab's model-error body, with 409 (the served spec documents it)."""
    return ConflictError("; ".join(f"{k} {v[0]}" for k, v in fields.items()), body={"message": fields})


class ParsedKey:
    def __init__(self, text: str):
        parts = text.strip().split()
        self.valid = False
        self.key_type = ""
        self.blob = b""
        if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
            return
        try:
            blob = base64.b64decode(parts[1] + "=" * (-len(parts[1]) % 4), validate=True)
        except (binascii.Error, ValueError):
            return
        if len(blob) < 4:
            return
        (length,) = struct.unpack(">I", blob[:4])
        if blob[4:4 + length].decode("latin-1") != parts[0] or len(blob) <= 4 + length:
            return
        self.valid, self.key_type, self.blob = True, parts[0], blob
        self.normalized = " ".join(parts[:3])

    @property
    def fingerprint_md5(self) -> str:
        digest = hashlib.md5(self.blob, usedforsecurity=False).hexdigest()
        return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))

    @property
    def fingerprint_sha256(self) -> str:
        return "SHA256:" + base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")


USERNAME_PATTERN = re.compile(r"^[a-zA-Z0-9_.][a-zA-Z0-9_.\-]*$")


class UserService:
    def __init__(self, session: Session):
        from storage.gitlab_entities import GitlabEntityRepository

        self.repository = GitlabEntityRepository(session)

    # --- users ---------------------------------------------------------------------------------
    def get(self, user_id: int) -> User:
        user = self.repository.user(user_id)
        if user is None:
            raise NotFoundError(f"user {user_id} not found", resource="User")
        return user

    def namespace_of(self, user: User) -> Namespace | None:
        return self.repository.user_namespace(user.id)

    def list(self, *, username: str | None, search: str | None, active: bool | None, blocked: bool | None,
             offset: int, limit: int) -> tuple[list[User], int]:  # fmt: skip
        return self.repository.users(username=username, search=search, active=active, blocked=blocked,
                                     offset=offset, limit=limit)  # fmt: skip

    def create(self, *, username: str, name: str, email: str, admin: bool, bot: bool, now: dt.datetime) -> User:
        if self.repository.user_by_email(email) is not None:
            raise ConflictError("Email has already been taken", body={"message": "Email has already been taken"})
        if self.repository.user_by_username(username) is not None or self.repository.full_path_taken(username):
            raise ConflictError("Username has already been taken", body={"message": "Username has already been taken"})
        user = self.repository.add_user(username=username, name=name, email=email, admin=admin, bot=bot, now=now)
        self.repository.add_namespace(name=name, path=username, kind="user", parent=None, owner_id=user.id,
                                      visibility="public", description="", now=now)  # fmt: skip
        return user

    def ensure_namespace(self, user: User, *, now: dt.datetime) -> Namespace:
        """Users created outside this service (the root bootstrap) get their namespace here."""
        namespace = self.repository.user_namespace(user.id)
        if namespace is None:
            namespace = self.repository.add_namespace(name=user.name, path=user.username, kind="user", parent=None,
                                                      owner_id=user.id, visibility="public", description="", now=now)  # fmt: skip
        return namespace

    def update(self, user_id: int, *, now: dt.datetime, **changes) -> User:
        """Changes name, email, username (the namespace follows), admin or bot; taken values are 409s."""
        user = self.get(user_id)
        email = changes.get("email")
        if email is not None and email.lower() != user.email.lower() and self.repository.user_by_email(email) is not None:
            raise ConflictError("Email has already been taken", body={"message": "Email has already been taken"})
        username = changes.get("username")
        if username is not None and username.lower() != user.username.lower() and (
            self.repository.user_by_username(username) is not None or self.repository.full_path_taken(username)
        ):
            raise ConflictError("Username has already been taken", body={"message": "Username has already been taken"})
        updated = self.repository.update_user(user_id, now=now, **changes)
        if username is not None and username != user.username:
            self.repository.rename_user_namespace(user_id, username, now=now)
        return updated

    def block(self, user_id: int, *, now: dt.datetime) -> bool:
        user = self.get(user_id)
        if user.state != "blocked":
            self.repository.update_user(user_id, state="blocked", now=now)
        return True

    def unblock(self, user_id: int, *, now: dt.datetime) -> bool:
        user = self.get(user_id)
        if user.state == "deactivated":
            raise ForbiddenError(body={"message": "403 Forbidden - Deactivated users cannot be unblocked by the API"})
        if user.state != "active":
            self.repository.update_user(user_id, state="active", now=now)
        return True

    def deactivate(self, user_id: int, *, now: dt.datetime) -> bool:
        user = self.get(user_id)
        if user.state == "blocked":
            raise ForbiddenError(body={"message": "403 Forbidden - A blocked user cannot be deactivated by the API"})
        if user.state != "deactivated":
            self.repository.update_user(user_id, state="deactivated", now=now)
        return True

    def activate(self, user_id: int, *, now: dt.datetime) -> bool:
        user = self.get(user_id)
        if user.state == "blocked":
            raise ForbiddenError(body={"message": "403 Forbidden - A blocked user must be unblocked to be activated"})
        if user.state != "active":
            self.repository.update_user(user_id, state="active", now=now)
        return True

    # --- SSH keys ------------------------------------------------------------------------------
    def add_key(self, user_id: int, *, title: str, key: str, expires_at: dt.datetime | None, usage_type: str,
                now: dt.datetime) -> SshKey:  # fmt: skip
        self.get(user_id)
        parsed = ParsedKey(key)
        if not parsed.valid:
            raise model_error(key=["is invalid"], fingerprint_sha256=["cannot be generated"])
        if expires_at is not None and expires_at <= now:
            raise model_error(expires_at=["must be in the future"])
        if self.repository.key_by_fingerprint(parsed.fingerprint_sha256) is not None:
            raise model_conflict(fingerprint_sha256=["has already been taken"])
        return self.repository.add_key(SshKey(
            id=0, user_id=user_id, title=title, key=parsed.normalized, key_type=parsed.key_type,
            fingerprint_md5=parsed.fingerprint_md5, fingerprint_sha256=parsed.fingerprint_sha256,
            usage_type=usage_type, expires_at=expires_at, created_at=now,
        ))  # fmt: skip

    def keys(self, user_id: int) -> list[SshKey]:
        self.get(user_id)
        return self.repository.keys(user_id)

    def key(self, user_id: int, key_id: int) -> SshKey:
        self.get(user_id)
        key = self.repository.key(key_id)
        if key is None or key.user_id != user_id:
            raise NotFoundError("key not found", resource="Key")
        return key

    def delete_key(self, user_id: int, key_id: int) -> None:
        self.key(user_id, key_id)
        self.repository.delete_key(key_id)

    # --- personal access tokens ----------------------------------------------------------------
    def create_token(self, user_id: int, *, name: str, scopes: list[str], expires_at: dt.date | None,
                     now: dt.datetime) -> dict:  # fmt: skip
        self.get(user_id)
        errors: dict[str, list[str]] = {}
        if not scopes or any(scope not in TOKEN_SCOPES for scope in scopes):
            errors["scopes"] = ["can only contain available scopes"]
        if expires_at is not None and expires_at <= now.date():
            errors["expires_at"] = ["must be in the future"]
        if errors:
            raise model_error(**errors)
        token = TOKEN_PREFIX + secrets.token_urlsafe(15)[:20]
        created = self.repository.add_token(user_id=user_id, name=name, digest=token_digest(token),
                                            scopes=list(dict.fromkeys(scopes)), expires_at=expires_at, now=now)  # fmt: skip
        return {**created, "token": token}

    def tokens(self, user_id: int | None) -> list[dict]:
        """Every token (of one user when `user_id` is given), revoked ones included, oldest first."""
        return self.repository.tokens(user_id)

    def revoke_token(self, token_id: int) -> None:
        token = self.repository.token(token_id)
        if token is None or token["revoked"]:
            raise NotFoundError(f"token {token_id} not found", resource="Personal Access Token")
        self.repository.revoke_token(token_id)

    def key_by_id(self, key_id: int) -> SshKey:
        key = self.repository.key(key_id)
        if key is None:
            raise NotFoundError(f"key {key_id} not found", body={"message": "404 Not found"})
        return key

    def key_by_fingerprint(self, fingerprint: str) -> SshKey:
        key = self.repository.key_by_fingerprint(fingerprint)
        if key is None:
            raise NotFoundError("key not found", resource="Key")
        return key


