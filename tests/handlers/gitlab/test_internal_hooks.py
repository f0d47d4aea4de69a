"""Gitaly's push hooks through the generated client: pre_receive / post_receive reference counters
(kept in the database, with expiry) and post-receive messages (broadcast banner, merge-request links)."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.gitlab.internal import InternalService
from generated.runtime import BadRequestError
from tests.handlers.gitlab.internal_support import SHA_A, SHA_B, ZERO, group, project


def counter(server, gl_repository: str, *, at: dt.datetime | None = None) -> int:
    with server.backend.database.session(write=False) as session:
        return InternalService(session).reference_counter(gl_repository, now=at or dt.datetime.now(dt.timezone.utc))


@pytest.fixture
def app_project(python_gitlab):
    return project(python_gitlab, group(python_gitlab, "acme"), "app", default_branch="main")


def test_reference_counter_goes_up_and_down_and_expires(gitlab_internal, clean_server, app_project):
    name = f"project-{app_project.id}"
    for _ in range(2):
        assert gitlab_internal.internal_pre_receive(body={"gl_repository": name}).reference_counter_increased is True
    assert counter(clean_server, name) == 2
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=601)
    assert counter(clean_server, name, at=later) == 0  # a push in flight is forgotten after 600 s
    answer = gitlab_internal.internal_post_receive(body={"gl_repository": name, "identifier": "user-1", "changes": ""})
    assert answer.reference_counter_decreased is True
    assert counter(clean_server, name) == 1
    gitlab_internal.internal_post_receive(body={"gl_repository": name, "identifier": "user-1"})
    gitlab_internal.internal_post_receive(body={"gl_repository": name, "identifier": "user-1"})
    assert counter(clean_server, name) == 0  # never below zero


def test_pre_receive_takes_any_string(gitlab_internal, clean_server):
    long_name = "x" * 500
    for name in ("whatever", long_name):
        assert gitlab_internal.internal_pre_receive(body={"gl_repository": name}).reference_counter_increased
        assert counter(clean_server, name) == 1
    assert gitlab_internal.internal_pre_receive(body={}).reference_counter_increased


def test_post_receive_merge_request_links(gitlab_internal, app_project):
    changes = "\n".join([
        f"{ZERO} {SHA_A} refs/heads/feature/new thing",
        f"{SHA_A} {SHA_B} refs/heads/main",
        f"{SHA_A} {ZERO} refs/heads/gone",
        f"{ZERO} {SHA_A} refs/tags/v1.0",
        f"{SHA_A} {SHA_B} refs/heads/topic",
    ]).replace("new thing", "new")  # fmt: skip
    answer = gitlab_internal.internal_post_receive(body={"gl_repository": f"project-{app_project.id}", "identifier": "user-1",
                                                         "changes": changes + "\n"})  # fmt: skip
    base = "http://127.0.0.1:8080/acme/app/-/merge_requests/new?merge_request%5Bsource_branch%5D="
    assert [m.model_dump() for m in answer.messages] == [
        {"message": f"To create a merge request for feature/new, visit:\n  {base}feature%2Fnew", "type": "basic"},
        {"message": f"To create a merge request for topic, visit:\n  {base}topic", "type": "basic"},
    ]


def test_post_receive_shows_the_broadcast_banner_first(gitlab_internal, python_gitlab, app_project):
    gl = python_gitlab
    window = {"starts_at": "2020-01-01T00:00:00Z", "ends_at": "2999-01-01T00:00:00Z"}
    gl.broadcastmessages.create({"message": "Everyone", **window})
    gl.broadcastmessages.create({"message": "Expired", "starts_at": "2020-01-01T00:00:00Z", "ends_at": "2020-01-02T00:00:00Z"})
    gl.broadcastmessages.create({"message": "Just a notification", "broadcast_type": "notification", **window})
    body = {"gl_repository": f"project-{app_project.id}", "identifier": "user-1", "changes": f"{ZERO} {SHA_A} refs/heads/x"}
    messages = gitlab_internal.internal_post_receive(body=body).messages
    assert [(m.type, m.message.split(",")[0]) for m in messages] == [("alert", "Everyone"), ("basic", "To create a merge request for x")]
    gl.broadcastmessages.create({"message": "Only acme", "target_path": "/acme/*", **window})
    gl.broadcastmessages.create({"message": "Only other", "target_path": "/other/*", **window})
    assert gitlab_internal.internal_post_receive(body=body).messages[0].message == "Only acme"


def test_post_receive_for_wikis_has_no_links(gitlab_internal, app_project):
    body = {"gl_repository": f"wiki-{app_project.id}", "identifier": "key-5", "changes": f"{ZERO} {SHA_A} refs/heads/x"}
    assert gitlab_internal.internal_post_receive(body=body).messages == []
    unknown = {"gl_repository": "project-999999", "identifier": "user-1", "changes": f"{ZERO} {SHA_A} refs/heads/x"}
    assert gitlab_internal.internal_post_receive(body=unknown).messages == []


def test_post_receive_parameter_errors(gitlab_internal):
    with pytest.raises(BadRequestError) as error:
        gitlab_internal.internal_post_receive(body={"identifier": "user-1"})
    assert error.value.body == {"error": "gl_repository is missing"}
    with pytest.raises(BadRequestError) as error:
        gitlab_internal.internal_post_receive(body={"gl_repository": "project-x"})
    assert error.value.body == {"error": "gl_repository is invalid"}


def test_project_moved_and_created_notices_are_shown_once(gitlab_internal, python_gitlab, app_project, clean_server):
    from domain.gitlab.internal_entities import InternalEntityService
    from tests.handlers.gitlab.internal_support import user_with_key

    gl = python_gitlab
    dev, key = user_with_key(gl, "dev")
    gl.groups.get("acme").members.create({"user_id": dev.id, "access_level": 30})
    with clean_server.backend.database.session() as session:
        service = InternalEntityService(session)
        service.rename_project(service.project(app_project.id), name=None, path="renamed", now=dt.datetime.now(dt.timezone.utc))
    gitlab_internal.internal_allowed(body={"key_id": str(key.id), "project": "acme/app.git", "action": "git-receive-pack",
                                           "protocol": "ssh", "changes": "_any"})  # fmt: skip
    body = {"gl_repository": f"project-{app_project.id}", "identifier": f"key-{key.id}", "changes": f"{ZERO} {SHA_A} refs/heads/x"}
    messages = [m.message for m in gitlab_internal.internal_post_receive(body=body).messages]
    assert messages[1] == ("Project 'acme/app' was moved to 'acme/renamed'.\n\nPlease update your Git remote:\n\n"
                           "  git remote set-url origin git@127.0.0.1:acme/renamed.git\n")  # fmt: skip
    assert len(gitlab_internal.internal_post_receive(body=body).messages) == 1  # shown once

    created = gitlab_internal.internal_allowed(body={"user_id": dev.id, "project": "acme/brand-new", "action": "git-receive-pack",
                                                     "protocol": "http", "changes": "_any"})  # fmt: skip
    after = gitlab_internal.internal_post_receive(body={"gl_repository": created.gl_repository, "identifier": f"user-{dev.id}"})
    assert [m.model_dump() for m in after.messages] == [{"type": "basic", "message": (
        "\nThe private project acme/brand-new was successfully created.\n\nTo configure the remote, run:\n"
        "  git remote add origin http://127.0.0.1:8080/acme/brand-new.git\n\nTo view the project, visit:\n"
        "  http://127.0.0.1:8080/acme/brand-new\n\n")}]  # fmt: skip
