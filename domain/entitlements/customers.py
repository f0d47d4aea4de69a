"""Who holds an entitlement: the customer, seen through domain.customers.

Entitlements only need a customer's id, key, subject keys and whether it is deleted; this module
keeps that view small so the entitlement code does not depend on the customer model's details.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm import Session

from domain.errors import NotFoundError


@dataclass(frozen=True)
class CustomerRef:
    id: str
    key: str | None
    subject_keys: tuple[str, ...]
    deleted_at: dt.datetime | None = None

    @property
    def usage_subjects(self) -> list[str]:
        """Events attribute to a customer by any of its subject keys or its own key (openmeter-core.md 4.6)."""
        keys = list(self.subject_keys)
        if self.key and self.key not in keys:
            keys.append(self.key)
        return keys

    @property
    def subject_key(self) -> str:
        """The v1 `subjectKey`: the customer's alphabetically first subject key ("" when it has none)."""
        return min(self.subject_keys) if self.subject_keys else ""


class CustomerLookup(Protocol):
    def get(self, id_or_key: str) -> CustomerRef:
        """By id (deleted included) or by the key of a live customer; NotFoundError otherwise."""
        ...

    def by_subject_key(self, subject_key: str) -> CustomerRef | None:
        """The live customer a subject key attributes to (its subject keys or its key)."""
        ...


def _ref(customer: Any) -> CustomerRef:
    attribution = getattr(customer, "usage_attribution", None)
    keys = tuple(sorted(getattr(attribution, "subject_keys", None) or ())) if attribution is not None else ()
    return CustomerRef(id=customer.id, key=getattr(customer, "key", None), subject_keys=keys,
                       deleted_at=getattr(customer, "deleted_at", None))  # fmt: skip


class ServiceCustomers:
    """CustomerLookup over domain.customers.CustomerService."""

    def __init__(self, session: Session):
        self.session = session
        self._cache: dict[str, CustomerRef] = {}

    def _service(self):
        try:
            from domain.customers import CustomerService
        except ImportError:  # customers not there yet: nobody exists
            return None
        return CustomerService(self.session)

    def get(self, id_or_key: str) -> CustomerRef:
        if id_or_key in self._cache:
            return self._cache[id_or_key]
        service = self._service()
        if service is None:
            raise NotFoundError(f"customer not found: {id_or_key}")
        ref = _ref(service.get(id_or_key))
        self._cache[id_or_key] = self._cache[ref.id] = ref
        return ref

    def by_subject_key(self, subject_key: str) -> CustomerRef | None:
        service = self._service()
        customer = service.get_by_subject_key(subject_key) if service is not None else None
        return _ref(customer) if customer is not None else None
