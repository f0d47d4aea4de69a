"""REST v4 projects in namespaces, and project members."""

from __future__ import annotations

import pytest

from generated.runtime import BadRequestError, ConflictError, NotFoundError


def test_projects_in_groups_and_user_namespaces(python_gitlab, gitlab_admin_client):
    group = python_gitlab.groups.create({"name": "Team", "path": "team"})
    project = python_gitlab.projects.create({"name": "My App", "namespace_id": group.id, "visibility": "public"})
    got = gitlab_admin_client.get_project(id="team/my-app")
    assert (got.id, got.path, got.path_with_namespace, got.visibility, got.namespace.kind) == (project.id, "my-app", "team/my-app", "public", "group")
    assert got.http_url_to_repo.endswith("/team/my-app.git")
    assert got.name_with_namespace == "Team / My App"
    sub = python_gitlab.groups.create({"name": "Sub", "path": "sub", "parent_id": group.id})
    nested = gitlab_admin_client.create_project(body={"name": "Deep", "namespace_id": sub.id})
    assert (nested.name_with_namespace, nested.path_with_namespace) == ("Team / Sub / Deep", "team/sub/deep")
    assert python_gitlab.projects.get("team/my-app").id == project.id
    # without namespace_id: the caller's own namespace; path only: the name follows it
    personal = gitlab_admin_client.create_project(body={"path": "dotfiles"})
    assert (personal.path_with_namespace, personal.name, personal.visibility, personal.namespace.kind) == ("root/dotfiles", "dotfiles", "private", "user")

    with pytest.raises(ConflictError):
        gitlab_admin_client.create_project(body={"name": "My App", "namespace_id": group.id})
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.create_project(body={"name": "x", "namespace_id": 9999})
    assert error.value.body == {"message": "404 Namespace Not Found"}
    with pytest.raises(BadRequestError) as error:
        gitlab_admin_client.create_project(body={"namespace_id": group.id})
    assert set(error.value.body) == {"error"}  # neither name nor path
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.get_project(id="team/nothing")
    assert error.value.body == {"message": "404 Project Not Found"}


def test_project_members(python_gitlab, gitlab_admin_client):
    project = python_gitlab.projects.create({"name": "App"})
    alice = python_gitlab.users.create({"email": "alice@example.com", "username": "alice", "name": "Alice"})
    project.members.create({"user_id": alice.id, "access_level": 20})
    assert [(m.username, m.access_level) for m in gitlab_admin_client.list_project_members(id=str(project.id))] == [("alice", 20)]
    member = project.members.get(alice.id)
    member.access_level = 40
    member.save()
    assert gitlab_admin_client.get_project_member(id="root/app", user_id=alice.id).access_level == 40
    project.members.delete(alice.id)
    assert gitlab_admin_client.list_project_members(id="root/app") == []
    with pytest.raises(NotFoundError):
        gitlab_admin_client.remove_project_member(id="root/app", user_id=alice.id)


def test_list_projects(python_gitlab, gitlab_admin_client):
    for name in ("One", "Two", "Three"):
        python_gitlab.projects.create({"name": name})
    assert [p.path_with_namespace for p in python_gitlab.projects.list(get_all=True)] == ["root/one", "root/two", "root/three"]
    assert [p.name for p in gitlab_admin_client.list_projects(search="TWO")] == ["Two"]
    assert len(gitlab_admin_client.list_projects(per_page=2, page=2)) == 1


def test_edit_project_renames_and_keeps_the_old_path(python_gitlab, gitlab_admin_client):
    group = python_gitlab.groups.create({"name": "Team", "path": "team"})
    project = python_gitlab.projects.create({"name": "App", "namespace_id": group.id})
    project.path, project.name, project.visibility = "web-app", "Web App", "internal"
    project.save()  # python-gitlab PUTs the changed attributes
    got = gitlab_admin_client.get_project(id="team/web-app")
    assert (got.id, got.name, got.visibility) == (project.id, "Web App", "internal")
    assert gitlab_admin_client.get_project(id="team/app").path_with_namespace == "team/web-app"  # the old path redirects
    edited = gitlab_admin_client.edit_project(id=str(project.id), body={"description": "The site", "default_branch": "trunk"})
    assert (edited.description, edited.default_branch, edited.path) == ("The site", "trunk", "web-app")
    python_gitlab.projects.create({"name": "Other", "namespace_id": group.id})
    with pytest.raises(ConflictError) as error:
        gitlab_admin_client.edit_project(id="team/other", body={"path": "web-app"})
    assert error.value.body == {"message": {"path": ["has already been taken"]}}
    with pytest.raises(NotFoundError):
        gitlab_admin_client.edit_project(id="team/none", body={"name": "x"})
