"""GitLab Shell's other calls through the generated client: lfs_authenticate, authorized_keys, discover,
two_factor_recovery_codes, personal_access_token."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import jwt
import pytest

from domain.gitlab.internal import verify_lfs_token
from generated.runtime import BadRequestError, NotFoundError
from tests.conftest import SHELL_SECRET
from tests.handlers.gitlab.internal_support import group, project, ssh_key, user_with_key

VALID_SCOPES = '["api", "read_api", "read_registry", "read_repository", "read_user", "write_registry", "write_repository"]'


@pytest.fixture
def world(python_gitlab):
    gl = python_gitlab
    p = project(gl, group(gl, "acme"), "wget2")
    alice, alice_key = user_with_key(gl, "alice")
    line, _, _ = ssh_key()
    deploy = p.keys.create({"title": "ci", "key": line})
    return {"gl": gl, "project": p, "alice": alice, "alice_key": alice_key, "deploy": deploy, "deploy_line": line}


# --- LFS ---------------------------------------------------------------------------------------------
def test_lfs_token_for_a_user_key(gitlab_internal, world):
    answer = gitlab_internal.internal_lfs_authenticate(body={"key_id": str(world["alice_key"].id), "project": "acme/wget2.git"})
    assert answer.username == "alice"
    assert answer.repository_http_path == "http://127.0.0.1:8080/acme/wget2.git"
    assert answer.expires_in == 1800
    claims = jwt.decode(answer.lfs_token, options={"verify_signature": False})
    assert claims["data"] == {"actor": "alice"}
    assert claims["exp"] - claims["iat"] == 1800 and claims["iat"] - claims["nbf"] == 5
    assert verify_lfs_token(answer.lfs_token, "alice", base_secret=SHELL_SECRET) is not None
    assert verify_lfs_token(answer.lfs_token, "bob", base_secret=SHELL_SECRET) is None


def test_lfs_token_for_a_deploy_key_and_a_wiki(gitlab_internal, world):
    deploy = world["deploy"]
    answer = gitlab_internal.internal_lfs_authenticate(body={"key_id": deploy.id, "project": "acme/wget2.wiki"})
    assert answer.username == f"lfs+deploy-key-{deploy.id}"
    assert answer.repository_http_path == "http://127.0.0.1:8080/acme/wget2.wiki.git"
    by_user = gitlab_internal.internal_lfs_authenticate(body={"user_id": world["alice"].id, "gl_repository": f"project-{world['project'].id}"})
    assert by_user.username == "alice"


def test_lfs_not_found_messages(gitlab_internal, world):
    with pytest.raises(NotFoundError) as error:
        gitlab_internal.internal_lfs_authenticate(body={"key_id": world["alice_key"].id, "project": "acme/none"})
    assert error.value.body == {"message": "404 Not Found"}
    with pytest.raises(NotFoundError) as error:
        gitlab_internal.internal_lfs_authenticate(body={"key_id": "99999", "project": "acme/wget2"})
    assert error.value.body == {"message": "404 Not found"}
    with pytest.raises(NotFoundError):
        gitlab_internal.internal_lfs_authenticate(body={"project": "acme/wget2"})


# --- authorized keys ---------------------------------------------------------------------------------
def test_authorized_keys_by_blob_and_fingerprint(gitlab_internal, world):
    alice_key = world["alice_key"]
    blob = alice_key.key.split()[1]
    found = gitlab_internal.internal_authorized_keys(key=blob)
    assert found.id == alice_key.id and found.title == "alice key"
    assert found.key == f"ssh-ed25519 {blob} Alice (127.0.0.1)"
    deploy_blob = world["deploy_line"].split()[1]
    assert gitlab_internal.internal_authorized_keys(key=deploy_blob).id == world["deploy"].id
    fingerprint = world["deploy"].fingerprint
    assert gitlab_internal.internal_authorized_keys(fingerprint=fingerprint, key="ignored").id == world["deploy"].id


def test_authorized_keys_misses(gitlab_internal, world):
    for params in ({"key": "AAAAC3NzaC1lZDI1NTE5AAAAIHunk"}, {"key": "not base64 at all %%%"}, {"fingerprint": "ab:cd"}, {}):
        with pytest.raises(NotFoundError) as error:
            gitlab_internal.internal_authorized_keys(**params)
        assert error.value.body == {"message": "404 Key Not Found"}


# --- discover --------------------------------------------------------------------------------------------
def test_discover(gitlab_internal, world, clean_server):
    alice = world["alice"]
    expected = {"id": alice.id, "name": "Alice", "username": "alice"}
    assert gitlab_internal.internal_discover(key_id=str(world["alice_key"].id)).model_dump() == expected
    assert gitlab_internal.internal_discover(user_id=str(alice.id)).model_dump() == expected
    assert gitlab_internal.internal_discover(username="ALICE").model_dump() == expected
    assert gitlab_internal.internal_discover(key_id=str(world["deploy"].id)).username == "root"
    headers = {"Gitlab-Shared-Secret": __import__("base64").b64encode(SHELL_SECRET.encode()).decode()}
    for query in ("key_id=424242", "username=nobody", ""):
        response = httpx.get(f"{clean_server.url}/api/v4/internal/discover?{query}", headers=headers)
        assert response.status_code == 200 and response.json() is None and response.text == "null"
        assert response.headers["content-type"].startswith("application/json")


# --- 2FA recovery codes -------------------------------------------------------------------------------
def test_recovery_codes(gitlab_internal, gitlab_admin_client, world):
    alice, key = world["alice"], world["alice_key"]
    off = gitlab_internal.internal_two_factor_recovery_codes(body={"key_id": str(key.id)})
    assert off.model_dump(exclude_none=True) == {"success": False, "message": "Two-factor authentication is not enabled for this user"}
    gitlab_admin_client.set_user_two_factor(id=alice.id, body={"two_factor_enabled": True})
    first = gitlab_internal.internal_two_factor_recovery_codes(body={"key_id": str(key.id)})
    assert first.success is True and len(first.recovery_codes) == 10
    assert all(re.fullmatch(r"[0-9a-f]{16}", code) for code in first.recovery_codes)
    second = gitlab_internal.internal_two_factor_recovery_codes(body={"user_id": alice.id})
    assert second.success and set(second.recovery_codes).isdisjoint(first.recovery_codes)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"user_id": 424242}, "Could not find the given user"),
        ({}, "Could not find a user without a key"),
        ({"key_id": "424242"}, "Could not find the given key"),
        ({"username": "alice"}, "Could not find a user without a key"),
    ],
)
def test_recovery_code_actor_messages(gitlab_internal, world, body, message):
    answer = gitlab_internal.internal_two_factor_recovery_codes(body=body)
    assert answer.success is False and answer.message == message


def test_recovery_codes_refuse_deploy_keys(gitlab_internal, world):
    answer = gitlab_internal.internal_two_factor_recovery_codes(body={"key_id": world["deploy"].id})
    assert answer.message == "Deploy keys cannot be used to retrieve recovery codes"


# --- personal access tokens ------------------------------------------------------------------------------
def test_personal_access_token_is_created_and_works(gitlab_internal, world, clean_server):
    key = world["alice_key"]
    expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    answer = gitlab_internal.internal_personal_access_token(
        body={"key_id": str(key.id), "name": "cli", "scopes": ["read_api", "read_user"], "expires_at": expires})
    assert answer.success is True and answer.scopes == ["read_api", "read_user"]
    assert answer.expires_at.isoformat() == expires
    never = gitlab_internal.internal_personal_access_token(body={"user_id": world["alice"].id, "name": "n", "scopes": ["api"]})
    assert never.success and never.expires_at is None
    response = httpx.get(f"{clean_server.url}/api/v4/internal/check", headers={"PRIVATE-TOKEN": answer.token})
    assert response.status_code == 401  # a PAT is not the shared secret
    # The new token authenticates Alice (not an admin: 403), a made-up one nobody (401).
    from generated.gitlab.client import GitLabClient
    from generated.runtime import NO_RETRY, ForbiddenError, UnauthorizedError

    for token, refusal in ((never.token, ForbiddenError), (answer.token, ForbiddenError), ("made-up", UnauthorizedError)):
        with GitLabClient(clean_server.url, headers={"PRIVATE-TOKEN": token}, retry=NO_RETRY) as client:
            with pytest.raises(refusal):
                client.get_user(id=world["alice"].id)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"name": "t", "scopes": ["api"]}, "Could not find a user without a key"),
        ({"key_id": "424242", "name": "t", "scopes": ["api"]}, "Could not find the given key"),
        ({"user_id": 424242, "name": "t", "scopes": ["api"]}, "Could not find the given user"),
        ({"key_id": "{key}", "scopes": ["api"]}, "No token name specified"),
        ({"key_id": "{key}", "name": "  ", "scopes": ["api"]}, "No token name specified"),
        ({"key_id": "{key}", "name": "t"}, "No token scopes specified"),
        ({"key_id": "{key}", "name": "t", "scopes": []}, "No token scopes specified"),
        ({"key_id": "{key}", "name": "t", "scopes": ["read_api", "sudo"]}, f"Invalid scope: 'sudo'. Valid scopes are: {VALID_SCOPES}"),
        ({"key_id": "{key}", "name": "t", "scopes": ["api"], "expires_at": "invalid-date"}, "Invalid token expiry date: 'invalid-date'"),
        ({"key_id": "{key}", "name": "t", "scopes": ["api"], "expires_at": "2001-01-01"}, "Failed to create token: Expires at must be in the future"),
    ],
)
def test_personal_access_token_refusals(gitlab_internal, world, body, message):
    body = {name: (str(world["alice_key"].id) if value == "{key}" else value) for name, value in body.items()}
    answer = gitlab_internal.internal_personal_access_token(body=body)
    assert answer.success is False and answer.message == message


def test_personal_access_token_refuses_deploy_keys_first(gitlab_internal, world):
    answer = gitlab_internal.internal_personal_access_token(body={"key_id": world["deploy"].id})
    assert answer.message == "Deploy keys cannot be used to create personal access tokens"
