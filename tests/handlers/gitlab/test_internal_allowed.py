"""POST /internal/allowed through the generated client, with entities set up through python-gitlab."""

from __future__ import annotations

import hashlib

import pytest

from generated.gitlab.client import GitLabClient
from generated.runtime import NO_RETRY, BadRequestError, NotFoundError, UnauthorizedError
from tests.handlers.gitlab.internal_support import SHA_A, SHA_B, ZERO, group, project, user, user_with_key


@pytest.fixture
def world(python_gitlab):
    gl = python_gitlab
    g = group(gl, "acme")
    p = project(gl, g, "wget2")
    dev, dev_key = user_with_key(gl, "dev")
    rep, rep_key = user_with_key(gl, "rep")
    outsider, outsider_key = user_with_key(gl, "outsider")
    p.members.create({"user_id": dev.id, "access_level": 30})
    p.members.create({"user_id": rep.id, "access_level": 20})
    return {"gl": gl, "group": g, "project": p, "dev": dev, "dev_key": dev_key, "rep": rep, "rep_key": rep_key,
            "outsider": outsider, "outsider_key": outsider_key}  # fmt: skip


def allowed(client, **body):
    body.setdefault("protocol", "ssh")
    body.setdefault("changes", "_any")
    return client.internal_allowed(body=body)


def refused(client, error_type=UnauthorizedError, **body):
    with pytest.raises(error_type) as error:
        allowed(client, **body)
    return error.value.body


def test_gitlab_shell_pull_success_body(gitlab_internal, world):
    p, dev_key = world["project"], world["dev_key"]
    answer = allowed(gitlab_internal, key_id=str(dev_key.id), project="acme/wget2.git", action="git-upload-pack")
    digest = hashlib.sha256(str(p.id).encode()).hexdigest()
    assert answer.status is True
    assert answer.gl_repository == f"project-{p.id}"
    assert answer.gl_project_path == "acme/wget2"
    assert answer.gl_id == f"user-{world['dev'].id}"
    assert answer.gl_username == "dev"
    assert answer.gl_key_type == "key" and answer.gl_key_id == dev_key.id
    assert answer.git_config_options == ["uploadpack.allowFilter=true", "uploadpack.allowAnySHA1InWant=true"]
    assert answer.gitaly.repository.relative_path == f"@hashed/{digest[:2]}/{digest[2:4]}/{digest}.git"
    assert answer.gitaly.repository.gl_repository == f"project-{p.id}"
    assert answer.gitaly.repository.storage_name == "default"
    assert answer.gl_console_messages == []


def test_project_paths_and_gl_repository_resolve_the_same(gitlab_internal, world):
    p = world["project"]
    for where in ({"project": "/acme/wget2.git"}, {"project": "ACME/Wget2"}, {"gl_repository": f"project-{p.id}"},
                  {"gl_repository": f"project-{p.id}", "project": "nope/nope"}):  # fmt: skip
        answer = allowed(gitlab_internal, user_id=world["dev"].id, action="git-upload-pack", **where)
        assert answer.gl_repository == f"project-{p.id}"
    wiki = allowed(gitlab_internal, user_id=world["dev"].id, action="git-upload-pack", project="acme/wget2.wiki.git")
    assert wiki.gl_repository == f"wiki-{p.id}" and wiki.gl_project_path == "acme/wget2.wiki"
    assert wiki.gitaly.repository.relative_path.endswith(".wiki.git")


def test_actor_by_username_and_user_id(gitlab_internal, world):
    by_name = allowed(gitlab_internal, username="DEV", project="acme/wget2", action="git-receive-pack")
    assert by_name.gl_id == f"user-{world['dev'].id}" and by_name.gl_key_type is None
    by_id = allowed(gitlab_internal, user_id=str(world["dev"].id), project="acme/wget2", action="git-receive-pack")
    assert by_id.gl_username == "dev"


def test_refusals_are_401_with_status_false(gitlab_internal, world):
    body = refused(gitlab_internal, key_id=world["rep_key"].id, project="acme/wget2", action="git-receive-pack")
    assert body == {"status": False, "message": "You are not allowed to push code to this project."}
    body = refused(gitlab_internal, key_id=world["dev_key"].id, project="acme/wget2", action="git-annex-shell")
    assert body == {"status": False, "message": "The command you're trying to execute is not allowed."}


def test_unreadable_and_unknown_projects_are_404(gitlab_internal, world):
    expected = {"status": False, "message": "The project you were looking for could not be found."}
    assert refused(gitlab_internal, NotFoundError, key_id=world["outsider_key"].id, project="acme/wget2",
                   action="git-upload-pack") == expected  # fmt: skip
    assert refused(gitlab_internal, NotFoundError, key_id=world["dev_key"].id, project="acme/nothing",
                   action="git-upload-pack") == expected  # fmt: skip
    assert refused(gitlab_internal, NotFoundError, key_id=world["dev_key"].id, gl_repository="project-999999",
                   action="git-upload-pack") == expected  # fmt: skip
    # Unknown key ids are anonymous actors: private projects are not found for them either.
    assert refused(gitlab_internal, NotFoundError, key_id="424242", project="acme/wget2", action="git-upload-pack") == expected
    snippet = refused(gitlab_internal, NotFoundError, user_id=world["dev"].id, project="snippets/5", action="git-upload-pack")
    assert snippet == {"status": False, "message": "The snippet you were looking for could not be found."}


def test_public_projects_allow_anonymous_pulls(gitlab_internal, world):
    project(world["gl"], world["group"], "open", visibility="public")
    answer = allowed(gitlab_internal, project="acme/open", action="git-upload-pack")
    assert answer.gl_id == "" and answer.gl_username is None
    body = refused(gitlab_internal, project="acme/open", action="git-receive-pack")
    assert body["message"] == "You are not allowed to upload code for this project."


def test_internal_projects_let_signed_in_users_pull(gitlab_internal, world):
    project(world["gl"], world["group"], "inner", visibility="internal")
    assert allowed(gitlab_internal, key_id=world["outsider_key"].id, project="acme/inner", action="git-upload-archive").status
    body = refused(gitlab_internal, key_id=world["outsider_key"].id, project="acme/inner", action="git-receive-pack")
    assert body["message"] == "You are not allowed to push code to this project."
    refused(gitlab_internal, NotFoundError, project="acme/inner", action="git-upload-pack")


def test_guests_of_private_projects_cannot_download(gitlab_internal, world):
    guest, guest_key = user_with_key(world["gl"], "guest")
    world["project"].members.create({"user_id": guest.id, "access_level": 10})
    body = refused(gitlab_internal, key_id=guest_key.id, project="acme/wget2", action="git-upload-pack")
    assert body == {"status": False, "message": "You are not allowed to download code from this project."}


def test_group_membership_is_inherited(gitlab_internal, world):
    maint, key = user_with_key(world["gl"], "maint")
    world["group"].members.create({"user_id": maint.id, "access_level": 40})
    assert allowed(gitlab_internal, key_id=key.id, project="acme/wget2", action="git-receive-pack").status


def test_blocked_and_deactivated_users(gitlab_internal, world, clean_server):
    world["gl"].users.get(world["dev"].id).block()
    body = refused(gitlab_internal, key_id=world["dev_key"].id, project="acme/wget2", action="git-upload-pack")
    assert body == {"status": False, "message": "Your account has been blocked."}
    world["gl"].users.get(world["rep"].id).deactivate()
    body = refused(gitlab_internal, key_id=world["rep_key"].id, project="acme/wget2", action="git-upload-pack")
    assert body["message"] == ("Your account has been deactivated by your administrator. Please log back in from a "
                               "web browser to reactivate your account at http://127.0.0.1:8080")  # fmt: skip


def test_real_changes_are_checked_per_ref(gitlab_internal, world):
    key = world["dev_key"].id
    assert allowed(gitlab_internal, key_id=key, project="acme/wget2", action="git-receive-pack",
                   changes=f"{ZERO} {SHA_A} refs/heads/topic\n{SHA_A} {SHA_B} refs/tags/v1\n").status  # fmt: skip
    body = refused(gitlab_internal, key_id=key, project="acme/wget2", action="git-receive-pack",
                   changes=f"{SHA_A} {ZERO} refs/heads/main")  # fmt: skip
    assert body["message"] == "The default branch of a project cannot be deleted."


def test_parameter_errors_are_400(gitlab_internal, world):
    with pytest.raises(BadRequestError) as error:
        gitlab_internal.internal_allowed(body={"action": "git-upload-pack", "protocol": "ssh", "project": "acme/wget2"})
    assert error.value.body == {"error": "changes is missing"}
    assert refused(gitlab_internal, BadRequestError, gl_repository="project-foo", action="git-upload-pack") == {
        "error": "gl_repository is invalid"}


def test_refuses_without_the_secret(clean_server):
    with GitLabClient(clean_server.url, retry=NO_RETRY) as client, pytest.raises(UnauthorizedError) as error:
        allowed(client, project="acme/wget2", action="git-upload-pack")
    assert error.value.body == {"message": "401 Unauthorized"}


def test_keys_expiring_soon_get_a_console_message(gitlab_internal, world):
    import datetime as dt

    from tests.handlers.gitlab.internal_support import ssh_key

    line, _, _ = ssh_key()
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    key = world["dev"].keys.create({"title": "short-lived", "key": line, "expires_at": soon})
    answer = allowed(gitlab_internal, key_id=key.id, project="acme/wget2", action="git-upload-pack")
    assert answer.gl_console_messages == ["INFO: Your SSH key is expiring soon. Please generate a new key."]


def test_push_with_any_creates_a_missing_project(gitlab_internal, world):
    gl = world["gl"]
    member, member_key = user_with_key(gl, "groupdev")
    world["group"].members.create({"user_id": member.id, "access_level": 30})
    answer = allowed(gitlab_internal, key_id=member_key.id, project="acme/fresh.git", action="git-receive-pack")
    assert answer.gl_project_path == "acme/fresh"
    created = gl.projects.get("acme/fresh")
    assert created.visibility == "private" and answer.gl_repository == f"project-{created.id}"


def test_no_project_is_created_without_the_right_or_the_magic_string(gitlab_internal, world):
    gl = world["gl"]
    reporter, reporter_key = user_with_key(gl, "groupreporter")
    world["group"].members.create({"user_id": reporter.id, "access_level": 20})
    expected = {"status": False, "message": "The project you were looking for could not be found."}
    assert refused(gitlab_internal, NotFoundError, key_id=reporter_key.id, project="acme/nope",
                   action="git-receive-pack") == expected  # fmt: skip
    assert refused(gitlab_internal, NotFoundError, user_id=world["dev"].id, project="acme/nope", action="git-receive-pack",
                   changes=f"{ZERO} {SHA_A} refs/heads/main") == expected  # fmt: skip
    assert refused(gitlab_internal, NotFoundError, user_id=world["dev"].id, project="acme/nope", action="git-upload-pack") == expected
    assert refused(gitlab_internal, NotFoundError, user_id=world["dev"].id, project="lonely", action="git-receive-pack") == {
        "status": False, "message": "The namespace you were looking for could not be found."}
    with pytest.raises(Exception):
        gl.projects.get("acme/nope")
