"""kas's calls through the generated client: agent_info, project_info, usage_metrics, cilium_alert;
kas JWT (401) then agent token (403), ruling 17."""

from __future__ import annotations

import time

import jwt
import pytest

from domain.gitlab.kubernetes import KasService
from generated.gitlab.client import GitLabClient
from generated.runtime import NO_RETRY, BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError
from tests.conftest import KAS_SECRET
from tests.handlers.gitlab.internal_support import group, project


def kas_jwt(secret: str = KAS_SECRET, issuer: str = "gitlab-kas", **claims) -> str:
    return jwt.encode({"iss": issuer, "exp": int(time.time()) + 60, **claims}, secret, algorithm="HS256")


def kas_client(server, agent_token: str | None = None, *, token: str | None = None) -> GitLabClient:
    headers = {"Gitlab-Kas-Api-Request": token or kas_jwt()}
    if agent_token is not None:
        headers["Authorization"] = f"Bearer {agent_token}"
    return GitLabClient(server.url, headers=headers, retry=NO_RETRY)


@pytest.fixture
def agent(python_gitlab, gitlab_admin_client):
    gl = python_gitlab
    g = group(gl, "ops")
    config = project(gl, g, "config", visibility="private")
    project(gl, g, "public-app", visibility="public")
    project(gl, g, "secret-app", visibility="private")
    created = config.cluster_agents.create({"name": "prod"})
    token = gitlab_admin_client.create_cluster_agent_token(id=str(config.id), agent_id=created.id, body={"name": "t"})
    return {"project": config, "agent": created, "token": token.token, "token_id": token.id}


def test_agent_info(clean_server, agent):
    with kas_client(clean_server, agent["token"]) as client:
        info = client.internal_kubernetes_agent_info()
    p = agent["project"]
    assert (info.project_id, info.agent_id, info.agent_name) == (p.id, agent["agent"].id, "prod")
    assert info.gitaly_repository.gl_repository == f"project-{p.id}"
    assert info.gitaly_repository.gl_project_path == "ops/config"
    assert info.gitaly_repository.relative_path.startswith("@hashed/") and info.gitaly_info.features == {}


def test_agent_token_as_token_header(clean_server, agent):
    headers = {"Gitlab-Kas-Api-Request": kas_jwt(), "Authorization": f"Token token={agent['token']}"}
    with GitLabClient(clean_server.url, headers=headers, retry=NO_RETRY) as client:
        assert client.internal_kubernetes_agent_info().agent_name == "prod"


def test_jwt_failures_are_401(clean_server, agent):
    for token in (kas_jwt(secret="another-secret-0123456789abcdef0"), kas_jwt(issuer="gitlab-shell"),
                  kas_jwt(exp=int(time.time()) - 10), "not-a-jwt"):  # fmt: skip
        with kas_client(clean_server, agent["token"], token=token) as client, pytest.raises(UnauthorizedError) as error:
            client.internal_kubernetes_agent_info()
        assert error.value.body == {"message": "401 Unauthorized"}
    with GitLabClient(clean_server.url, retry=NO_RETRY) as client, pytest.raises(UnauthorizedError):
        client.internal_kubernetes_usage_metrics(body={})


def test_agent_token_failures_are_403(clean_server, agent, gitlab_admin_client):
    for token in (None, "glagent-unknown"):
        with kas_client(clean_server, token) as client, pytest.raises(ForbiddenError) as error:
            client.internal_kubernetes_agent_info()
        assert error.value.body == {"message": "403 Forbidden"}
    gitlab_admin_client.revoke_cluster_agent_token(id=str(agent["project"].id), agent_id=agent["agent"].id,
                                                   token_id=agent["token_id"])  # fmt: skip
    with kas_client(clean_server, agent["token"]) as client, pytest.raises(ForbiddenError):
        client.internal_kubernetes_project_info(id="ops/public-app")


def test_project_info(clean_server, agent):
    with kas_client(clean_server, agent["token"]) as client:
        public = client.internal_kubernetes_project_info(id="ops/public-app")
        assert public.gitaly_repository.gl_project_path == "ops/public-app"
        own = client.internal_kubernetes_project_info(id=str(agent["project"].id))
        assert own.project_id == agent["project"].id
        for hidden in ("ops/secret-app", "ops/nothing", "999999"):
            with pytest.raises(NotFoundError) as error:
                client.internal_kubernetes_project_info(id=hidden)
            assert error.value.body == {"message": "404 Not Found"}
        with pytest.raises(BadRequestError) as error:
            client._request("internalKubernetesProjectInfo", "GET", "/internal/kubernetes/project_info", responses={})
        assert error.value.body == {"error": "id is missing"}


def test_usage_metrics_are_counted(clean_server):
    with kas_client(clean_server) as client:
        assert client.internal_kubernetes_usage_metrics(body={"gitops_sync_count": 3}) is None
        client.internal_kubernetes_usage_metrics(body={"gitops_sync_count": 2, "k8s_api_proxy_request_count": 5})
        client.internal_kubernetes_usage_metrics(body={"gitops_sync_count": 0})
        client.internal_kubernetes_usage_metrics(body={})
        for bad in ({"gitops_sync_count": -1}, {"k8s_api_proxy_request_count": "string"}):
            with pytest.raises(BadRequestError) as error:
                client.internal_kubernetes_usage_metrics(body=bad)
            assert error.value.body == {"error": f"{next(iter(bad))} is invalid"}
    with clean_server.backend.database.session(write=False) as session:
        assert KasService(session).usage_counters() == {"gitops_sync": 5, "k8s_api_proxy_request": 5}


def test_cilium_alerts_are_stored_and_deduplicated(clean_server, agent):
    alert = {"title": "minimal", "message": "network problem", "evalMatches": [{"value": 1, "metric": "Count", "tags": {}}]}
    with kas_client(clean_server, agent["token"]) as client:
        assert client.internal_kubernetes_cilium_alert(body={"alert": alert}) == {}
        client.internal_kubernetes_cilium_alert(body={"alert": alert})
        client.internal_kubernetes_cilium_alert(body={"alert": {"title": "other", "fingerprint": "abc"}})
        with pytest.raises(BadRequestError) as error:
            client.internal_kubernetes_cilium_alert(body={})
        assert error.value.body == {"error": "alert is missing"}
    with clean_server.backend.database.session(write=False) as session:
        stored = KasService(session).alerts(agent["project"].id)
    assert [(a["title"], a["events"]) for a in stored] == [("minimal", 2), ("other", 1)]
