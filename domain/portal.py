"""OpenMeter consumer portal tokens: create, list, invalidate, and the scope check of the portal query.

A token is an HS256 JWT signed with the portal secret (issuer `openmeter`, `sub` the subject, `exp`,
`iat`, and OpenMeter's custom claims `Id`, `Namespace`, `AllowedMeterSlugs`), as
`tollgate.auth.openmeter_portal_token` verifies it. Unlike OpenMeter OSS (stateless tokens, list and
invalidate answer 501), Tollgate keeps a record of every token (ruling 2), so tokens can be listed and
invalidated; an invalidated token is refused (401) by `authorize`, which the portal query runs after
the signature check.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import jwt

from domain.errors import NotFoundError, ProblemCollector, UnauthorizedError, ValidationError
from domain.ids import new_id

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

ISSUER = "openmeter"
NAMESPACE = "default"


@dataclass(frozen=True)
class PortalToken:
    id: str
    subject: str
    allowed_meter_slugs: tuple[str, ...]
    expires_at: dt.datetime
    created_at: dt.datetime
    invalidated_at: dt.datetime | None = None

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at <= now


@dataclass(frozen=True)
class IssuedToken:
    record: PortalToken
    token: str


class PortalTokenService:
    def __init__(self, session: Session):
        from storage.portal_tokens import PortalTokenRepository

        self.session = session
        self.tokens = PortalTokenRepository(session)

    def create(
        self,
        *,
        subject: str,
        allowed_meter_slugs: list[str] | None,
        expires_at: dt.datetime | None,
        secret: str,
        default_ttl: dt.timedelta,
        now: dt.datetime,
    ) -> IssuedToken:
        problems = ProblemCollector()
        problems.check(bool(subject), "subject must not be empty", field="subject")
        problems.check(allowed_meter_slugs is None or len(allowed_meter_slugs) > 0,
                       "allowedMeterSlugs must not be empty when given", field="allowedMeterSlugs")  # fmt: skip
        # JWT expiry has second precision: keep the record equal to the claim.
        expiry = (expires_at or now + default_ttl).astimezone(dt.timezone.utc).replace(microsecond=0)
        problems.check(expiry > now, "expiresAt must be in the future", field="expiresAt")
        problems.raise_if_any()
        slugs = tuple(dict.fromkeys(allowed_meter_slugs or ()))
        if slugs:
            from domain.metering.meters import MeterService

            meters = MeterService(self.session)
            for slug in slugs:
                meter = meters.find(slug)
                if meter is None or meter.deleted_at is not None or meter.slug != slug:
                    raise NotFoundError(f"meter not found: {slug}", resource="Meter")
        record = PortalToken(
            id=new_id(),
            subject=subject,
            allowed_meter_slugs=slugs,
            expires_at=expiry,
            created_at=now,
        )
        self.tokens.add(record)
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int(expiry.timestamp()),
            "Id": record.id,
            "Namespace": NAMESPACE,
            "AllowedMeterSlugs": list(slugs),
        }
        return IssuedToken(record=record, token=jwt.encode(claims, secret, algorithm="HS256"))

    def list(self, *, limit: int = 25) -> list[PortalToken]:
        """Tokens not invalidated, newest first (expired ones included, marked expired by the caller)."""
        return self.tokens.list_valid(limit=limit)

    def invalidate(self, *, token_id: str | None, subject: str | None, now: dt.datetime) -> int:
        """Invalidate one token by id, or every token of a subject (both given: that token, if it is the subject's)."""
        if not token_id and not subject:
            raise ValidationError("either id or subject must be provided")
        if token_id:
            record = self.tokens.get(token_id)
            if record is None or (subject and record.subject != subject):
                raise NotFoundError(f"portal token not found: {token_id}", resource="PortalToken")
            if record.invalidated_at is None:
                self.tokens.save(replace(record, invalidated_at=now))
            return 1
        return self.tokens.invalidate_subject(subject or "", now=now)

    def authorize(self, claims: dict, meter_slug: str, *, now: dt.datetime) -> PortalToken:
        """The token record behind verified `claims`, if it still stands and may read `meter_slug`."""
        token_id = claims.get("Id")
        record = self.tokens.get(token_id) if isinstance(token_id, str) else None
        if record is None:
            raise UnauthorizedError("unknown portal token")
        if record.invalidated_at is not None:
            raise UnauthorizedError("portal token has been invalidated")
        if record.expired(now):
            raise UnauthorizedError("portal token has expired")
        if record.subject != claims.get("sub"):
            raise UnauthorizedError("portal token subject mismatch")
        if record.allowed_meter_slugs and meter_slug not in record.allowed_meter_slugs:
            raise UnauthorizedError(f"portal token is not allowed to query meter {meter_slug}")
        return record
