"""OpenMeter customers: create, get by id or key, list, replace (PUT), soft delete.

Behaviour follows shared/reference/openmeter-core.md sections 1.5, 4.6 and 5.2:

- a customer is found by its id (deleted customers included, with `deleted_at`) or by the key of a
  live customer;
- keys and usage-attribution subject keys are unique among live customers (409); a customer's key
  may not equal another customer's id, nor a subject key attributed to another live customer, and a
  subject key may not equal another live customer's key, so every subject attributes to at most one
  customer;
- at least one of `key` or a non-empty `usage_attribution.subject_keys` is required (400);
  `currency` must be a known ISO 4217 code (400);
- PUT replaces: an omitted key, description, metadata, billing address or usage attribution is
  cleared; an omitted primary email or currency stays as it was;
- update and delete of a deleted customer are refused with 412; delete frees the key and the subject
  keys for new customers;
- a customer's usage is the events whose subject is one of its subject keys or its key
  (`Customer.usage_subjects`).

Other domains use `CustomerService(session).get(...)`, `.get_active(...)` and `.get_by_subject_key(...)`.
A customer with entitlements active now cannot be deleted (409); other domains whose state blocks a
delete register a check with `register_delete_guard`; the plan-key filter of the list asks the resolver registered with
`register_plan_key_resolver` (no subscriptions known: no customer matches a plan key).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Literal

from domain.currencies import is_known_currency
from domain.errors import ConflictError, NotFoundError, PreconditionFailedError, ProblemCollector
from domain.ids import is_ulid, new_id

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class UsageAttribution:
    """The subjects whose usage belongs to the customer, sorted ascending (as OpenMeter answers)."""

    subject_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Address:
    country: str | None = None
    postal_code: str | None = None
    state: str | None = None
    city: str | None = None
    line1: str | None = None
    line2: str | None = None
    phone_number: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {name: value for name, value in self.__dict__.items() if value is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Address | None:
        if data is None:
            return None
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Customer:
    id: str
    key: str | None
    name: str
    description: str | None
    currency: str | None
    primary_email: str | None
    metadata: dict[str, str] | None
    usage_attribution: UsageAttribution
    billing_address: Address | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None = None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def usage_subjects(self) -> tuple[str, ...]:
        """The event subjects whose usage is this customer's: its subject keys and its key (memo 4.6)."""
        keys = set(self.usage_attribution.subject_keys)
        if self.key:
            keys.add(self.key)
        return tuple(sorted(keys))


@dataclass(frozen=True)
class CustomerInput:
    """What a create or a replace (PUT) carries. `None` means omitted."""

    name: str
    key: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None
    subject_keys: tuple[str, ...] | None = None
    primary_email: str | None = None
    currency: str | None = None
    billing_address: Address | None = None

    def validate(self) -> None:
        problems = ProblemCollector()
        problems.check(bool(self.name), "name must not be empty", field="name")
        problems.check(
            bool(self.key) or bool(self.subject_keys),
            "either key or usageAttribution.subjectKeys must be provided",
            field="key",
        )
        problems.check(self.key is None or 1 <= len(self.key) <= 256, "key must be 1 to 256 characters", field="key")
        for index, subject_key in enumerate(self.subject_keys or ()):
            problems.check(bool(subject_key), "subject key must not be empty", field=f"usageAttribution.subjectKeys[{index}]")
        problems.check(
            self.currency is None or is_known_currency(self.currency),
            f"invalid currency code: {self.currency}",
            field="currency",
            code="currency_invalid",
        )
        problems.raise_if_any()


OrderBy = Literal["id", "name", "createdAt"]


@dataclass(frozen=True)
class CustomerFilter:
    """List filters: `key`, `name`, `primary_email`, `subject` are case-insensitive substrings."""

    key: str | None = None
    name: str | None = None
    primary_email: str | None = None
    subject: str | None = None
    plan_key: str | None = None
    include_deleted: bool = False
    customer_ids: frozenset[str] | None = field(default=None)
    """Only these ids (the plan-key filter resolves to this); None: no restriction."""


@dataclass(frozen=True)
class CustomerPage:
    items: list[Customer]
    total_count: int
    page: int
    page_size: int


DeleteGuard = Callable[["Session", Customer, dt.datetime], None]
"""Raises (ConflictError, ValidationError) when the customer may not be deleted now."""
PlanKeyResolver = Callable[["Session", str, dt.datetime], "set[str]"]
"""The ids of customers whose active subscription's plan has this key."""

def _no_active_entitlements(session: Session, customer: Customer, now: dt.datetime) -> None:
    """OpenMeter refuses to delete a customer with entitlements active now (409)."""
    try:
        from domain.entitlements.service import EntitlementService
    except ImportError:  # pragma: no cover - no entitlements in this build
        return
    _, total = EntitlementService(session).list(customer_ids=[customer.id], active_at=now, limit=1)
    if total:
        raise ConflictError(f"customer {customer.id} still has {total} active entitlement(s); delete them first")


_DELETE_GUARDS: list[DeleteGuard] = [_no_active_entitlements]
_PLAN_KEY_RESOLVERS: list[PlanKeyResolver] = []


def register_delete_guard(guard: DeleteGuard) -> None:
    if guard not in _DELETE_GUARDS:
        _DELETE_GUARDS.append(guard)


def register_plan_key_resolver(resolver: PlanKeyResolver) -> None:
    if resolver not in _PLAN_KEY_RESOLVERS:
        _PLAN_KEY_RESOLVERS.append(resolver)


class CustomerService:
    def __init__(self, session: Session):
        from storage.customers import CustomerRepository

        self.session = session
        self.customers = CustomerRepository(session)

    # --- lookups ---------------------------------------------------------------------------

    def find(self, id_or_key: str) -> Customer | None:
        """By id (deleted customers included) or by the key of a live customer; None when neither."""
        customer = self.customers.get_by_id(id_or_key.upper()) if is_ulid(id_or_key) else None
        return customer or self.customers.get_active_by_key(id_or_key)

    def get(self, id_or_key: str) -> Customer:
        customer = self.find(id_or_key)
        if customer is None:
            raise NotFoundError(f"customer not found: {id_or_key}", resource="Customer")
        return customer

    def get_active(self, id_or_key: str) -> Customer:
        """Like `get`, but a deleted customer is refused with 412, as OpenMeter does for writes."""
        customer = self.get(id_or_key)
        if customer.is_deleted:
            raise PreconditionFailedError(f"customer is deleted: {customer.id}")
        return customer

    def get_by_subject_key(self, subject_key: str) -> Customer | None:
        """The live customer whose usage attribution contains `subject_key`, or whose key equals it."""
        return self.customers.get_active_by_subject_key(subject_key) or self.customers.get_active_by_key(subject_key)

    def get_many(self, ids: list[str]) -> dict[str, Customer]:
        return self.customers.get_many(ids)

    def list(
        self,
        *,
        filters: CustomerFilter | None = None,
        page: int = 1,
        page_size: int = 100,
        order_by: OrderBy = "name",
        descending: bool = False,
        now: dt.datetime | None = None,
    ) -> CustomerPage:
        filters = filters or CustomerFilter()
        if filters.plan_key is not None:
            now = now or dt.datetime.now(dt.timezone.utc)
            ids: set[str] = set()
            for resolver in _PLAN_KEY_RESOLVERS:
                ids |= resolver(self.session, filters.plan_key, now)
            filters = replace(filters, customer_ids=frozenset(ids))
        items, total = self.customers.list(filters, page=page, page_size=page_size, order_by=order_by, descending=descending)
        return CustomerPage(items=items, total_count=total, page=page, page_size=page_size)

    # --- writes ----------------------------------------------------------------------------

    def create(self, data: CustomerInput, *, now: dt.datetime) -> Customer:
        data.validate()
        customer_id = new_id()
        self._check_conflicts(data.key, data.subject_keys or (), exclude_id=None)
        customer = Customer(
            id=customer_id,
            key=data.key,
            name=data.name,
            description=data.description,
            currency=data.currency,
            primary_email=data.primary_email,
            metadata=data.metadata,
            usage_attribution=UsageAttribution(tuple(sorted(set(data.subject_keys or ())))),
            billing_address=data.billing_address,
            created_at=now,
            updated_at=now,
        )
        self.customers.save(customer, now=now)
        self._provision_subjects(customer, now=now)
        return customer

    def update(self, id_or_key: str, data: CustomerInput, *, now: dt.datetime) -> Customer:
        """PUT: replace. Omitted key/description/metadata/billing address/attribution are cleared;
        omitted primary email and currency stay."""
        current = self.get_active(id_or_key)
        data.validate()
        self._check_conflicts(data.key, data.subject_keys or (), exclude_id=current.id)
        customer = replace(
            current,
            key=data.key,
            name=data.name,
            description=data.description,
            metadata=data.metadata,
            usage_attribution=UsageAttribution(tuple(sorted(set(data.subject_keys or ())))),
            billing_address=data.billing_address,
            primary_email=data.primary_email if data.primary_email is not None else current.primary_email,
            currency=data.currency if data.currency is not None else current.currency,
            updated_at=now,
        )
        self.customers.save(customer, now=now)
        self._provision_subjects(customer, now=now)
        return customer

    def delete(self, id_or_key: str, *, now: dt.datetime) -> None:
        customer = self.get_active(id_or_key)
        for guard in list(_DELETE_GUARDS):
            guard(self.session, customer, now)
        self.customers.save(replace(customer, deleted_at=now, updated_at=now), now=now)

    # --- rules -----------------------------------------------------------------------------

    def _check_conflicts(self, key: str | None, subject_keys: tuple[str, ...], *, exclude_id: str | None) -> None:
        duplicates = sorted({k for k in subject_keys if subject_keys.count(k) > 1})
        if duplicates:
            raise ConflictError(f"duplicate subject keys in usage attribution: {', '.join(duplicates)}")

        def other(customer: Customer | None) -> Customer | None:
            return customer if customer is not None and customer.id != exclude_id else None

        if key is not None:
            if (holder := other(self.customers.get_active_by_key(key))) is not None:
                raise ConflictError(f"customer with key {key} already exists", extensions={"conflictingEntityId": holder.id})
            if is_ulid(key) and (holder := other(self.customers.get_by_id(key.upper()))) is not None:
                raise ConflictError(f"customer key {key} equals the id of another customer", extensions={"conflictingEntityId": holder.id})
            if (holder := other(self.customers.get_active_by_subject_key(key))) is not None:
                raise ConflictError(
                    f"customer key {key} is a subject key of another customer", extensions={"conflictingEntityId": holder.id}
                )
        for subject_key in sorted(set(subject_keys)):
            holder = other(self.customers.get_active_by_subject_key(subject_key))
            if holder is not None:
                raise ConflictError(
                    f"subject key {subject_key} is already associated with customer {holder.id}",
                    extensions={"conflictingEntityId": holder.id},
                )
            holder = other(self.customers.get_active_by_key(subject_key))
            if holder is not None:
                raise ConflictError(
                    f"subject key {subject_key} is the key of customer {holder.id}", extensions={"conflictingEntityId": holder.id}
                )

    def _provision_subjects(self, customer: Customer, *, now: dt.datetime) -> None:
        """A subject key without a live Subject gets one, as OpenMeter's subject provisioner does."""
        from domain.subjects import Subject
        from storage.subjects import SubjectRepository

        subjects = SubjectRepository(self.session)
        keys = list(customer.usage_attribution.subject_keys)
        existing = subjects.active_by_keys(keys)
        for key in keys:
            if key in existing:
                continue
            subjects.save(
                Subject(
                    id=new_id(),
                    key=key,
                    display_name=None,
                    metadata={"createdBy": "subject.provisioner", "customerId": customer.id},
                    stripe_customer_id=None,
                    current_period_start=None,
                    current_period_end=None,
                    created_at=now,
                    updated_at=now,
                )
            )
