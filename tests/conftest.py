"""Test harness shared by every test module.

- `backend` is parametrized: every test that (indirectly) uses it runs on SQLite and, when
  `TOLLGATE_TEST_POSTGRES_URL` is set, on PostgreSQL. For PostgreSQL a scratch database is created
  next to the one the URL names and dropped at the end, so parallel runs never share state.
- `server` is a real Tollgate (uvicorn in a thread, responses validated against the served specs)
  per backend; `clean_database` empties every table before each test that talks to it.
- `om`, `gitlab`, `flowglad` are the generated clients, authenticated; `gitlab_admin` is python-gitlab.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import storage.all_tables  # noqa: F401
from storage.base import Base
from storage.db import Database
from tollgate.config import Settings

OPENMETER_KEY = "test-openmeter-key"
FLOWGLAD_KEY = "sk_test_tollgate_key"
SHELL_SECRET = "test-shell-secret"
KAS_SECRET = "test-kas-secret-0123456789abcdef"
ROOT_TOKEN = "test-root-token"
PORTAL_SECRET = "test-portal-secret-0123456789abcdef"
CUSTOMERS_DOT_KEY = "test-customers-dot-signing-key-0123456789"
CUSTOMERS_DOT_ISSUER = "https://customers.test/"


@dataclass(frozen=True)
class Backend:
    name: str
    url: str
    database: Database


def _postgres_scratch(base_url: str) -> Iterator[str]:
    base = make_url(base_url)
    if base.drivername in ("postgresql", "postgres"):
        base = base.set(drivername="postgresql+psycopg")
    name = f"tollgate_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _backend_params() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get("TOLLGATE_TEST_POSTGRES_URL"):
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


@pytest.fixture(scope="session", params=_backend_params())
def backend(request, tmp_path_factory) -> Iterator[Backend]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'tollgate.db'}"
        database = Database(url)
        database.migrate()
        yield Backend("sqlite", url, database)
        database.dispose()
        return
    scratch = _postgres_scratch(os.environ["TOLLGATE_TEST_POSTGRES_URL"])
    url = next(scratch)
    database = Database(url)
    database.migrate()
    try:
        yield Backend("postgresql", url, database)
    finally:
        database.dispose()
        next(scratch, None)


def truncate_all(database: Database) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))
            # Reset AUTOINCREMENT counters where a table has them.
            if connection.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")).first():
                connection.execute(text("DELETE FROM sqlite_sequence"))


def server_settings(backend: Backend, var_dir: Path) -> Settings:
    return Settings(
        var_dir=var_dir,
        database_url=backend.url,
        validate_responses=True,
        openmeter_api_keys=OPENMETER_KEY,
        flowglad_api_keys=FLOWGLAD_KEY,
        gitlab_shell_secret=SHELL_SECRET,
        gitlab_kas_secret=KAS_SECRET,
        gitlab_root_token=ROOT_TOKEN,
        portal_token_secret=PORTAL_SECRET,
        customers_dot_signing_key=CUSTOMERS_DOT_KEY,
        customers_dot_issuer=CUSTOMERS_DOT_ISSUER,
        log_level="WARNING",
        webhook_allowed_hosts="127.0.0.1,localhost",
    )


@dataclass
class LiveServer:
    url: str
    app: object
    backend: Backend

    def reset(self) -> None:
        """Empty every table and restore what the environment provisions (the GitLab root user)."""
        truncate_all(self.backend.database)
        self.app.runtime.bootstrap()  # type: ignore[attr-defined]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def app(backend, tmp_path_factory):
    from tollgate.app import create_app

    return create_app(server_settings(backend, tmp_path_factory.mktemp("var")))


@pytest.fixture(scope="session")
def server(app, backend) -> Iterator[LiveServer]:
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    else:  # pragma: no cover
        raise RuntimeError("test server did not start")
    yield LiveServer(url=url, app=app, backend=backend)
    uvicorn_server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def clean_server(server) -> LiveServer:
    server.reset()
    return server


@pytest.fixture
def om(clean_server):
    from generated.openmeter.client import OpenMeterClient

    with OpenMeterClient(clean_server.url, token=OPENMETER_KEY, retry=_no_retry()) as client:
        yield client


@pytest.fixture
def gitlab_internal(clean_server):
    """GitLab client authenticated as GitLab Shell (shared secret header)."""
    import base64

    from generated.gitlab.client import GitLabClient

    headers = {"Gitlab-Shared-Secret": base64.b64encode(SHELL_SECRET.encode()).decode()}
    with GitLabClient(clean_server.url, headers=headers, retry=_no_retry()) as client:
        yield client


@pytest.fixture
def gitlab_admin_client(clean_server):
    """Generated GitLab client authenticated with the root user's personal access token."""
    from generated.gitlab.client import GitLabClient

    with GitLabClient(clean_server.url, headers={"PRIVATE-TOKEN": ROOT_TOKEN}, retry=_no_retry()) as client:
        yield client


@pytest.fixture
def python_gitlab(clean_server):
    """python-gitlab (PyPI) as an administrator, for setting up GitLab entities."""
    import gitlab

    return gitlab.Gitlab(clean_server.url, private_token=ROOT_TOKEN, retry_transient_errors=False)


@pytest.fixture
def flowglad(clean_server):
    from generated.flowglad.client import FlowgladClient

    with FlowgladClient(clean_server.url, headers={"Authorization": FLOWGLAD_KEY}, retry=_no_retry()) as client:
        yield client


def _no_retry():
    from generated.runtime import NO_RETRY

    return NO_RETRY
