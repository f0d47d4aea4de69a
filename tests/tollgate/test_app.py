"""The machine itself: health, served specs, error shapes, auth, 501s, body limit, request ids."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.conftest import FLOWGLAD_KEY, OPENMETER_KEY, SHELL_SECRET
from tollgate.apis import APIS


def test_health_and_readiness(server):
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


@pytest.mark.parametrize("api", APIS, ids=lambda api: api.name)
def test_each_api_serves_its_spec_byte_for_byte(server, api):
    response = httpx.get(f"{server.url}{api.base_path}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == api.served_spec_path.read_bytes()
    ui = httpx.get(f"{server.url}{api.base_path}/ui/")
    assert ui.status_code == 200 and "swagger" in ui.text.lower()


def test_openmeter_requires_a_key_and_answers_problem_json(server):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {OPENMETER_KEY}"}):
        response = httpx.get(f"{server.url}/api/v1/subjects", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == 401 and body["title"] == "Unauthorized"
        assert body["instance"] == f"urn:request:{response.headers['x-request-id']}"


def test_auth_is_checked_before_validation(server):
    # Bad credentials and a bad body: the caller learns about the credentials, nothing else.
    response = httpx.post(f"{server.url}/api/v1/subjects", content=b"{oops", headers={"Content-Type": "application/json"})
    assert response.status_code == 401


def test_openmeter_validation_errors_name_the_problem(clean_server):
    headers = {"Authorization": f"Bearer {OPENMETER_KEY}"}
    malformed = httpx.post(f"{clean_server.url}/api/v1/subjects", content=b"{oops", headers={**headers, "Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert "not valid JSON" in malformed.json()["detail"]
    wrong_type = httpx.post(f"{clean_server.url}/api/v1/subjects", json=[{"key": 5}], headers=headers)
    assert wrong_type.status_code == 400
    assert wrong_type.headers["content-type"] == "application/problem+json"
    assert "0/key" in wrong_type.json()["detail"]
    # Nothing was written by the refused requests.
    assert httpx.get(f"{clean_server.url}/api/v1/subjects", headers=headers).json() == []


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud821", "\\udc00x"])
def test_text_no_database_can_store_is_refused_with_400(clean_server, escape):
    # PostgreSQL rejects NUL in text and JSON; UTF-8 cannot encode a lone surrogate. Both are 400s.
    headers = {"Authorization": f"Bearer {OPENMETER_KEY}", "Content-Type": "application/json"}
    body = ('[{"key": "a", "displayName": "x' + escape + '"}]').encode()
    response = httpx.post(f"{clean_server.url}/api/v1/subjects", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert "NUL or an unpaired surrogate" in response.json()["detail"]
    in_path = httpx.get(f"{clean_server.url}/api/v1/subjects/a%00b", headers=headers)
    assert in_path.status_code == 400
    # A paired surrogate escape is an ordinary character and is stored.
    paired = httpx.post(f"{clean_server.url}/api/v1/subjects", content='[{"key": "\\ud83d\\ude00"}]'.encode(), headers=headers)
    assert paired.status_code == 200 and paired.json()[0]["key"] == "\U0001F600"


def _unimplemented_list_operation(api_name: str):
    """A GET without path parameters that still has no handler, or None once every one has."""
    import importlib

    table = importlib.import_module(f"generated.{api_name}.operations").OPERATIONS
    return next((op for op in table if not op.implemented and op.method == "GET" and "{" not in op.path), None)


def test_missing_handler_answers_501_naming_the_operation(server):
    operation = _unimplemented_list_operation("openmeter")
    if operation is None:
        pytest.skip("every OpenMeter list operation has a handler")
    response = httpx.get(f"{server.url}{operation.path}", headers={"Authorization": f"Bearer {OPENMETER_KEY}"})
    assert response.status_code == 501
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"not implemented error: operation {operation.operation_id} is not implemented yet"


@pytest.mark.parametrize("api", APIS, ids=lambda api: api.name)
def test_not_implemented_renders_in_each_api_shape(api):
    from domain.errors import NotImplementedOperationError
    from tollgate.errors import domain_error_response

    rendered = domain_error_response(api, NotImplementedOperationError("operation someOp is not implemented yet"), "REQ1")
    body = json.loads(rendered.encoded())
    assert rendered.status == 501
    expected = {
        "openmeter": lambda: body["detail"] == "not implemented error: operation someOp is not implemented yet",
        "gitlab": lambda: body == {"message": "501 Not Implemented - operation someOp is not implemented yet"},
        "flowglad": lambda: body == {"error": "operation someOp is not implemented yet", "code": "NOT_IMPLEMENTED", "request_id": "REQ1"},
    }[api.name]
    assert expected(), body


def test_flowglad_auth_and_not_found_use_flowglad_shape(server):
    url = f"{server.url}/flowglad/api/v1/customers/nobody-has-this-external-id/billing"
    unauthorized = httpx.get(url)
    assert unauthorized.status_code == 401
    assert unauthorized.json()["code"] == "UNAUTHORIZED"
    for header in (FLOWGLAD_KEY, f"Bearer {FLOWGLAD_KEY}", f"bearer {FLOWGLAD_KEY}"):
        response = httpx.get(url, headers={"Authorization": header})
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "NOT_FOUND"


def test_unknown_routes_answer_in_each_api_shape(server):
    gitlab = httpx.get(f"{server.url}/api/v4/no/such/route")
    assert (gitlab.status_code, gitlab.json()) == (404, {"error": "404 Not Found"})
    openmeter = httpx.get(f"{server.url}/api/v1/no-such-route", headers={"Authorization": f"Bearer {OPENMETER_KEY}"})
    assert openmeter.status_code == 404
    assert openmeter.headers["content-type"] == "application/problem+json"


def test_gitlab_shared_secret_variants(server):
    url = f"{server.url}/api/v4/internal/check"
    encoded = base64.b64encode(SHELL_SECRET.encode()).decode()
    assert httpx.get(url, headers={"Gitlab-Shared-Secret": encoded}).status_code == 200
    assert httpx.get(url, params={"secret_token": SHELL_SECRET}).status_code == 200
    assert httpx.get(url, params={"secret_token": encoded}).status_code == 200
    for params, headers in (
        ({}, {}),
        ({}, {"Gitlab-Shared-Secret": base64.b64encode(b"wrong").decode()}),
        # A wrong parameter is not rescued by a right header (ruling 13, GitLab's order).
        ({"secret_token": "wrong"}, {"Gitlab-Shared-Secret": encoded}),
        ({"secret_token": ""}, {"Gitlab-Shared-Secret": encoded}),
    ):
        response = httpx.get(url, params=params, headers=headers)
        assert (response.status_code, response.json()) == (401, {"message": "401 Unauthorized"}), (params, headers)


def test_body_limit_answers_413_in_the_api_shape(server):
    headers = {"Authorization": f"Bearer {OPENMETER_KEY}", "Content-Type": "application/json"}
    limit = server.app.runtime.settings.max_body_bytes
    declared = httpx.post(f"{server.url}/api/v1/subjects", content=b"[" + b" " * limit + b"]", headers=headers)
    assert declared.status_code == 413
    assert declared.json()["title"] == "Request Entity Too Large"

    def chunks():
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    streamed = httpx.post(f"{server.url}/api/v1/subjects", content=chunks(), headers=headers)
    assert streamed.status_code == 413


def test_request_id_is_echoed_or_assigned(server):
    given = httpx.get(f"{server.url}/healthz", headers={"X-Request-Id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    assigned = httpx.get(f"{server.url}/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert len(assigned.headers["x-request-id"]) == 26


def test_no_traceback_ever_leaks(server):
    response = httpx.post(
        f"{server.url}/api/v1/subjects",
        content=json.dumps([{"key": "x", "metadata": "not an object"}]),
        headers={"Authorization": f"Bearer {OPENMETER_KEY}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "Traceback" not in response.text


def test_every_implemented_handler_module_imports():
    # Handlers are imported on their first request; this keeps a broken module from hiding until then.
    import importlib

    from tollgate.apis import APIS

    for api in APIS:
        for operation in importlib.import_module(f"generated.{api.name}.operations").OPERATIONS:
            if operation.implemented:
                module = importlib.import_module(operation.module)
                assert callable(getattr(module, operation.function))


@pytest.mark.parametrize("expires_at", ["2020-13-01", "2021-02-30", "2021-2-3", "tomorrow"])
def test_impossible_dates_are_refused_before_any_handler(clean_server, expires_at):
    # Draft 4 JSON Schema knows no `date` format; Tollgate checks RFC 3339 full-date itself.
    from tests.conftest import ROOT_TOKEN

    response = httpx.post(
        f"{clean_server.url}/api/v4/users/1/personal_access_tokens",
        json={"name": "ci", "scopes": ["api"], "expires_at": expires_at},
        headers={"PRIVATE-TOKEN": ROOT_TOKEN},
    )
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "expires_at is invalid"}
