"""REST v4 groups, subgroups, group sharing and group members."""

from __future__ import annotations

import pytest

from generated.runtime import BadRequestError, ConflictError, NotFoundError


def _user(python_gitlab, name):
    return python_gitlab.users.create({"email": f"{name}@example.com", "username": name, "name": name.title()})


def test_groups_and_subgroups_by_id_and_path(python_gitlab, gitlab_admin_client):
    top = python_gitlab.groups.create({"name": "Top Group", "path": "top", "visibility": "internal"})
    sub = python_gitlab.groups.create({"name": "Sub", "path": "sub", "parent_id": top.id})
    got = gitlab_admin_client.get_group(id="top/sub")
    assert (got.id, got.full_path, got.full_name, got.parent_id, got.visibility) == (sub.id, "top/sub", "Top Group / Sub", top.id, "private")
    assert gitlab_admin_client.get_group(id=str(top.id)).visibility == "internal"
    assert python_gitlab.groups.get("top/sub").id == sub.id
    assert [g.full_path for g in gitlab_admin_client.list_groups()] == ["top", "top/sub"]
    # the creator (root) owns the new group
    assert [(m.username, m.access_level) for m in gitlab_admin_client.list_group_members(id="top")] == [("root", 50)]

    with pytest.raises(ConflictError) as error:
        gitlab_admin_client.create_group(body={"name": "Again", "path": "sub", "parent_id": top.id})
    assert error.value.body == {"message": {"path": ["has already been taken"]}}
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.create_group(body={"name": "Orphan", "path": "orphan", "parent_id": 9999})
    assert error.value.body == {"message": "404 Parent Group Not Found"}
    with pytest.raises(BadRequestError) as error:
        gitlab_admin_client.create_group(body={"name": "Bad", "path": "-bad"})
    assert error.value.body == {"error": "path is invalid"}
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.get_group(id="alice")  # a user namespace is no group
    assert error.value.body == {"message": "404 Group Not Found"}


def test_group_members(python_gitlab, gitlab_admin_client):
    group = python_gitlab.groups.create({"name": "Team", "path": "team"})
    alice = _user(python_gitlab, "alice")
    member = group.members.create({"user_id": alice.id, "access_level": 30})
    assert member.access_level == 30
    with pytest.raises(ConflictError) as error:
        gitlab_admin_client.add_group_member(id="team", body={"user_id": alice.id, "access_level": 10})
    assert error.value.body == {"message": "Member already exists"}
    assert gitlab_admin_client.edit_group_member(id="team", user_id=alice.id, body={"access_level": 40}).access_level == 40
    assert gitlab_admin_client.get_group_member(id=str(group.id), user_id=alice.id).access_level == 40
    with pytest.raises(BadRequestError):
        gitlab_admin_client.add_group_member(id="team", body={"user_id": alice.id, "access_level": 35})
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.add_group_member(id="team", body={"user_id": 999, "access_level": 10})
    assert error.value.body == {"message": "404 User Not Found"}
    gitlab_admin_client.remove_group_member(id="team", user_id=alice.id)
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.get_group_member(id="team", user_id=alice.id)
    assert error.value.body == {"message": "404 Member Not Found"}


def test_share_group_with_group(python_gitlab, gitlab_admin_client):
    group = python_gitlab.groups.create({"name": "Product", "path": "product"})
    partners = python_gitlab.groups.create({"name": "Partners", "path": "partners"})
    group.share(partners.id, 20, expires_at="2999-01-01")
    shared = gitlab_admin_client.get_group(id="product").shared_with_groups
    assert [(s.group_id, s.group_full_path, s.group_access_level, str(s.expires_at)) for s in shared] == [
        (partners.id, "partners", 20, "2999-01-01")
    ]
    gitlab_admin_client.share_group(id="product", body={"group_id": partners.id, "group_access": 30})
    assert gitlab_admin_client.get_group(id="product").shared_with_groups[0].group_access_level == 30
    with pytest.raises(NotFoundError):
        gitlab_admin_client.share_group(id="product", body={"group_id": 9999, "group_access": 30})
    with pytest.raises(BadRequestError) as error:
        gitlab_admin_client.share_group(id="product", body={"group_id": partners.id, "group_access": 30, "expires_at": "2030-13-01"})
    assert error.value.body == {"error": "expires_at is invalid"}
    gitlab_admin_client.unshare_group(id="product", group_id=partners.id)
    assert gitlab_admin_client.get_group(id="product").shared_with_groups == []
    with pytest.raises(NotFoundError):
        gitlab_admin_client.unshare_group(id="product", group_id=partners.id)


def test_subgroups_and_group_projects(python_gitlab, gitlab_admin_client):
    top = python_gitlab.groups.create({"name": "Top", "path": "top"})
    sub = python_gitlab.groups.create({"name": "Sub", "path": "sub", "parent_id": top.id})
    python_gitlab.projects.create({"name": "Alpha", "namespace_id": top.id})
    python_gitlab.projects.create({"name": "Beta", "namespace_id": sub.id})
    assert [g.full_path for g in top.subgroups.list(get_all=True)] == ["top/sub"]
    assert [p.path_with_namespace for p in top.projects.list(get_all=True)] == ["top/alpha"]
    assert [p.path_with_namespace for p in gitlab_admin_client.list_group_projects(id="top", include_subgroups=True)] == ["top/alpha", "top/sub/beta"]
    with pytest.raises(NotFoundError):
        gitlab_admin_client.list_subgroups(id="nowhere")
