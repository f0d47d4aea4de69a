"""Tollgate's own GitLab internal tables on SQLite and PostgreSQL: reference counters with expiry,
concurrent counting, kas usage counters, hashed recovery codes, deploy key ids, token digests."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from domain.gitlab.internal import InternalService
from domain.gitlab.internal_entities import InternalEntityService, token_digest
from storage.gitlab_internal import DEPLOY_KEY_ID_BASE, GitlabInternalRepository
from tests.conftest import truncate_all

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def database(backend):
    truncate_all(backend.database)
    return backend.database


def test_reference_counter_lifecycle(database):
    with database.session() as session:
        service = InternalService(session)
        service.increase_reference_counter("project-1", now=NOW)
        service.increase_reference_counter("project-1", now=NOW + dt.timedelta(seconds=300))
        assert service.reference_counter("project-1", now=NOW + dt.timedelta(seconds=899)) == 2
        # The expiry is renewed by each increment: 600 s after the last one.
        assert service.reference_counter("project-1", now=NOW + dt.timedelta(seconds=900)) == 0
    with database.session() as session:
        service = InternalService(session)
        service.increase_reference_counter("project-1", now=NOW + dt.timedelta(seconds=1000))
        assert service.reference_counter("project-1", now=NOW + dt.timedelta(seconds=1000)) == 1  # restarted from 0
        service.decrease_reference_counter("project-1", now=NOW + dt.timedelta(seconds=1001))
        service.decrease_reference_counter("project-1", now=NOW + dt.timedelta(seconds=1002))
        assert service.reference_counter("project-1", now=NOW + dt.timedelta(seconds=1003)) == 0
        assert service.reference_counter("project-2", now=NOW) == 0


def test_concurrent_pre_receives_are_all_counted(database):
    def push() -> None:
        for _ in range(10):
            with database.session() as session:
                InternalService(session).increase_reference_counter("project-9", now=dt.datetime.now(dt.timezone.utc))

    threads = [threading.Thread(target=push) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.session(write=False) as session:
        assert InternalService(session).reference_counter("project-9", now=dt.datetime.now(dt.timezone.utc)) == 40


def test_kas_counters_add_up(database):
    with database.session() as session:
        repository = GitlabInternalRepository(session)
        repository.increment_counter("gitops_sync", 3)
        repository.increment_counter("gitops_sync", 2**31 - 1)
        repository.increment_counter("k8s_api_proxy_request", 1)
    with database.session(write=False) as session:
        assert GitlabInternalRepository(session).counters() == {"gitops_sync": 2**31 + 2, "k8s_api_proxy_request": 1}


def test_recovery_codes_are_stored_hashed_and_replaced(database):
    with database.session() as session:
        service = InternalService(session)
        first = service.regenerate_recovery_codes(7, now=NOW)
        stored = GitlabInternalRepository(session).two_factor(7)[1]
        assert not set(first) & set(stored)  # digests only
        assert all(service.recovery_code_valid(7, code) for code in first)
        second = service.regenerate_recovery_codes(7, now=NOW)
        assert not any(service.recovery_code_valid(7, code) for code in first)
        assert all(service.recovery_code_valid(7, code) for code in second)


def test_deploy_key_ids_live_above_user_key_ids(database):
    with database.session() as session:
        repository = GitlabInternalRepository(session)
        first = repository.add_deploy_key(user_id=None, title="a", key="ssh-ed25519 AAAA", md5="aa", sha256="s1", expires_at=None, now=NOW)
        second = repository.add_deploy_key(user_id=None, title="b", key="ssh-ed25519 BBBB", md5="bb", sha256="s2", expires_at=None, now=NOW)
        assert (first.id, second.id) == (DEPLOY_KEY_ID_BASE + 1, DEPLOY_KEY_ID_BASE + 2)


def test_agent_tokens_are_stored_as_digests(database):
    with database.session() as session:
        repository = GitlabInternalRepository(session)
        agent = repository.add_agent(project_id=1, name="a", user_id=None, now=NOW)
        repository.add_agent_token(agent_id=agent.id, name="t", description=None, digest=token_digest("secret-token"), user_id=None, now=NOW)
        service = InternalEntityService(session)
        assert service.agent_by_token("secret-token", now=NOW).id == agent.id
        assert service.agent_by_token("other", now=NOW) is None
        assert repository.agent_tokens(agent.id)[0].last_used_at == NOW


def test_expired_ssh_keys_still_pull_with_a_console_message(database):
    """Ruling 22: expired keys still work, with GitLab's console warning."""
    from domain.gitlab.members import PROJECT_SOURCE, MemberService
    from domain.gitlab.namespaces import NamespaceService
    from domain.gitlab.projects import ProjectService
    from domain.gitlab.users import UserService

    line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f alice@example"
    with database.session() as session:
        users = UserService(session)
        alice = users.create(username="alice", name="Alice", email="alice@example.com", admin=False, bot=False, now=NOW)
        key = users.add_key(alice.id, title="k", key=line, expires_at=NOW + dt.timedelta(days=30), usage_type="auth_and_signing", now=NOW)
        group = NamespaceService(session).create_group(name="G", path="g", parent_id=None, visibility="private", description="",
                                                       creator_id=None, now=NOW)  # fmt: skip
        project = ProjectService(session).create(namespace=group, name="p", path="p", visibility="private", description="",
                                                 default_branch="main", creator_id=None, now=NOW)  # fmt: skip
        MemberService(session).add(PROJECT_SOURCE, project.id, user_id=alice.id, access_level=30, expires_at=None,
                                   created_by_id=None, now=NOW)  # fmt: skip
        service = InternalService(session)
        later = NOW + dt.timedelta(days=31)
        actor = service.resolve_actor(key_id=str(key.id))
        answer = service.allowed(actor=actor, repository=service.resolve_repository(gl_repository=None, project="g/p"),
                                 action="git-upload-pack", changes="_any", protocol="ssh", now=later)  # fmt: skip
        assert answer["status"] is True
        assert answer["gl_console_messages"] == ["INFO: Your SSH key has expired. Please generate a new key."]
