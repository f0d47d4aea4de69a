"""OpenMeter customers through the generated client, on every backend."""

from __future__ import annotations

import pytest

from generated.runtime import BadRequestError, ConflictError, NotFoundError, PreconditionFailedError


def _create(om, **fields):
    body = {"name": fields.pop("name", "Acme")} | fields
    return om.create_customer(body=body)


def test_create_returns_what_was_sent_and_get_finds_it_by_id_and_key(om):
    created = _create(
        om,
        key="acme-1",
        description="The first",
        metadata={"tier": "gold"},
        usageAttribution={"subjectKeys": ["s-b", "s-a"]},
        primaryEmail="billing@acme.test",
        currency="EUR",
        billingAddress={"country": "DE", "city": "Berlin", "line1": "Unter den Linden 1"},
    )
    assert len(created.id) == 26
    assert created.key == "acme-1" and created.name == "Acme" and created.description == "The first"
    assert created.metadata == {"tier": "gold"}
    assert [k.root for k in created.usage_attribution.subject_keys] == ["s-a", "s-b"]  # sorted
    assert created.primary_email == "billing@acme.test" and created.currency == "EUR"
    assert created.billing_address.country == "DE" and created.billing_address.city == "Berlin"
    assert created.created_at == created.updated_at and created.deleted_at is None

    assert om.get_customer(customer_id_or_key=created.id) == created
    assert om.get_customer(customer_id_or_key="acme-1") == created
    assert om.get_customer(customer_id_or_key=created.id.lower()).id == created.id


def test_unset_fields_are_left_out_of_the_response(om, clean_server):
    import httpx

    from tests.conftest import OPENMETER_KEY

    created = _create(om, usageAttribution={"subjectKeys": ["only-subject"]})
    raw = httpx.get(
        f"{clean_server.url}/api/v1/customers/{created.id}", headers={"Authorization": f"Bearer {OPENMETER_KEY}"}
    ).json()
    assert set(raw) == {"id", "name", "usageAttribution", "createdAt", "updatedAt"}

    keyed = _create(om, key="k-only", name="Keyed")
    raw = httpx.get(f"{clean_server.url}/api/v1/customers/k-only", headers={"Authorization": f"Bearer {OPENMETER_KEY}"}).json()
    assert "usageAttribution" not in raw and raw["key"] == "k-only" and raw["id"] == keyed.id


def test_create_needs_a_key_or_a_subject_key(om):
    with pytest.raises(BadRequestError):
        _create(om)
    with pytest.raises(BadRequestError):
        _create(om, usageAttribution={"subjectKeys": []})
    assert om.list_customers().total_count == 0


def test_unknown_currency_is_refused(om):
    with pytest.raises(BadRequestError):
        _create(om, key="c", currency="ZZZ")
    with pytest.raises(BadRequestError):
        _create(om, key="c", currency="usd")
    assert _create(om, key="c", currency="JPY").currency == "JPY"


def test_keys_and_subject_keys_are_unique_among_live_customers(om):
    first = _create(om, key="acme", usageAttribution={"subjectKeys": ["s1", "s2"]})
    with pytest.raises(ConflictError) as error:
        _create(om, key="acme", name="Again")
    assert error.value.body["status"] == 409
    with pytest.raises(ConflictError):  # a subject key already attributed
        _create(om, key="other", usageAttribution={"subjectKeys": ["s3", "s2"]})
    with pytest.raises(ConflictError):  # a key equal to another customer's subject key
        _create(om, key="s1")
    with pytest.raises(ConflictError):  # a subject key equal to another customer's key
        _create(om, key="x", usageAttribution={"subjectKeys": ["acme"]})
    with pytest.raises(ConflictError):  # a key equal to another customer's id
        _create(om, key=first.id)
    with pytest.raises(ConflictError):  # the same subject key twice
        _create(om, key="dup", usageAttribution={"subjectKeys": ["z", "z"]})
    assert om.list_customers().total_count == 1


def test_creating_a_customer_provisions_its_subjects(om):
    om.upsert_subject(body=[{"key": "existing", "displayName": "Existing"}])
    customer = _create(om, key="acme", usageAttribution={"subjectKeys": ["existing", "new-one"]})
    subjects = {s.key: s for s in om.list_subjects()}
    assert set(subjects) == {"existing", "new-one"}
    assert subjects["existing"].display_name == "Existing"
    assert subjects["new-one"].metadata == {"createdBy": "subject.provisioner", "customerId": customer.id}


def test_put_replaces_the_customer(om):
    created = _create(
        om,
        key="acme",
        description="d",
        metadata={"a": "b"},
        usageAttribution={"subjectKeys": ["s1"]},
        primaryEmail="a@acme.test",
        currency="USD",
        billingAddress={"country": "US"},
    )
    updated = om.update_customer(customer_id_or_key="acme", body={"name": "Acme Inc", "usageAttribution": {"subjectKeys": ["s2"]}})
    assert updated.id == created.id and updated.name == "Acme Inc"
    # Omitted key, description, metadata, billing address are cleared; email and currency stay.
    assert updated.key is None and updated.description is None and updated.metadata is None
    assert updated.billing_address is None
    assert updated.primary_email == "a@acme.test" and updated.currency == "USD"
    assert [k.root for k in updated.usage_attribution.subject_keys] == ["s2"]
    assert updated.updated_at > created.updated_at and updated.created_at == created.created_at

    # The old key and subject key are free; the customer is found by its new subject key only by id.
    with pytest.raises(NotFoundError):
        om.get_customer(customer_id_or_key="acme")
    other = _create(om, key="acme", usageAttribution={"subjectKeys": ["s1"]})
    assert other.id != created.id
    with pytest.raises(ConflictError):
        om.update_customer(customer_id_or_key=created.id, body={"name": "x", "key": "acme"})
    with pytest.raises(BadRequestError):
        om.update_customer(customer_id_or_key=created.id, body={"name": "x"})
    with pytest.raises(NotFoundError):
        om.update_customer(customer_id_or_key="nobody", body={"name": "x", "key": "k"})


def test_soft_delete(om):
    customer = _create(om, key="gone", usageAttribution={"subjectKeys": ["gone-subject"]})
    om.delete_customer(customer_id_or_key="gone")

    with pytest.raises(NotFoundError):
        om.get_customer(customer_id_or_key="gone")
    deleted = om.get_customer(customer_id_or_key=customer.id)
    assert deleted.deleted_at is not None and deleted.key == "gone"

    # Operating on a deleted customer: 412.
    with pytest.raises(PreconditionFailedError):
        om.delete_customer(customer_id_or_key=customer.id)
    with pytest.raises(PreconditionFailedError):
        om.update_customer(customer_id_or_key=customer.id, body={"name": "x", "key": "y"})
    with pytest.raises(NotFoundError):
        om.delete_customer(customer_id_or_key="nobody")

    # Not listed unless asked for; key and subject key are free again.
    assert om.list_customers().items == []
    assert [c.id for c in om.list_customers(include_deleted=True).items] == [customer.id]
    again = _create(om, key="gone", usageAttribution={"subjectKeys": ["gone-subject"]})
    assert om.get_customer(customer_id_or_key="gone").id == again.id


def test_list_pages_orders_and_filters(om):
    for index, name in enumerate(["Charlie", "alpha", "Bravo", "delta", "Echo"]):
        _create(om, name=name, key=f"key-{index}", primaryEmail=f"{name.lower()}@example.test",
                usageAttribution={"subjectKeys": [f"sub-{name.lower()}"]})  # fmt: skip

    everyone = om.list_customers()
    assert everyone.total_count == 5 and everyone.page == 1 and everyone.page_size == 100
    assert [c.name for c in everyone.items] == sorted(c.name for c in everyone.items)

    page = om.list_customers(page=2, page_size=2)
    assert page.total_count == 5 and page.page == 2 and page.page_size == 2
    assert [c.name for c in page.items] == [c.name for c in everyone.items][2:4]
    assert om.list_customers(page=4, page_size=2).items == []

    newest_first = om.list_customers(order_by="createdAt", order="DESC")
    assert [c.name for c in newest_first.items] == ["Echo", "delta", "Bravo", "alpha", "Charlie"]
    by_id = om.list_customers(order_by="id")
    assert [c.id for c in by_id.items] == sorted(c.id for c in by_id.items)

    # Case-insensitive substring filters.
    assert [c.name for c in om.list_customers(name="RAV").items] == ["Bravo"]
    assert [c.name for c in om.list_customers(key="KEY-4").items] == ["Echo"]
    assert [c.name for c in om.list_customers(primary_email="ALPHA@").items] == ["alpha"]
    assert [c.name for c in om.list_customers(subject="SUB-DEL").items] == ["delta"]
    assert om.list_customers(name="%").total_count == 0  # LIKE wildcards are literal
    assert om.list_customers(plan_key="pro").total_count == 0  # no subscriptions, no plan


def test_the_official_openmeter_sdk_creates_and_reads_customers(clean_server):
    from openmeter import Client

    from tests.conftest import OPENMETER_KEY

    with Client(endpoint=clean_server.url, token=OPENMETER_KEY) as client:
        created = client.customers.create(
            {"name": "SDK Customer", "key": "sdk-customer", "usageAttribution": {"subjectKeys": ["sdk-subject"]}, "currency": "USD"}
        )
        assert created.key == "sdk-customer" and list(created.usage_attribution.subject_keys) == ["sdk-subject"]
        fetched = client.customers.get("sdk-customer")
        assert fetched.id == created.id and fetched.currency == "USD"
        listed = client.customers.list()
        assert listed.total_count == 1 and listed["items"][0].id == created.id
        client.customers.delete(created.id)
        assert client.customers.get(created.id).deleted_at is not None


def test_a_customer_with_active_entitlements_cannot_be_deleted(om):
    customer = _create(om, key="entitled")
    om.create_feature(body={"key": "sso", "name": "SSO"})
    om.create_customer_entitlement_v2(customer_id_or_key="entitled", body={"type": "boolean", "featureKey": "sso"})
    with pytest.raises(ConflictError):
        om.delete_customer(customer_id_or_key="entitled")
    assert om.get_customer(customer_id_or_key=customer.id).deleted_at is None

    om.delete_customer_entitlement_v2(customer_id_or_key="entitled", entitlement_id_or_feature_key="sso")
    om.delete_customer(customer_id_or_key="entitled")
    assert om.get_customer(customer_id_or_key=customer.id).deleted_at is not None


def test_pages_past_the_end_are_empty(om):
    _create(om, key="only")
    far = om.list_customers(page=647945136875575925800960, page_size=644)
    assert far.items == [] and far.total_count == 1 and far.page == 647945136875575925800960


# --- currentSubscriptionId and expand=subscriptions (openmeter-core.md 5.2) ------------------------


def _plan(om, key: str = "pro"):
    card = {"type": "flat_fee", "key": "base_fee", "name": "Base fee", "billingCadence": "P1M",
            "price": {"type": "flat", "amount": "10"}}  # fmt: skip
    body = {"key": key, "name": key.title(), "currency": "USD", "billingCadence": "P1M",
            "phases": [{"key": "default", "name": "Default", "duration": None, "rateCards": [card]}]}  # fmt: skip
    return om.publish_plan(plan_id=om.create_plan(body=body).id)


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _raw_get(om, path: str, **params):
    response = om._http.request("GET", om.base_url + path, headers=om._headers, params=params)
    return response.status_code, response.headers.get("content-type", ""), response.json()


def test_current_subscription_and_the_subscriptions_expand(om):
    import datetime as dt

    _plan(om)
    subscribed = _create(om, key="subscribed", name="A subscribed")
    plain = _create(om, key="plain", name="B plain")

    # No subscription: neither field, whatever the expand.
    for fetched in (om.get_customer(customer_id_or_key="plain"),
                    om.get_customer(customer_id_or_key="plain", expand=["subscriptions"])):  # fmt: skip
        assert fetched.current_subscription_id is None and fetched.subscriptions is None
    _, _, raw = _raw_get(om, "/api/v1/customers/plain")
    assert "currentSubscriptionId" not in raw and "subscriptions" not in raw

    sub = om.create_subscription(body={"customerKey": "subscribed", "plan": {"key": "pro"}})

    # get: the running subscription's id, and the subscriptions expanded (also by default, as OpenMeter).
    for fetched in (om.get_customer(customer_id_or_key="subscribed"),
                    om.get_customer(customer_id_or_key=subscribed.id, expand=["subscriptions"])):  # fmt: skip
        assert fetched.current_subscription_id == sub.id
        assert [s.id for s in fetched.subscriptions] == [sub.id]
        expanded = fetched.subscriptions[0]
        assert expanded.customer_id == subscribed.id and expanded.plan.key == "pro"
        assert getattr(expanded.status, "value", expanded.status) == "active"
    _, _, raw = _raw_get(om, "/api/v1/customers/subscribed", expand="subscriptions")
    assert raw["currentSubscriptionId"] == sub.id and raw["subscriptions"][0]["id"] == sub.id
    assert raw["subscriptions"][0]["status"] == "active" and "phases" not in raw["subscriptions"][0]  # the spec's `Subscription`

    # list: the same per customer, for the whole page.
    for listed in (om.list_customers(), om.list_customers(expand=["subscriptions"])):
        by_key = {c.key: c for c in listed.items}
        assert by_key["subscribed"].current_subscription_id == sub.id
        assert [s.id for s in by_key["subscribed"].subscriptions] == [sub.id]
        assert by_key["plain"].current_subscription_id is None and by_key["plain"].subscriptions is None
    assert [c.current_subscription_id for c in om.list_customers(plan_key="pro").items] == [sub.id]

    # replace (PUT): the current subscription's id, but no expand.
    replaced = om.update_customer(customer_id_or_key="subscribed",
                                  body={"name": "A renamed", "key": "subscribed", "currency": "USD"})  # fmt: skip
    assert replaced.current_subscription_id == sub.id and replaced.subscriptions is None
    assert plain.current_subscription_id is None  # a new customer has none

    # Canceled at the end of the billing period: still running, so still current; a follow-up
    # scheduled for then is not current and not listed yet.
    canceled = om.cancel_subscription(subscription_id=sub.id, body={"timing": "next_billing_cycle"})
    follow = om.create_subscription(body={"customerKey": "subscribed", "plan": {"key": "pro"}, "timing": _iso(canceled.active_to)})
    fetched = om.get_customer(customer_id_or_key="subscribed")
    assert fetched.current_subscription_id == sub.id and [s.id for s in fetched.subscriptions] == [sub.id]
    assert getattr(fetched.subscriptions[0].status, "value", fetched.subscriptions[0].status) == "canceled"
    assert fetched.subscriptions[0].active_to == canceled.active_to
    assert follow.id not in {s.id for s in fetched.subscriptions}
    assert canceled.active_to > dt.datetime.now(dt.timezone.utc)


def test_ended_or_only_scheduled_subscriptions_are_not_current(om):
    import datetime as dt

    _plan(om)
    _create(om, key="ended", name="Ended")
    _create(om, key="scheduled", name="Scheduled")
    ended = om.create_subscription(body={"customerKey": "ended", "plan": {"key": "pro"}})
    om.cancel_subscription(subscription_id=ended.id, body={})  # immediately: inactive from now on
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30)
    scheduled = om.create_subscription(body={"customerKey": "scheduled", "plan": {"key": "pro"}, "timing": _iso(later)})
    assert getattr(scheduled.status, "value", scheduled.status) == "scheduled"

    for key in ("ended", "scheduled"):
        fetched = om.get_customer(customer_id_or_key=key, expand=["subscriptions"])
        assert fetched.current_subscription_id is None and fetched.subscriptions is None, key
    assert all(c.current_subscription_id is None and c.subscriptions is None for c in om.list_customers().items)
    # They are still the customers' subscriptions, only not running now.
    assert [s.id for s in om.list_customer_subscriptions(customer_id_or_key="scheduled").items] == [scheduled.id]

    # A new subscription after the ended one is current.
    again = om.create_subscription(body={"customerKey": "ended", "plan": {"key": "pro"}})
    assert om.get_customer(customer_id_or_key="ended").current_subscription_id == again.id


def test_unknown_expand_is_refused_with_a_problem(om):
    _create(om, key="acme")
    for path in ("/api/v1/customers/acme", "/api/v1/customers"):
        for value in ("nope", "subscriptions,nope", ""):
            status, content_type, body = _raw_get(om, path, expand=value)
            assert status == 400, (path, value, body)
            assert content_type.startswith("application/problem+json") and body["status"] == 400 and body["title"], body
