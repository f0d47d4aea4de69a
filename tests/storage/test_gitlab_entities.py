"""The GitLab entity model on SQLite and PostgreSQL: namespaces, projects, members, sharing, keys and access levels."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import truncate_all
from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.gitlab.entities import DEVELOPER, GUEST, MAINTAINER, NO_ACCESS, OWNER, REPORTER, EntityReader
from domain.gitlab.members import GROUP_SOURCE, PROJECT_SOURCE, MemberService
from domain.gitlab.namespaces import NamespaceService
from domain.gitlab.projects import ProjectService
from domain.gitlab.users import UserService

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
TODAY = NOW.date()
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f alice@example"


@pytest.fixture
def session(backend):
    truncate_all(backend.database)
    with backend.database.session() as session:
        yield session


def _user(session, name: str, **kwargs):
    return UserService(session).create(username=name, name=name.title(), email=f"{name}@example.com", admin=False,
                                       bot=kwargs.get("bot", False), now=NOW)  # fmt: skip


def test_users_get_a_personal_namespace_and_unique_names(session):
    alice = _user(session, "alice")
    reader = EntityReader(session)
    assert reader.user_by_username("ALICE").id == alice.id
    namespace = reader.namespace("alice")
    assert (namespace.kind, namespace.owner_id, namespace.full_path) == ("user", alice.id, "alice")
    with pytest.raises(ConflictError):
        _user(session, "alice")


def test_ssh_key_fingerprints_are_gitlabs(session):
    alice = _user(session, "alice")
    key = UserService(session).add_key(alice.id, title="laptop", key=ED25519, expires_at=None, usage_type="auth_and_signing", now=NOW)
    assert key.key_type == "ssh-ed25519"
    # what `ssh-keygen -l -E sha256` and `-E md5` print for this key
    assert key.fingerprint_sha256 == "SHA256:ZkAslGjFiUHdGf/WUL8rQvkib4PTvQatUV0OUQSncCA"
    assert key.fingerprint_md5 == "0f:a2:0a:d7:38:3e:65:45:08:6b:63:84:1c:ff:dc:ba"
    reader = EntityReader(session)
    assert reader.ssh_key_by_fingerprint(key.fingerprint_sha256).id == key.id
    assert reader.ssh_key_by_fingerprint(key.fingerprint_md5).id == key.id
    with pytest.raises(ConflictError):
        UserService(session).add_key(alice.id, title="again", key=ED25519, expires_at=None, usage_type="auth", now=NOW)
    with pytest.raises(ValidationError):
        UserService(session).add_key(alice.id, title="bad", key="ssh-rsa AAAA", expires_at=None, usage_type="auth", now=NOW)


def test_effective_access_direct_inherited_and_shared(session):
    alice, bob, carol, dave = (_user(session, n) for n in ("alice", "bob", "carol", "dave"))
    groups = NamespaceService(session)
    top = groups.create_group(name="Top", path="top", parent_id=None, visibility="private", description="",
                              creator_id=alice.id, now=NOW)  # fmt: skip
    sub = groups.create_group(name="Sub", path="sub", parent_id=top.id, visibility="private", description="",
                              creator_id=None, now=NOW)  # fmt: skip
    partners = groups.create_group(name="Partners", path="partners", parent_id=None, visibility="private",
                                   description="", creator_id=None, now=NOW)  # fmt: skip
    project = ProjectService(session).create(namespace=sub, name="App", path=None, visibility="private", description="",
                                             default_branch="main", creator_id=alice.id, now=NOW)  # fmt: skip
    assert project.full_path == "top/sub/app"
    members = MemberService(session)
    members.add(PROJECT_SOURCE, project.id, user_id=bob.id, access_level=DEVELOPER, expires_at=None, created_by_id=None, now=NOW)
    members.add(GROUP_SOURCE, partners.id, user_id=carol.id, access_level=MAINTAINER, expires_at=None, created_by_id=None, now=NOW)
    groups.share(top, with_group_id=partners.id, group_access=REPORTER, expires_at=None, now=NOW)
    members.add(GROUP_SOURCE, sub.id, user_id=dave.id, access_level=GUEST, expires_at=TODAY, created_by_id=None, now=NOW)

    reader = EntityReader(session)
    found = reader.project("TOP/sub/app")
    assert reader.project_access_level(alice.id, found, today=TODAY) == OWNER  # creator of the top group
    assert reader.project_access_level(bob.id, found, today=TODAY) == DEVELOPER
    assert reader.project_access_level(carol.id, found, today=TODAY) == REPORTER  # capped by the link
    assert reader.project_access_level(dave.id, found, today=TODAY) == NO_ACCESS  # membership expired today
    with pytest.raises(ConflictError):
        members.add(PROJECT_SOURCE, project.id, user_id=bob.id, access_level=GUEST, expires_at=None, created_by_id=None, now=NOW)
    with pytest.raises(NotFoundError):
        groups.create_group(name="x", path="x", parent_id=9999, visibility="private", description="", creator_id=None, now=NOW)


def test_personal_project_owner_has_owner_access(session):
    alice, bob = _user(session, "alice"), _user(session, "bob")
    namespace = EntityReader(session).namespace("alice")
    project = ProjectService(session).create(namespace=namespace, name="Dots", path="dots", visibility="public",
                                             description="", default_branch="main", creator_id=alice.id, now=NOW)  # fmt: skip
    reader = EntityReader(session)
    assert reader.project_access_level(alice.id, project, today=TODAY) == OWNER
    assert reader.project_access_level(bob.id, project, today=TODAY) == NO_ACCESS


def test_sharing_counts_inherited_members_of_the_invited_group_until_the_link_expires(session):
    alice, bob = _user(session, "alice"), _user(session, "bob")
    groups = NamespaceService(session)
    product = groups.create_group(name="Product", path="product", parent_id=None, visibility="private", description="",
                                  creator_id=None, now=NOW)  # fmt: skip
    org = groups.create_group(name="Org", path="org", parent_id=None, visibility="private", description="", creator_id=None, now=NOW)
    team = groups.create_group(name="Team", path="team", parent_id=org.id, visibility="private", description="", creator_id=None, now=NOW)
    members = MemberService(session)
    members.add(GROUP_SOURCE, org.id, user_id=alice.id, access_level=OWNER, expires_at=None, created_by_id=None, now=NOW)
    members.add(GROUP_SOURCE, team.id, user_id=bob.id, access_level=GUEST, expires_at=None, created_by_id=None, now=NOW)
    groups.share(product, with_group_id=team.id, group_access=DEVELOPER, expires_at=TODAY + dt.timedelta(days=1), now=NOW)
    project = ProjectService(session).create(namespace=product, name="Site", path=None, visibility="private", description="",
                                             default_branch="main", creator_id=None, now=NOW)  # fmt: skip
    reader = EntityReader(session)
    assert reader.project_access_level(alice.id, project, today=TODAY) == DEVELOPER  # owner of team's parent, capped
    assert reader.project_access_level(bob.id, project, today=TODAY) == GUEST  # below the cap: keeps guest
    assert reader.group_access_level(alice.id, product, today=TODAY) == DEVELOPER
    tomorrow = TODAY + dt.timedelta(days=1)
    assert reader.project_access_level(alice.id, project, today=tomorrow) == NO_ACCESS  # the invitation expired
