"""Identifiers: ULIDs (26 characters, Crockford base32), as OpenMeter issues them."""

from __future__ import annotations

import re

from ulid import ULID

_ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")


def new_id() -> str:
    return str(ULID())


def is_ulid(value: str) -> bool:
    """True when `value` has the shape of a ULID (the spec's pattern, any letter case)."""
    return bool(_ULID.match(value))
