"""The Subscriptions API CustomersDot calls: python-gitlab sets up the entities, the generated client
(authenticated with a CustomersDot JWT, or the admin token) asserts."""

from __future__ import annotations

import datetime as dt
import threading
import time

import jwt
import pytest

from generated.gitlab.client import GitLabClient
from generated.runtime import NO_RETRY, BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError
from tests.conftest import CUSTOMERS_DOT_ISSUER, CUSTOMERS_DOT_KEY

TODAY = dt.datetime.now(dt.timezone.utc).date()


def _token(**overrides) -> str:
    claims = {"iss": CUSTOMERS_DOT_ISSUER, "sub": "customers-dot-internal-api", "aud": "gitlab-subscriptions",
              "exp": int(time.time()) + 600, **overrides}  # fmt: skip
    return jwt.encode(claims, CUSTOMERS_DOT_KEY, algorithm="HS256")


@pytest.fixture
def cdot(clean_server):
    with GitLabClient(clean_server.url, headers={"X-Customers-Dot-Internal-Token": _token()}, retry=NO_RETRY) as client:
        yield client


@pytest.fixture
def team(python_gitlab):
    """A root group `team` (root is its owner), a subgroup, a project, members of several kinds."""
    group = python_gitlab.groups.create({"name": "Team", "path": "team"})
    sub = python_gitlab.groups.create({"name": "Sub", "path": "sub", "parent_id": group.id})
    users = {name: python_gitlab.users.create({"email": f"{name}@example.com", "username": name, "name": name.title()})
             for name in ("alice", "bob", "carol", "dave")}  # fmt: skip
    bot = python_gitlab.users.create({"email": "bot@example.com", "username": "ci-bot", "name": "Bot", "bot": True})
    group.members.create({"user_id": users["alice"].id, "access_level": 50})
    sub.members.create({"user_id": users["bob"].id, "access_level": 10})  # a guest in a subgroup
    project = python_gitlab.projects.create({"name": "App", "namespace_id": sub.id})
    project.members.create({"user_id": users["carol"].id, "access_level": 30})
    project.members.create({"user_id": bot.id, "access_level": 30})
    partners = python_gitlab.groups.create({"name": "Partners", "path": "partners"})
    partners.members.create({"user_id": users["dave"].id, "access_level": 40})
    group.share(partners.id, 10)  # dave gets guest access through the invitation
    return {"group": group, "sub": sub, "project": project, "users": users, "partners": partners}


# --- auth ----------------------------------------------------------------------------------------


def test_auth_jwt_admin_token_and_refusals(python_gitlab, clean_server, cdot, gitlab_admin_client):
    python_gitlab.groups.create({"name": "Team", "path": "team"})
    assert cdot.get_gitlab_subscription(id="team").plan.code is None
    assert gitlab_admin_client.get_gitlab_subscription(id="team").plan.code is None  # ruling 15
    for headers in ({}, {"X-Customers-Dot-Internal-Token": _token(aud="other")},
                    {"X-Customers-Dot-Internal-Token": _token(sub="someone")},
                    {"X-Customers-Dot-Internal-Token": _token(exp=int(time.time()) - 300)},
                    {"X-Customers-Dot-Internal-Token": jwt.encode({"iss": CUSTOMERS_DOT_ISSUER, "sub": "customers-dot-internal-api",
                                                                    "aud": "gitlab-subscriptions"}, "wrong-key-0123456789abcdef0123456789", algorithm="HS256")},
                    {"TOKEN": "test-root-token"}):  # fmt: skip
        with GitLabClient(clean_server.url, headers=headers, retry=NO_RETRY) as client, pytest.raises(UnauthorizedError) as error:
            client.get_gitlab_subscription(id="team")
        assert error.value.body == {"message": "401 Unauthorized"}
    # a JWT header is the only credential evaluated when present: a bad one is refused beside a valid admin token
    with GitLabClient(clean_server.url, headers={"X-Customers-Dot-Internal-Token": _token(aud="x"), "PRIVATE-TOKEN": "test-root-token"},
                      retry=NO_RETRY) as client, pytest.raises(UnauthorizedError):  # fmt: skip
        client.get_gitlab_subscription(id="team")
    alice = python_gitlab.users.create({"email": "alice@example.com", "username": "alice", "name": "Alice"})
    token = alice.personal_access_tokens.create({"name": "t", "scopes": ["api"]}).token
    with GitLabClient(clean_server.url, headers={"PRIVATE-TOKEN": token}, retry=NO_RETRY) as client, pytest.raises(ForbiddenError) as error:
        client.get_gitlab_subscription(id="team")
    assert error.value.body == {"message": "403 Forbidden"}


# --- namespaces ----------------------------------------------------------------------------------


def test_get_namespace_computed_fields_and_lazy_free_subscription(cdot, team):
    first = cdot.get_subscription_namespace(id="team")
    assert (first.kind, first.full_path, first.parent_id, first.plan, first.trial, first.trial_ends_on) == ("group", "team", None, "free", False, None)
    # root, alice (owner), bob (guest in a subgroup), carol (project member), dave (invited group); not the bot
    assert first.billable_members_count == 5
    assert first.members_count_with_descendants == 3  # root, alice, bob
    assert first.projects_count == 1 and first.root_repository_size is None
    assert (first.additional_purchased_storage_size, first.shared_runners_minutes_limit) == (0, None)
    assert "seats_in_use" not in first.model_fields_set  # the free subscription is created while rendering `plan`
    second = cdot.get_subscription_namespace(id=str(team["group"].id))
    assert (second.seats_in_use, second.max_seats_used, second.end_date) == (5, 0, None)
    user_ns = cdot.get_subscription_namespace(id="alice")
    assert (user_ns.kind, user_ns.billable_members_count, user_ns.plan) == ("user", 1, "free")
    assert "projects_count" not in user_ns.model_fields_set
    subgroup = cdot.get_subscription_namespace(id="team/sub")
    assert (subgroup.plan, subgroup.billable_members_count) == ("free", 3)  # root (its creator), bob, carol; dave is invited to team only
    with pytest.raises(NotFoundError) as error:
        cdot.get_subscription_namespace(id="nowhere")
    assert error.value.body == {"message": "404 Namespace Not Found"}


def test_update_namespace_limits_and_subscription_attributes(cdot, team):
    updated = cdot.update_subscription_namespace(id="team", body={
        "shared_runners_minutes_limit": 1000, "extra_shared_runners_minutes_limit": 500,
        "additional_purchased_storage_size": 100, "additional_purchased_storage_ends_on": "2030-01-01",
        "gitlab_subscription_attributes": {"start_date": "2026-01-01", "end_date": "2027-01-01", "seats": 10, "plan_code": "ultimate"},
    })  # fmt: skip
    assert (updated.shared_runners_minutes_limit, updated.extra_shared_runners_minutes_limit) == (1000, 500)
    assert (updated.additional_purchased_storage_size, str(updated.additional_purchased_storage_ends_on)) == (100, "2030-01-01")
    assert (updated.plan, str(updated.end_date)) == ("ultimate", "2027-01-01")
    assert updated.billable_members_count == 3  # Ultimate: guests don't count (bob; dave, a guest by invitation)
    # only the sent keys change; an explicit null is applied
    again = cdot.update_subscription_namespace(id="team", body={"shared_runners_minutes_limit": None})
    assert (again.shared_runners_minutes_limit, again.extra_shared_runners_minutes_limit) == (None, 500)
    with pytest.raises(BadRequestError) as error:
        cdot.update_subscription_namespace(id="team", body={"gitlab_subscription_attributes": {"start_date": None, "seats": None}})
    assert error.value.body == {"message": {"gitlab_subscription.seats": ["can't be blank"], "gitlab_subscription.start_date": ["can't be blank"]}}
    with pytest.raises(BadRequestError) as error:
        cdot.update_subscription_namespace(id="team/sub", body={"shared_runners_minutes_limit": 10})
    assert error.value.body == {"message": {"shared_runners_minutes_limit": ["is not supported for this namespace"]}}
    with pytest.raises(BadRequestError) as error:
        cdot.update_subscription_namespace(id="team", body={"shared_runners_minutes_limit": "unknown"})
    assert error.value.body == {"error": "shared_runners_minutes_limit is invalid"}


def test_owners_are_direct_active_owners(python_gitlab, cdot, team):
    team["sub"].members.create({"user_id": team["users"]["dave"].id, "access_level": 50})  # a subgroup owner: not listed
    owners = cdot.list_namespace_owners(id="team")
    assert [(o.user.username, o.access_level, o.notification_email) for o in owners] == [
        ("root", 50, "admin@example.com"), ("alice", 50, "alice@example.com")]
    # GitLab pagination (python-gitlab reads the headers; the admin token is accepted here, ruling 15)
    pages = python_gitlab.http_list("/internal/gitlab_subscriptions/namespaces/team/owners", iterator=True, per_page=1)
    assert (pages.total, pages.total_pages, pages.per_page) == (2, 2, 1)
    assert [owner["user"]["username"] for owner in pages] == ["root", "alice"]
    python_gitlab.users.get(team["users"]["alice"].id).block()
    assert [o.user.username for o in cdot.list_namespace_owners(id="team")] == ["root"]
    with pytest.raises(NotFoundError) as error:
        cdot.list_namespace_owners(id="alice")
    assert error.value.body == {"message": "404 Group Namespace Not Found"}


# --- subscriptions -------------------------------------------------------------------------------


def test_subscription_lifecycle(cdot, team):
    empty = cdot.get_gitlab_subscription(id="team")
    assert empty.plan.model_dump() == {"name": None, "code": None, "auto_renew": None, "trial": None, "upgradable": None, "exclude_guests": None}
    assert empty.usage.seats_in_subscription is None and empty.billing.subscription_start_date is None
    with pytest.raises(BadRequestError) as error:
        cdot.create_gitlab_subscription(id="team", body={"seats": 10})
    assert error.value.body == {"error": "start_date is missing"}
    for bad in ("2020-13-01", "tomorrow", "2020-02-30"):  # the spec's `date` format, checked as Grape does
        with pytest.raises(BadRequestError) as error:
            cdot.create_gitlab_subscription(id="team", body={"start_date": bad})
        assert error.value.body == {"error": "start_date is invalid"}
    with pytest.raises(BadRequestError) as error:
        cdot.create_minutes_packs(id="team", body={"packs": [{"number_of_minutes": 1, "expires_at": "2030-02-31", "purchase_xid": "x"}]})
    assert error.value.body == {"error": "packs[0][expires_at] is invalid"}
    with pytest.raises(BadRequestError) as error:
        cdot.create_add_on_purchases(id="team", body={"add_on_purchases": {"duo_pro": [_purchase(started_on="soon")]}})
    assert error.value.body == {"error": "add_on_purchases[duo_pro][0][started_on] is invalid"}
    created = cdot.create_gitlab_subscription(id="team", body={
        "start_date": "2026-01-01", "end_date": "2027-01-01", "plan_code": "premium", "seats": 10, "auto_renew": True})
    assert (created.plan.name, created.plan.code, created.plan.upgradable, created.plan.exclude_guests) == ("Premium", "premium", True, False)
    assert (created.usage.seats_in_subscription, created.usage.seats_in_use, created.usage.max_seats_used, created.usage.seats_owed) == (10, 5, 0, 0)
    with pytest.raises(BadRequestError) as error:
        cdot.create_gitlab_subscription(id="team", body={"start_date": "2026-01-01", "seats": 1})
    assert error.value.body == {"message": {"namespace_id": ["has already been taken"]}}  # ruling 20

    kept = cdot.update_gitlab_subscription(id="team", body={"max_seats_used": 42})
    assert (kept.usage.seats_in_subscription, kept.usage.max_seats_used) == (10, 42)
    ultimate = cdot.update_gitlab_subscription(id="team", body={"plan_code": "ultimate"})
    assert (ultimate.plan.name, ultimate.plan.upgradable, ultimate.plan.exclude_guests) == ("Ultimate", False, True)
    # a new term resets max_seats_used to the seats in use and recomputes seats_owed
    renewed = cdot.update_gitlab_subscription(id="team", body={"start_date": "2027-01-01", "end_date": "2028-01-01", "seats": 2})
    assert (renewed.usage.max_seats_used, renewed.usage.seats_owed, renewed.usage.seats_in_use) == (3, 1, 3)
    with pytest.raises(BadRequestError) as error:
        cdot.update_gitlab_subscription(id="team", body={"seats": None})
    assert error.value.body == {"message": {"seats": ["can't be blank"]}}
    unknown = cdot.update_gitlab_subscription(id="team", body={"plan_code": "platinum"})
    assert (unknown.plan.code, unknown.plan.name) == (None, None)
    assert cdot.update_gitlab_subscription(id="team", body={"plan_code": None}).plan.code == "free"


def test_trials_and_deprecated_paths(cdot, gitlab_admin_client, python_gitlab):
    python_gitlab.groups.create({"name": "Trial", "path": "trial"})
    trial = gitlab_admin_client.create_gitlab_subscription_deprecated(id="trial", body={
        "start_date": "2018-01-01", "seats": 0, "plan_code": "ultimate_trial", "trial": True, "trial_ends_on": "2018-02-01"})
    assert (trial.plan.trial, trial.plan.name, str(trial.billing.trial_ends_on)) == (True, "Ultimate Trial", "2018-02-01")
    ns = cdot.get_subscription_namespace(id="trial")
    assert (ns.trial, str(ns.trial_ends_on)) == (True, "2018-02-01")
    with pytest.raises(BadRequestError) as error:
        gitlab_admin_client.update_gitlab_subscription_deprecated(id="trial", body={"trial_ends_on": "2017-12-01"})
    assert error.value.body == {"message": {"trial_ends_on": ["must be greater than 2018-01-01"]}}
    assert gitlab_admin_client.get_namespace_gitlab_subscription(id="trial").plan.code == "ultimate_trial"
    python_gitlab.groups.create({"name": "Other", "path": "other"})
    with pytest.raises(NotFoundError) as error:
        cdot.update_gitlab_subscription(id="other", body={"seats": 1})
    assert error.value.body == {"message": "404 GitlabSubscription Not Found"}
    with pytest.raises(NotFoundError) as error:
        cdot.create_gitlab_subscription(id="404", body={"start_date": "2020-01-01"})
    assert error.value.body == {"message": "404 Namespace Not Found"}


# --- upcoming reconciliations, users, permissions, credit cards -----------------------------------------


def test_upcoming_reconciliations(cdot, team):
    group_id = str(team["group"].id)
    body = {"next_reconciliation_date": "2030-07-02", "display_alert_from": "2030-06-25"}
    assert cdot.update_upcoming_reconciliation(namespace_id=group_id, body=body) == 200
    assert cdot.update_upcoming_reconciliation(namespace_id=group_id, body={**body, "display_alert_from": "2030-06-20"}) == 200
    with pytest.raises(BadRequestError) as error:
        cdot.update_upcoming_reconciliation(namespace_id="team", body=body)
    assert error.value.body == {"error": "namespace_id is invalid"}
    with pytest.raises(BadRequestError) as error:
        cdot.update_upcoming_reconciliation(namespace_id=group_id, body={"display_alert_from": "2030-06-25"})
    assert error.value.body == {"error": "next_reconciliation_date is missing"}
    cdot.delete_upcoming_reconciliation(namespace_id=group_id)
    with pytest.raises(NotFoundError) as error:
        cdot.delete_upcoming_reconciliation(namespace_id=group_id)
    assert error.value.body == {"message": "404 Not Found"}
    with pytest.raises(NotFoundError) as error:
        cdot.delete_upcoming_reconciliation(namespace_id="999")
    assert error.value.body == {"message": "404 Namespace Not Found"}
    with pytest.raises(BadRequestError) as error:
        cdot.delete_upcoming_reconciliation(namespace_id="nowhere")
    assert error.value.body == {"error": "namespace_id is invalid"}


def test_users_and_billing_permissions(cdot, team):
    alice, bob = team["users"]["alice"], team["users"]["bob"]
    user = cdot.get_subscription_user(id=alice.id)
    assert list(user.model_dump()) == ["id", "username", "name", "web_url"]
    assert (user.username, user.web_url.endswith("/alice")) == ("alice", True)
    with pytest.raises(NotFoundError) as error:
        cdot.get_subscription_user(id=999)
    assert error.value.body == {"message": "404 User Not Found"}
    assert cdot.get_user_permissions(namespace_id="team", user_id=alice.id).edit_billing is True
    assert cdot.get_user_permissions(namespace_id="team/sub", user_id=alice.id).edit_billing is True  # inherited
    assert cdot.get_user_permissions(namespace_id="team/sub", user_id=bob.id).edit_billing is False
    assert cdot.get_user_permissions(namespace_id="bob", user_id=bob.id).edit_billing is True
    with pytest.raises(NotFoundError) as error:
        cdot.get_user_permissions(namespace_id="team", user_id=999)
    assert error.value.body == {"message": "404 User Not Found"}


def test_credit_card_validation(cdot, team, clean_server):
    users = team["users"]
    card = {"credit_card_validated_at": "2026-12-01T12:00:00Z", "credit_card_expiration_month": 2,
            "credit_card_expiration_year": 2030, "credit_card_holder_name": "Alice Smith", "credit_card_mask_number": "0012",
            "credit_card_type": "visa", "zuora_payment_method_xid": "zuora-1"}  # fmt: skip
    assert cdot.update_credit_card_validation(user_id=str(users["alice"].id), body=card).success == {}
    assert cdot.update_credit_card_validation(user_id="alice", body=card).success is not None  # again: an update
    # the zuora id belongs to alice: bob cannot use it
    with pytest.raises(BadRequestError) as error:
        cdot.update_credit_card_validation(user_id=str(users["bob"].id), body=card)
    assert error.value.body == {"message": "400 Bad request"}
    with pytest.raises(BadRequestError) as error:
        cdot.update_credit_card_validation(user_id=str(users["bob"].id), body={k: v for k, v in card.items() if k != "credit_card_type"})
    assert error.value.body == {"error": "credit_card_type is missing"}
    with pytest.raises(NotFoundError) as error:
        cdot.update_credit_card_validation(user_id="nobody", body=card)
    assert error.value.body == {"message": "404 User Not Found"}
    # the daily limit per card fingerprint: five users may validate one card within 24 hours, the sixth may not
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    fingerprint_card = {**card, "credit_card_validated_at": now, "stripe_card_fingerprint": "fp-1"}
    fingerprint_card.pop("zuora_payment_method_xid")
    for name in ("root", "bob", "carol", "dave", "alice"):
        cdot.update_credit_card_validation(user_id=name, body=fingerprint_card)
    import gitlab

    extra = gitlab.Gitlab(clean_server.url, private_token="test-root-token").users.create(
        {"email": "eve@example.com", "username": "eve", "name": "Eve"})
    with pytest.raises(BadRequestError) as error:
        cdot.update_credit_card_validation(user_id=str(extra.id), body=fingerprint_card)
    assert error.value.body == {"message": "400 Bad request"}


def test_card_details_are_stored_as_salted_hashes_only(backend, cdot, team):
    from sqlalchemy import text

    card = {"credit_card_validated_at": "2026-12-01T12:00:00Z", "credit_card_expiration_month": 2, "credit_card_expiration_year": 2030,
            "credit_card_holder_name": "Alice Smith", "credit_card_mask_number": "4242", "credit_card_type": "Visa"}  # fmt: skip
    cdot.update_credit_card_validation(user_id="alice", body=card)
    cdot.update_credit_card_validation(user_id="bob", body=card)
    with backend.database.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM gl_credit_card_validations ORDER BY user_id")).mappings().all()
    stored = " ".join(str(value) for row in rows for value in row.values())
    assert "4242" not in stored and "Alice" not in stored.replace("alice", "") and "Visa" not in stored and "2030-02-28" not in stored
    assert len(rows[0]["last_digits_hash"]) == 44 and rows[0]["last_digits_hash"] == rows[1]["last_digits_hash"]
    import base64
    import hashlib

    assert rows[0]["last_digits_hash"] != base64.b64encode(hashlib.sha256(b"4242").digest()).decode()  # salted


# --- add-on purchases ------------------------------------------------------------------------------


def _purchase(**overrides):
    return {"quantity": 10, "started_on": TODAY.isoformat(), "expires_on": (TODAY + dt.timedelta(days=365)).isoformat(),
            "purchase_xid": "A-12345", "trial": True, **overrides}  # fmt: skip


def test_bulk_add_on_purchases(cdot, team):
    created = cdot.create_add_on_purchases(id="team", body={"add_on_purchases": {"duo_pro": [_purchase()]}})
    assert [p.model_dump(mode="json") for p in created] == [{
        "namespace_id": team["group"].id, "namespace_name": "Team", "add_on": "Code Suggestions", "quantity": 10,
        "started_on": TODAY.isoformat(), "expires_on": (TODAY + dt.timedelta(days=365)).isoformat(), "purchase_xid": "A-12345", "trial": True}]
    # an update with only dates keeps quantity, xid and trial
    new_end = (TODAY + dt.timedelta(days=400)).isoformat()
    updated = cdot.create_add_on_purchases(id="team", body={"add_on_purchases": {"duo_pro": [{"started_on": TODAY.isoformat(), "expires_on": new_end, "quantity": 5}]}})
    assert (updated[0].quantity, updated[0].purchase_xid, updated[0].trial, str(updated[0].expires_on)) == (5, "A-12345", True, new_end)
    # Duo Enterprise with seats replaces Duo Pro in place
    upgraded = cdot.create_add_on_purchases(id="team", body={"add_on_purchases": {
        "duo_pro": [_purchase(quantity=3)], "duo_enterprise": [_purchase(quantity=7, purchase_xid="E-1")]}})
    assert [(p.add_on, p.quantity, p.purchase_xid) for p in upgraded] == [("Duo Enterprise", 7, "E-1")]
    with pytest.raises(NotFoundError) as error:
        cdot.get_add_on_purchase(id="team", add_on_name="code_suggestions")
    assert error.value.body == {"message": "404 Not found"}
    assert cdot.get_add_on_purchase(id="team", add_on_name="duo_enterprise").quantity == 7
    # deprovision: yesterday's dates, no quantity; quantity 0 is valid too (ruling 21)
    yesterday = (TODAY - dt.timedelta(days=1)).isoformat()
    gone = cdot.create_add_on_purchases(id="team", body={"add_on_purchases": {"duo_enterprise": [{"started_on": yesterday, "expires_on": yesterday, "quantity": 0}]}})
    assert (gone[0].quantity, str(gone[0].expires_on)) == (0, yesterday)
    assert cdot.create_add_on_purchases(id="team", body={"add_on_purchases": {}}) == []
    assert cdot.create_add_on_purchases(id="team", body={"add_on_purchases": {"product_analytics": [{"started_on": yesterday, "expires_on": yesterday}]}}) == []


def test_bulk_add_on_errors(cdot, team):
    with pytest.raises(BadRequestError) as error:
        cdot.create_add_on_purchases(id="team", body={"add_on_purchases": {"duo_pro": [_purchase(purchase_xid=None)]}})
    assert error.value.body == {"message": {"purchase_xid": ["can't be blank"]}}
    with pytest.raises(BadRequestError) as error:
        cdot.create_add_on_purchases(id="team", body={"add_on_purchases": {"duo_pro": [_purchase(quantity=-1)]}})
    assert error.value.body == {"error": "add_on_purchases[duo_pro][0][quantity] is invalid"}
    with pytest.raises(BadRequestError) as error:
        cdot.create_add_on_purchases(id="team/sub", body={"add_on_purchases": {"duo_pro": [_purchase()]}})
    assert error.value.body == {"message": "400 Bad request - Namespace Sub is not a root namespace"}
    with pytest.raises(BadRequestError) as error:
        cdot.create_add_on_purchases(id="team", body={"add_on_purchases": {"duo_core": [_purchase()], "duo_pro": [_purchase(purchase_xid=None)]}})
    with pytest.raises(NotFoundError) as error:
        cdot.get_add_on_purchase(id="team", add_on_name="duo_core")  # all or nothing: the duo_core purchase was not kept
    with pytest.raises(NotFoundError) as error:
        cdot.get_add_on_purchase(id="team", add_on_name="gold_plating")
    assert error.value.body == {"message": "404 Subscription Add-on Not Found"}
    with pytest.raises(NotFoundError) as error:
        cdot.create_add_on_purchases(id="missing", body={"add_on_purchases": {}})
    assert error.value.body == {"message": "404 Namespace Not Found"}


def test_deprecated_single_add_on_endpoints(cdot, gitlab_admin_client, team):
    created = gitlab_admin_client.create_add_on_purchase(id="team", add_on_name="code_suggestions", body=_purchase(purchase_xid="C-00123456"))
    assert (created.add_on, created.quantity) == ("Code Suggestions", 10)
    with pytest.raises(BadRequestError) as error:
        gitlab_admin_client.create_add_on_purchase(id="team", add_on_name="code_suggestions", body=_purchase())
    assert error.value.body == {"message": "400 Bad request - Add-on purchase for namespace Team and add-on Code Suggestions already exists, update the existing record"}
    updated = cdot.update_add_on_purchase(id="team", add_on_name="code_suggestions", body={"started_on": TODAY.isoformat(), "expires_on": TODAY.isoformat(), "quantity": 15})
    assert (updated.quantity, updated.purchase_xid) == (15, "C-00123456")
    assert cdot.get_add_on_purchase_deprecated(id="team", add_on_name="duo_pro").quantity == 15  # alias (ruling 12)
    with pytest.raises(BadRequestError) as error:
        cdot.update_add_on_purchase(id="team", add_on_name="duo_core", body={"started_on": TODAY.isoformat(), "expires_on": TODAY.isoformat()})
    assert error.value.body == {"message": "400 Bad request - Add-on purchase for namespace Team and add-on Duo Core does not exist, create a new record instead"}
    assert cdot.create_add_on_purchases_deprecated(id="team", body={"add_on_purchases": {}}) == []


# --- compute minutes packs -------------------------------------------------------------------------


def _packs(*xids, minutes=1000):
    return {"packs": [{"number_of_minutes": minutes, "expires_at": "2030-01-01", "purchase_xid": xid} for xid in xids]}


def test_minutes_packs_are_idempotent_and_all_or_nothing(cdot, team, python_gitlab):
    created = cdot.create_minutes_packs(id="team", body=_packs("xid-1", "xid-1", "xid-2"))
    assert [(p.purchase_xid, p.number_of_minutes, str(p.expires_at)) for p in created] == [
        ("xid-1", 1000, "2030-01-01"), ("xid-1", 1000, "2030-01-01"), ("xid-2", 1000, "2030-01-01")]
    again = cdot.create_minutes_packs_deprecated(id="team", body=_packs("xid-1", minutes=5))
    assert again[0].number_of_minutes == 1000  # returned unchanged
    with pytest.raises(BadRequestError) as error:
        cdot.create_minutes_packs(id="partners", body=_packs("xid-3", "xid-1"))  # xid-1 belongs to team
    assert error.value.body == {"message": "400 Bad request - Unable to save additional packs"}
    assert cdot.create_minutes_packs(id="partners", body=_packs("xid-3"))[0].namespace_id == team["partners"].id  # xid-3 was not kept
    with pytest.raises(BadRequestError) as error:
        cdot.create_minutes_packs(id="team", body={"packs": [{"number_of_minutes": 1, "expires_at": "2030-01-01"}]})
    assert error.value.body == {"error": "packs[0][purchase_xid] is missing"}


def test_move_minutes_packs(cdot, gitlab_admin_client, team, python_gitlab):
    cdot.create_minutes_packs(id="team", body=_packs("xid-1", "xid-2"))
    moved = cdot.move_minutes_packs(id="team", target_id="partners")  # root owns both
    assert moved.message == "202 Accepted"
    assert [p.namespace_id for p in cdot.create_minutes_packs(id="partners", body=_packs("xid-1", "xid-2"))] == [team["partners"].id] * 2
    assert gitlab_admin_client.move_minutes_packs_deprecated(id="team", target_id="partners").message == "202 Accepted"  # zero packs
    with pytest.raises(BadRequestError) as error:
        cdot.move_minutes_packs(id="team/sub", target_id="partners")
    assert error.value.body == {"message": "400 Bad request - Namespace must be a top-level namespace"}
    with pytest.raises(BadRequestError) as error:
        cdot.move_minutes_packs(id="team", target_id="team/sub")
    assert error.value.body == {"message": "400 Bad request - Target namespace must be a top-level namespace"}
    with pytest.raises(BadRequestError) as error:
        cdot.move_minutes_packs(id="team", target_id="bob")
    assert error.value.body == {"message": "400 Bad request - Both namespaces must share the same owner"}
    with pytest.raises(NotFoundError) as error:
        cdot.move_minutes_packs(id="team", target_id="nowhere")
    assert error.value.body == {"message": "404 Target namespace Not Found"}


# --- concurrency ---------------------------------------------------------------------------------


def _in_threads(count: int, work) -> list:
    results: list = [None] * count
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:  # collected and asserted below
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_simultaneous_bulk_add_on_posts_leave_one_consistent_purchase(clean_server, team):
    def post(index: int):
        with GitLabClient(clean_server.url, headers={"X-Customers-Dot-Internal-Token": _token()}, retry=NO_RETRY) as client:
            return client.create_add_on_purchases(id="team", body={"add_on_purchases": {
                "duo_pro": [_purchase(quantity=index + 1, purchase_xid=f"X-{index}")]}})

    results = _in_threads(8, post)
    assert all(isinstance(result, list) and len(result) == 1 for result in results), results
    with GitLabClient(clean_server.url, headers={"X-Customers-Dot-Internal-Token": _token()}, retry=NO_RETRY) as client:
        final = client.get_add_on_purchase(id="team", add_on_name="code_suggestions")
    # one purchase; it is what the last writer sent (quantity and xid of the same request)
    assert final.purchase_xid == f"X-{final.quantity - 1}"
    assert sorted(r[0].quantity for r in results) == list(range(1, 9))


def test_simultaneous_minutes_pack_moves_keep_every_pack_exactly_once(backend, clean_server, team):
    from sqlalchemy import text

    with GitLabClient(clean_server.url, headers={"X-Customers-Dot-Internal-Token": _token()}, retry=NO_RETRY) as client:
        client.create_minutes_packs(id="team", body=_packs(*(f"t-{i}" for i in range(5))))
        client.create_minutes_packs(id="partners", body=_packs(*(f"p-{i}" for i in range(5))))

    def move(index: int):
        source, target = ("team", "partners") if index % 2 == 0 else ("partners", "team")
        with GitLabClient(clean_server.url, headers={"X-Customers-Dot-Internal-Token": _token()}, retry=NO_RETRY) as client:
            return client.move_minutes_packs(id=source, target_id=target).message

    assert _in_threads(8, move) == ["202 Accepted"] * 8
    with backend.database.engine.connect() as connection:
        rows = connection.execute(text("SELECT purchase_xid, namespace_id FROM gl_ci_minutes_packs")).all()
    assert sorted(xid for xid, _ in rows) == sorted([f"t-{i}" for i in range(5)] + [f"p-{i}" for i in range(5)])
    assert {namespace_id for _, namespace_id in rows} <= {team["group"].id, team["partners"].id}


def test_simultaneous_pack_creation_with_one_purchase_xid(clean_server, team):
    def create(index: int):
        namespace = "team" if index % 2 == 0 else "partners"
        with GitLabClient(clean_server.url, headers={"X-Customers-Dot-Internal-Token": _token()}, retry=NO_RETRY) as client:
            try:
                return client.create_minutes_packs(id=namespace, body=_packs("shared-xid"))[0].namespace_id
            except BadRequestError as error:
                return error.body

    results = _in_threads(6, create)
    winners = {result for result in results if isinstance(result, int)}
    assert len(winners) == 1  # one namespace owns the pack; the other namespace's requests were refused, none failed
    assert all(result == {"message": "400 Bad request - Unable to save additional packs"} for result in results if not isinstance(result, int))


def test_simultaneous_first_reads_of_a_namespace_create_one_free_subscription(clean_server, python_gitlab):
    for index in range(4):
        python_gitlab.groups.create({"name": f"G{index}", "path": f"g{index}"})

    def read(_: int):
        with GitLabClient(clean_server.url, headers={"X-Customers-Dot-Internal-Token": _token()}, retry=NO_RETRY) as client:
            return [client.get_subscription_namespace(id=f"g{index}").plan for index in range(4)]

    assert _in_threads(8, read) == [["free"] * 4] * 8
    with GitLabClient(clean_server.url, headers={"X-Customers-Dot-Internal-Token": _token()}, retry=NO_RETRY) as client:
        assert all(client.get_gitlab_subscription(id=f"g{index}").plan.code == "free" for index in range(4))
