"""REST v4 GET /namespaces/:id by id or full path."""

from __future__ import annotations

import pytest

from generated.runtime import NotFoundError


def test_get_namespace_by_id_and_path(python_gitlab, gitlab_admin_client):
    top = python_gitlab.groups.create({"name": "Top", "path": "top"})
    sub = python_gitlab.groups.create({"name": "Sub", "path": "sub", "parent_id": top.id})
    alice = python_gitlab.users.create({"email": "alice@example.com", "username": "alice", "name": "Alice"})
    sub.members.create({"user_id": alice.id, "access_level": 10})

    by_path = gitlab_admin_client.get_namespace(id="top/sub")
    assert (by_path.id, by_path.kind, by_path.full_path, by_path.parent_id) == (sub.id, "group", "top/sub", top.id)
    assert by_path.web_url.endswith("/groups/top/sub")
    top_ns = gitlab_admin_client.get_namespace(id=str(top.id))
    assert top_ns.members_count_with_descendants == 2  # root (creator of both) and alice
    assert (top_ns.billable_members_count, top_ns.plan, top_ns.trial, top_ns.trial_ends_on) == (2, "free", False, None)
    user_ns = python_gitlab.namespaces.get("alice")
    assert (user_ns.kind, user_ns.name, user_ns.web_url.endswith("/alice")) == ("user", "Alice", True)
    with pytest.raises(NotFoundError) as error:
        gitlab_admin_client.get_namespace(id="nowhere")
    assert error.value.body == {"message": "404 Namespace Not Found"}


def test_list_namespaces(python_gitlab, gitlab_admin_client):
    python_gitlab.groups.create({"name": "Team", "path": "team"})
    python_gitlab.users.create({"email": "alice@example.com", "username": "alice", "name": "Alice"})
    assert [(n.full_path, n.kind) for n in python_gitlab.namespaces.list(get_all=True)] == [("root", "user"), ("team", "group"), ("alice", "user")]
    assert [n.full_path for n in gitlab_admin_client.list_namespaces(search="TEA")] == ["team"]
