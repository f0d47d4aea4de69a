"""REST v4 entities of the internal API through python-gitlab and the generated client: deploy keys,
protected branches (and their effect on /internal/allowed), broadcast messages, cluster agents, 2FA."""

from __future__ import annotations

import pytest
import gitlab as python_gitlab_module

from generated.runtime import ConflictError, ForbiddenError, NotFoundError
from tests.handlers.gitlab.internal_support import SHA_A, SHA_B, ZERO, group, project, ssh_key, user, user_with_key


@pytest.fixture
def acme(python_gitlab):
    g = group(python_gitlab, "acme")
    return python_gitlab, project(python_gitlab, g, "app")


def allowed(client, **body):
    body.setdefault("protocol", "ssh")
    body.setdefault("changes", "_any")
    try:
        answer = client.internal_allowed(body=body)
        return "ok", answer
    except Exception as error:  # noqa: BLE001 - the refusal body is what the test compares
        return getattr(error, "status", None), error.body


# --- deploy keys -----------------------------------------------------------------------------------
def test_deploy_keys_crud_with_python_gitlab(acme):
    gl, p = acme
    line, _, md5 = ssh_key()
    key = p.keys.create({"title": "deployer", "key": line, "can_push": True})
    assert key.id > 1_000_000 and key.can_push is True and key.fingerprint == md5
    assert [k.id for k in p.keys.list()] == [key.id]
    key.can_push = False
    key.title = "reader"
    key.save()
    fetched = p.keys.get(key.id)
    assert fetched.can_push is False and fetched.title == "reader"
    # The same key added to another project is the same deploy key, enabled there too.
    other = project(gl, gl.groups.get("acme"), "other")
    again = other.keys.create({"title": "deployer", "key": line})
    assert again.id == key.id
    p.keys.delete(key.id)
    with pytest.raises(python_gitlab_module.GitlabGetError) as error:
        p.keys.get(key.id)
    assert error.value.response_code == 404
    assert [k.id for k in other.keys.list()] == [key.id]


def test_deploy_key_enable_and_conflicts(acme, gitlab_admin_client):
    gl, p = acme
    owner, owner_key = user_with_key(gl, "owner")
    with pytest.raises(ConflictError) as error:
        gitlab_admin_client.add_project_deploy_key(id=str(p.id), body={"title": "x", "key": owner_key.key})
    assert error.value.body == {"message": {"fingerprint_sha256": ["has already been taken"]}}
    line, _, _ = ssh_key()
    other = project(gl, gl.groups.get("acme"), "other")
    key = other.keys.create({"title": "k", "key": line, "can_push": True})
    p.keys.enable(key.id)
    assert p.keys.get(key.id).can_push is False
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.enable_project_deploy_key(id=str(p.id), key_id=1_999_999)
    assert error.value.body == {"message": "404 Deploy Key Not Found"}


@pytest.mark.parametrize("visibility", ["private", "internal", "public"])
def test_deploy_keys_in_allowed(python_gitlab, gitlab_internal, visibility):
    gl = python_gitlab
    p = project(gl, group(gl, "acme"), "app", visibility=visibility)
    elsewhere = project(gl, gl.groups.get("acme"), "elsewhere")
    reader_line, _, _ = ssh_key()
    writer_line, _, _ = ssh_key()
    stranger_line, _, _ = ssh_key()
    reader = p.keys.create({"title": "reader", "key": reader_line})
    writer = p.keys.create({"title": "writer", "key": writer_line, "can_push": True})
    stranger = elsewhere.keys.create({"title": "stranger", "key": stranger_line, "can_push": True})

    status, body = allowed(gitlab_internal, key_id=str(writer.id), project="acme/app", action="git-receive-pack",
                           changes=f"{SHA_A} {ZERO} refs/heads/main")  # fmt: skip
    assert status == "ok" and body.gl_key_type == "deploy_key" and body.gl_key_id == writer.id
    assert body.gl_id == "user-1"  # the admin who added it
    assert allowed(gitlab_internal, key_id=reader.id, project="acme/app", action="git-upload-pack")[0] == "ok"
    assert allowed(gitlab_internal, key_id=reader.id, project="acme/app", action="git-receive-pack") == (
        401, {"status": False, "message": "This deploy key does not have write access to this project."})
    stranger_pull = allowed(gitlab_internal, key_id=stranger.id, project="acme/app", action="git-upload-pack")
    stranger_push = allowed(gitlab_internal, key_id=stranger.id, project="acme/app", action="git-receive-pack")
    if visibility == "public":
        assert stranger_pull[0] == "ok"
        assert stranger_push == (401, {"status": False, "message": "This deploy key does not have write access to this project."})
    else:
        not_found = (404, {"status": False, "message": "The project you were looking for could not be found."})
        assert stranger_pull == not_found and stranger_push == not_found


# --- protected branches ------------------------------------------------------------------------------
def test_protected_branches_with_python_gitlab(acme, gitlab_admin_client):
    gl, p = acme
    branch = p.protectedbranches.create({"name": "release/*", "push_access_level": 30, "merge_access_level": 40})
    assert branch.name == "release/*"
    assert branch.push_access_levels[0]["access_level"] == 30
    assert branch.push_access_levels[0]["access_level_description"] == "Developers + Maintainers"
    assert branch.allow_force_push is False
    with pytest.raises(ConflictError) as error:
        gitlab_admin_client.protect_branch(id="acme/app", body={"name": "release/*"})
    assert error.value.body == {"message": "Protected branch 'release/*' already exists"}
    fetched = p.protectedbranches.get("release/*")
    fetched.allow_force_push = True
    fetched.save()
    assert p.protectedbranches.get("release/*").allow_force_push is True
    assert [b.name for b in p.protectedbranches.list()] == ["release/*"]
    p.protectedbranches.delete("release/*")
    assert p.protectedbranches.list() == []


def test_protected_branches_in_allowed(acme, gitlab_internal):
    gl, p = acme
    dev, dev_key = user_with_key(gl, "dev")
    maint, maint_key = user_with_key(gl, "maint")
    p.members.create({"user_id": dev.id, "access_level": 30})
    p.members.create({"user_id": maint.id, "access_level": 40})
    p.protectedbranches.create({"name": "main"})
    p.protectedbranches.create({"name": "stable-*", "push_access_level": 30})
    p.protectedbranches.create({"name": "frozen", "push_access_level": 0, "merge_access_level": 0})

    def push(key, line):
        return allowed(gitlab_internal, key_id=key.id, project="acme/app", action="git-receive-pack", changes=line)

    assert push(dev_key, "_any")[0] == "ok"
    assert push(dev_key, f"{SHA_A} {SHA_B} refs/heads/main") == (
        401, {"status": False, "message": "You are not allowed to push code to protected branches on this project."})
    assert push(maint_key, f"{SHA_A} {SHA_B} refs/heads/main")[0] == "ok"
    assert push(dev_key, f"{SHA_A} {SHA_B} refs/heads/stable-1")[0] == "ok"
    assert push(dev_key, f"{ZERO} {SHA_A} refs/heads/frozen") == (
        401, {"status": False, "message": "You are not allowed to create protected branches on this project."})
    assert push(maint_key, f"{SHA_A} {SHA_B} refs/heads/frozen")[1]["message"] == (
        "You are not allowed to push code to protected branches on this project.")
    assert push(dev_key, f"{SHA_A} {ZERO} refs/heads/stable-1")[1]["message"] == (
        "You are not allowed to delete protected branches from this project. "
        "Only a project maintainer or owner can delete a protected branch.")
    assert push(maint_key, f"{SHA_A} {ZERO} refs/heads/stable-1")[1]["message"] == (
        "You can only delete protected branches using the web interface.")
    assert push(maint_key, f"{SHA_A} {ZERO} refs/heads/topic")[0] == "ok"


# --- broadcast messages --------------------------------------------------------------------------------
def test_broadcast_messages_with_python_gitlab(python_gitlab, gitlab_admin_client):
    gl = python_gitlab
    message = gl.broadcastmessages.create({"message": "Maintenance tonight", "starts_at": "2020-01-01T00:00:00Z",
                                           "ends_at": "2999-01-01T00:00:00Z"})  # fmt: skip
    assert message.active is True and message.broadcast_type == "banner" and message.color == "#E75E40"
    message.message = "Maintenance tomorrow"
    message.save()
    assert gl.broadcastmessages.get(message.id).message == "Maintenance tomorrow"
    assert [m.id for m in gl.broadcastmessages.list()] == [message.id]
    never = gitlab_admin_client.create_broadcast_message(body={"message": "x", "starts_at": "2030-01-01T00:00:00Z",
                                                               "ends_at": "2029-01-01T00:00:00Z"})  # fmt: skip
    assert never.active is False
    gitlab_admin_client.delete_broadcast_message(id=never.id)
    gl.broadcastmessages.delete(message.id)
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.get_broadcast_message(id=message.id)
    assert error.value.body == {"message": "404 Broadcast Message Not Found"}


# --- cluster agents ------------------------------------------------------------------------------------
def test_cluster_agents_and_tokens(acme, gitlab_admin_client):
    gl, p = acme
    agent = p.cluster_agents.create({"name": "prod-agent"})
    assert agent.config_project["path_with_namespace"] == "acme/app"
    assert [a.name for a in p.cluster_agents.list()] == ["prod-agent"]
    token = gitlab_admin_client.create_cluster_agent_token(id=str(p.id), agent_id=agent.id, body={"name": "t1"})
    assert token.token and token.status == "active"
    listed = gitlab_admin_client.list_cluster_agent_tokens(id=str(p.id), agent_id=agent.id)
    assert [t.id for t in listed] == [token.id] and listed[0].token is None
    gitlab_admin_client.revoke_cluster_agent_token(id=str(p.id), agent_id=agent.id, token_id=token.id)
    assert gitlab_admin_client.list_cluster_agent_tokens(id=str(p.id), agent_id=agent.id) == []
    with pytest.raises(python_gitlab_module.GitlabCreateError) as error:
        p.cluster_agents.create({"name": "prod-agent"})
    assert error.value.response_code == 400
    p.cluster_agents.delete(agent.id)
    assert p.cluster_agents.list() == []


# --- admin only ----------------------------------------------------------------------------------------
def test_entities_need_an_admin(acme, clean_server):
    gl, p = acme
    someone = user(gl, "someone")
    token = someone.personal_access_tokens.create({"name": "t", "scopes": ["api"]}).token
    from generated.gitlab.client import GitLabClient
    from generated.runtime import NO_RETRY

    with GitLabClient(clean_server.url, headers={"PRIVATE-TOKEN": token}, retry=NO_RETRY) as client:
        with pytest.raises(ForbiddenError):
            client.list_protected_branches(id=str(p.id))
        with pytest.raises(ForbiddenError):
            client.set_user_two_factor(id=someone.id, body={"two_factor_enabled": True})


# --- project rename ------------------------------------------------------------------------------------
def rename(server, project_id: int, **changes):
    """Renames go through the domain service: `PUT /projects/:id` belongs to the Projects tag (entity model)."""
    import datetime as dt

    from domain.gitlab.internal_entities import InternalEntityService

    with server.backend.database.session() as session:
        service = InternalEntityService(session)
        service.rename_project(service.project(project_id), name=changes.get("name"), path=changes.get("path"),
                               now=dt.datetime.now(dt.timezone.utc))  # fmt: skip


def test_renamed_projects_keep_answering_on_their_old_path(acme, gitlab_internal, clean_server):
    gl, p = acme
    dev, dev_key = user_with_key(gl, "dev")
    p.members.create({"user_id": dev.id, "access_level": 30})
    rename(clean_server, p.id, name="Application", path="application")
    renamed = gl.projects.get(p.id)
    assert (renamed.name, renamed.path_with_namespace) == ("Application", "acme/application")
    for path in ("acme/app.git", "acme/application.git", "ACME/App"):
        status, body = allowed(gitlab_internal, key_id=dev_key.id, project=path, action="git-upload-pack")
        assert status == "ok" and body.gl_project_path == "acme/application"
    lfs = gitlab_internal.internal_lfs_authenticate(body={"key_id": dev_key.id, "project": "acme/app"})
    assert lfs.repository_http_path == "http://127.0.0.1:8080/acme/application.git"
    # A new project at the old path takes it over.
    newcomer = project(gl, gl.groups.get("acme"), "app")
    status, body = allowed(gitlab_internal, user_id=1, project="acme/app", action="git-upload-pack")
    assert body.gl_repository == f"project-{newcomer.id}"
    from domain.errors import ConflictError as TakenError

    with pytest.raises(TakenError) as error:
        rename(clean_server, p.id, path="app")
    assert error.value.body == {"message": {"path": ["has already been taken"]}}


def test_two_factor_extension_shows_on_the_user(acme, gitlab_admin_client, python_gitlab):
    gl, _ = acme
    someone = user(gl, "twofactor")
    assert python_gitlab.users.get(someone.id).two_factor_enabled is False
    gitlab_admin_client.set_user_two_factor(id=someone.id, body={"two_factor_enabled": True})
    assert python_gitlab.users.get(someone.id).two_factor_enabled is True
    gitlab_admin_client.set_user_two_factor(id=someone.id, body={"two_factor_enabled": False})
    assert python_gitlab.users.get(someone.id).two_factor_enabled is False
