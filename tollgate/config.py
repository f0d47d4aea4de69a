"""Configuration: one typed settings class read from `TOLLGATE_*` environment variables.

Every variable is documented in the README. Secrets that are unset are generated once into the
`var/` folder and reused on the next start, so nothing is ever open by default.
"""

from __future__ import annotations

import os
import secrets as _secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tollgate.apis import ROOT


def _split_csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOLLGATE_", env_ignore_empty=True, extra="ignore")

    var_dir: Path = Field(default=ROOT / "var", description="Where the embedded database and generated secrets live.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default sqlite file var/tollgate.db.")
    external_url: str = Field(default="http://127.0.0.1:8080", description="The URL clients reach this server at.")
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024, description="Larger request bodies get 413.")
    validate_responses: bool = Field(default=False, description="Validate every response against the served spec.")
    swagger_ui: bool = True
    log_level: str = "INFO"

    # OpenMeter
    openmeter_api_keys: str | None = Field(default=None, description="Comma-separated bearer API keys.")
    portal_token_secret: str | None = Field(default=None, description="HS256 secret that signs portal tokens.")
    portal_token_ttl_seconds: int = Field(default=3600, ge=60)

    # GitLab
    gitlab_shell_secret: str | None = Field(default=None, description="Shared secret of GitLab Shell and Gitaly.")
    gitlab_kas_secret: str | None = Field(default=None, description="HS256 secret of kas JWTs.")
    customers_dot_jwks: str | None = Field(default=None, description="JWKS file path or URL for RS256 CustomersDot JWTs.")
    customers_dot_signing_key: str | None = Field(default=None, description="HS256 key for CustomersDot JWTs.")
    customers_dot_issuer: str = Field(default="https://customers.gitlab.com/", description="Required `iss` of CustomersDot JWTs.")
    gitlab_root_token: str | None = Field(default=None, description="Personal access token of user 1, root (admin).")
    lfs_token_ttl_seconds: int = Field(default=1800, ge=60)

    # Flowglad
    flowglad_api_keys: str | None = Field(default=None, description="Comma-separated sk_test_/sk_live_ keys.")

    # Notifications
    webhook_allowed_hosts: str | None = Field(
        default=None, description="Comma-separated hosts webhooks may be delivered to; unset = any host."
    )

    @field_validator("var_dir", mode="after")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value if value.is_absolute() else (Path.cwd() / value)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'tollgate.db'}"


@dataclass(frozen=True)
class Secrets:
    """Credentials in force, after generating the ones the environment left unset."""

    openmeter_api_keys: tuple[str, ...]
    portal_token_secret: str
    gitlab_shell_secret: str
    gitlab_kas_secret: str
    flowglad_api_keys: tuple[str, ...]
    generated: tuple[str, ...]
    """Names of the secrets written into var/ on this start (printed so the operator can use them)."""


def _persisted_secret(var_dir: Path, name: str, make: callable) -> tuple[str, bool]:
    path = var_dir / name
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    var_dir.mkdir(parents=True, exist_ok=True)
    value = make()
    # O_EXCL: when several workers start at once, the first one's secret wins.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip(), False
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value, True


def resolve_secrets(settings: Settings) -> Secrets:
    generated: list[str] = []

    def take(value: str | None, file_name: str, make: callable) -> str:
        if value:
            return value
        secret, fresh = _persisted_secret(settings.var_dir, file_name, make)
        if fresh:
            generated.append(file_name)
        return secret

    api_keys = _split_csv(settings.openmeter_api_keys) or (
        take(None, "openmeter-api-key", lambda: "om_" + _secrets.token_urlsafe(24)),
    )
    flowglad_keys = _split_csv(settings.flowglad_api_keys) or (
        take(None, "flowglad-api-key", lambda: "sk_test_" + _secrets.token_urlsafe(24)),
    )
    return Secrets(
        openmeter_api_keys=api_keys,
        portal_token_secret=take(settings.portal_token_secret, "portal-token-secret", lambda: _secrets.token_hex(32)),
        gitlab_shell_secret=take(settings.gitlab_shell_secret, "gitlab-shell-secret", lambda: _secrets.token_hex(32)),
        gitlab_kas_secret=take(settings.gitlab_kas_secret, "gitlab-kas-secret", lambda: _secrets.token_hex(32)),
        flowglad_api_keys=flowglad_keys,
        generated=tuple(generated),
    )
