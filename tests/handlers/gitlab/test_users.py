"""REST v4 users, SSH keys and personal access tokens: python-gitlab sets up, the generated client asserts."""

from __future__ import annotations

import gitlab
import pytest

from generated.gitlab.client import GitLabClient
from generated.runtime import NO_RETRY, BadRequestError, ConflictError, ForbiddenError, NotFoundError, UnauthorizedError

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f alice@laptop"


def _alice(python_gitlab, **extra):
    return python_gitlab.users.create({"email": "alice@example.com", "username": "alice", "name": "Alice",
                                       "password": "s3cret-pass", **extra})  # fmt: skip


def test_create_get_and_list_users(python_gitlab, gitlab_admin_client):
    alice = _alice(python_gitlab)
    bot = python_gitlab.users.create({"email": "bot@example.com", "username": "helper-bot", "name": "Helper", "bot": True})
    admin = python_gitlab.users.create({"email": "ops@example.com", "username": "ops", "name": "Ops", "admin": True})

    got = gitlab_admin_client.get_user(id=alice.id)
    assert (got.username, got.name, got.state, got.email, got.is_admin, got.bot) == ("alice", "Alice", "active", "alice@example.com", False, False)
    assert got.web_url.endswith("/alice")
    assert gitlab_admin_client.get_user(id=bot.id).bot is True
    assert gitlab_admin_client.get_user(id=admin.id).is_admin is True
    # the personal namespace exists and is addressable by the username
    assert gitlab_admin_client.get_namespace(id="alice").kind == "user"
    assert got.namespace_id == gitlab_admin_client.get_namespace(id="alice").id

    assert [u.username for u in gitlab_admin_client.list_users(username="ALICE")] == ["alice"]
    assert [u.username for u in python_gitlab.users.list(get_all=True)] == ["ops", "helper-bot", "alice", "root"]
    page = python_gitlab.users.list(per_page=2, iterator=True)
    assert (page.total, page.total_pages, page.next_page) == (4, 2, 2)
    assert [u.username for u in page] == ["ops", "helper-bot", "alice", "root"]  # follows the Link header


def test_create_user_conflicts_and_validation(python_gitlab, gitlab_admin_client):
    _alice(python_gitlab)
    with pytest.raises(ConflictError) as error:
        gitlab_admin_client.create_user(body={"email": "ALICE@example.com", "username": "other", "name": "x"})
    assert error.value.body == {"message": "Email has already been taken"}
    with pytest.raises(ConflictError) as error:
        gitlab_admin_client.create_user(body={"email": "new@example.com", "username": "Alice", "name": "x"})
    assert error.value.body == {"message": "Username has already been taken"}
    with pytest.raises(BadRequestError) as error:
        gitlab_admin_client.create_user(body={"email": "new@example.com", "name": "x"})
    assert error.value.body == {"error": "username is missing"}


def test_block_unblock_deactivate_activate(python_gitlab, gitlab_admin_client):
    alice = _alice(python_gitlab)
    assert alice.block() is True
    assert gitlab_admin_client.get_user(id=alice.id).state == "blocked"
    with pytest.raises(ForbiddenError) as error:
        gitlab_admin_client.deactivate_user(id=alice.id)
    assert error.value.body == {"message": "403 Forbidden - A blocked user cannot be deactivated by the API"}
    with pytest.raises(ForbiddenError):
        gitlab_admin_client.activate_user(id=alice.id)
    assert alice.unblock() is True
    assert alice.deactivate() is True
    assert gitlab_admin_client.get_user(id=alice.id).state == "deactivated"
    with pytest.raises(ForbiddenError) as error:
        gitlab_admin_client.unblock_user(id=alice.id)
    assert error.value.body == {"message": "403 Forbidden - Deactivated users cannot be unblocked by the API"}
    assert gitlab_admin_client.activate_user(id=alice.id) is True
    assert gitlab_admin_client.get_user(id=alice.id).state == "active"
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.block_user(id=999)
    assert error.value.body == {"message": "404 User Not Found"}


def test_ssh_keys_with_fingerprints(python_gitlab, gitlab_admin_client):
    alice = _alice(python_gitlab)
    key = alice.keys.create({"title": "laptop", "key": ED25519})
    assert key.key == ED25519
    assert [k.title for k in gitlab_admin_client.list_user_keys(id=alice.id)] == ["laptop"]
    assert gitlab_admin_client.get_user_key(id=alice.id, key_id=key.id).usage_type == "auth_and_signing"
    with pytest.raises(ConflictError) as error:
        gitlab_admin_client.create_user_key(id=alice.id, body={"title": "again", "key": ED25519})
    assert error.value.body == {"message": {"fingerprint_sha256": ["has already been taken"]}}
    with pytest.raises(BadRequestError) as error:
        gitlab_admin_client.create_user_key(id=alice.id, body={"title": "bad", "key": "ssh-rsa nope"})
    assert error.value.body == {"error": "key is invalid"}
    gitlab_admin_client.delete_user_key(id=alice.id, key_id=key.id)
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.get_user_key(id=alice.id, key_id=key.id)
    assert error.value.body == {"message": "404 Key Not Found"}


def test_personal_access_tokens_authenticate(python_gitlab, gitlab_admin_client, clean_server):
    alice = _alice(python_gitlab)
    created = gitlab_admin_client.create_user_personal_access_token(id=alice.id, body={"name": "ci", "scopes": ["api"]})
    assert created.token.startswith("glpat-") and created.scopes == ["api"] and created.active
    # alice's token authenticates, but alice is no administrator: 403
    with GitLabClient(clean_server.url, headers={"PRIVATE-TOKEN": created.token}, retry=NO_RETRY) as as_alice:
        with pytest.raises(ForbiddenError) as error:
            as_alice.get_user(id=alice.id)
    assert error.value.body == {"message": "403 Forbidden"}
    python_gitlab.users.get(alice.id).block()
    with GitLabClient(clean_server.url, headers={"Authorization": f"Bearer {created.token}"}, retry=NO_RETRY) as blocked:
        with pytest.raises(UnauthorizedError):
            blocked.get_user(id=alice.id)


def test_no_token_is_401(clean_server):
    with GitLabClient(clean_server.url, retry=NO_RETRY) as anonymous, pytest.raises(UnauthorizedError) as error:
        anonymous.list_users()
    assert error.value.body == {"message": "401 Unauthorized"}
    with pytest.raises(gitlab.exceptions.GitlabAuthenticationError):
        gitlab.Gitlab(clean_server.url, private_token="wrong").users.list()


def test_modify_user_and_rename_moves_the_namespace(python_gitlab, gitlab_admin_client):
    alice = _alice(python_gitlab)
    project = python_gitlab.projects.create({"name": "Dots", "namespace_id": gitlab_admin_client.get_namespace(id="alice").id})
    alice.name, alice.username = "Alice B.", "alice-b"
    alice.save()  # python-gitlab PUTs the changed attributes
    got = gitlab_admin_client.get_user(id=alice.id)
    assert (got.name, got.username, got.is_admin) == ("Alice B.", "alice-b", False)
    assert gitlab_admin_client.get_project(id="alice-b/dots").id == project.id
    assert gitlab_admin_client.modify_user(id=alice.id, body={"admin": True}).is_admin is True
    python_gitlab.users.create({"email": "bob@example.com", "username": "bob", "name": "Bob"})
    with pytest.raises(ConflictError) as error:
        gitlab_admin_client.modify_user(id=alice.id, body={"username": "BOB"})
    assert error.value.body == {"message": "Username has already been taken"}
    with pytest.raises(NotFoundError):
        gitlab_admin_client.modify_user(id=999, body={"name": "x"})


def test_keys_by_id_and_fingerprint(python_gitlab, gitlab_admin_client):
    alice = _alice(python_gitlab)
    key = alice.keys.create({"title": "laptop", "key": ED25519})
    by_id = gitlab_admin_client.get_key(id=key.id)
    assert (by_id.title, by_id.user.username) == ("laptop", "alice")
    by_sha = gitlab_admin_client.get_key_by_fingerprint(fingerprint="SHA256:ZkAslGjFiUHdGf/WUL8rQvkib4PTvQatUV0OUQSncCA")
    by_md5 = python_gitlab.keys.get(fingerprint="0f:a2:0a:d7:38:3e:65:45:08:6b:63:84:1c:ff:dc:ba")
    assert by_sha.id == by_md5.id == key.id
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.get_key(id=key.id + 100)
    assert error.value.body == {"message": "404 Not found"}
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.get_key_by_fingerprint(fingerprint="SHA256:nothing")
    assert error.value.body == {"message": "404 Key Not Found"}


def test_list_and_revoke_personal_access_tokens(python_gitlab, gitlab_admin_client, clean_server):
    alice = _alice(python_gitlab)
    token = gitlab_admin_client.create_user_personal_access_token(id=alice.id, body={"name": "ci", "scopes": ["read_api"]})
    listed = gitlab_admin_client.list_personal_access_tokens(user_id=alice.id)
    assert [(t.name, t.scopes, t.active, t.revoked) for t in listed] == [("ci", ["read_api"], True, False)]
    assert listed[0].token is None  # never shown again
    assert {t.name for t in python_gitlab.personal_access_tokens.list(get_all=True)} == {"ci", "TOLLGATE_GITLAB_ROOT_TOKEN"}
    gitlab_admin_client.revoke_personal_access_token(id=token.id)
    assert gitlab_admin_client.list_personal_access_tokens(user_id=alice.id)[0].revoked is True
    with GitLabClient(clean_server.url, headers={"PRIVATE-TOKEN": token.token}, retry=NO_RETRY) as revoked:
        with pytest.raises(UnauthorizedError):
            revoked.list_users()
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.revoke_personal_access_token(id=token.id)
    assert error.value.body == {"message": "404 Personal Access Token Not Found"}


def test_simultaneous_creations_of_one_username_give_one_user_and_409s(clean_server):
    import threading

    barrier, results = threading.Barrier(6), []

    def create(index: int) -> None:
        with GitLabClient(clean_server.url, headers={"PRIVATE-TOKEN": "test-root-token"}, retry=NO_RETRY) as client:
            barrier.wait()
            try:
                results.append(client.create_user(body={"email": f"same{index}@example.com", "username": "same", "name": "Same"}).username)
            except ConflictError as error:
                results.append(error.body)

    threads = [threading.Thread(target=create, args=(index,)) for index in range(6)]
    [thread.start() for thread in threads]
    [thread.join(timeout=60) for thread in threads]
    assert sorted(map(str, results)) == sorted(["same"] + [str({"message": "Username has already been taken"})] * 5)
