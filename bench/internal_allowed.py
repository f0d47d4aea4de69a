"""`/internal/allowed` latency over HTTP (not a test): a project with 1,000 members and 50 protected
branches (exact names and wildcards), the project in a subgroup whose parent group has members too.

For each database (SQLite; PostgreSQL when TOLLGATE_BENCH_POSTGRES_URL or TOLLGATE_TEST_POSTGRES_URL is
set), seeded in process through the domain services, then through HTTP against `tollgate serve`:

- `pull`: GitLab Shell's `git-upload-pack` with `changes: _any` for a developer's SSH key;
- `push`: Gitaly's pre-receive check, a developer pushing 3 refs (one of them a protected branch
  matched by a wildcard) against the 50 rules.

Median and p95 of `--runs` requests each (milliseconds), and the same for `GET /internal/check` (no
database work) as the baseline of the machine and HTTP stack. Goal: median under 5 ms.
Run from the repository root:  python bench/internal_allowed.py [--runs 300]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import statistics
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import databases, scratch_database, server  # noqa: E402

SECRET = "bench-shell-secret"
MEMBERS = 1000
PROTECTED = 50
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _key_line(number: int) -> str:
    blob = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + number.to_bytes(32, "big")
    return "ssh-ed25519 " + base64.b64encode(blob).decode()


def seed(url: str) -> int:
    """The project, its members and rules; returns the SSH key id of one developer member."""
    import storage.all_tables  # noqa: F401
    from domain.gitlab.members import GROUP_SOURCE, PROJECT_SOURCE, MemberService
    from domain.gitlab.namespaces import NamespaceService
    from domain.gitlab.projects import ProjectService
    from domain.gitlab.users import UserService
    from storage.db import Database
    from storage.gitlab_internal import GitlabInternalRepository

    database = Database(url)
    with database.session() as session:
        users, members = UserService(session), MemberService(session)
        top = NamespaceService(session).create_group(name="Top", path="top", parent_id=None, visibility="private",
                                                     description="", creator_id=None, now=NOW)  # fmt: skip
        sub = NamespaceService(session).create_group(name="Sub", path="sub", parent_id=top.id, visibility="private",
                                                     description="", creator_id=None, now=NOW)  # fmt: skip
        project = ProjectService(session).create(namespace=sub, name="app", path="app", visibility="private", description="",
                                                 default_branch="main", creator_id=None, now=NOW)  # fmt: skip
        key_id = 0
        for number in range(MEMBERS + 20):
            user = users.create(username=f"user{number}", name=f"User {number}", email=f"user{number}@example.com",
                                admin=False, bot=False, now=NOW)  # fmt: skip
            if number < MEMBERS:
                members.add(PROJECT_SOURCE, project.id, user_id=user.id, access_level=(10, 20, 30, 40)[number % 4],
                            expires_at=None, created_by_id=None, now=NOW)  # fmt: skip
            else:
                members.add(GROUP_SOURCE, top.id, user_id=user.id, access_level=20, expires_at=None, created_by_id=None, now=NOW)
            if number == MEMBERS // 2 + 2:  # a developer
                key_id = users.add_key(user.id, title="k", key=_key_line(number), expires_at=None, usage_type="auth_and_signing",
                                       now=NOW).id  # fmt: skip
        rules = GitlabInternalRepository(session)
        for number in range(PROTECTED):
            name = f"release-{number}/*" if number % 2 else f"stable-{number}"
            rules.add_protected_branch(project_id=project.id, name=name, push=[40], merge=[40], allow_force_push=False, now=NOW)
    database.dispose()
    return key_id


def measure(client, body: dict | None, runs: int) -> list[float]:
    """Milliseconds per request; `body` None measures `GET /internal/check` (no database work) as a baseline."""
    headers = {"Gitlab-Shared-Secret": base64.b64encode(SECRET.encode()).decode()}
    timings = []
    for _ in range(runs + 20):
        began = time.perf_counter()
        if body is None:
            response = client.get("/api/v4/internal/check", headers=headers)
        else:
            response = client.post("/api/v4/internal/allowed", json=body, headers=headers)
        timings.append((time.perf_counter() - began) * 1000)
        if response.status_code not in (200, 401):
            raise RuntimeError(f"unexpected answer {response.status_code}: {response.text}")
    return timings[20:]


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args([] if __name__ != "__main__" else None)
    os.environ["TOLLGATE_GITLAB_SHELL_SECRET"] = SECRET
    results: dict[str, float] = {}
    zero, a, b = "0" * 40, "a" * 40, "b" * 40
    changes = f"{a} {b} refs/heads/topic\n{zero} {a} refs/heads/feature-x\n{a} {b} refs/heads/release-7/1.0\n"
    for name, base in databases():
        with scratch_database(base) as url:
            key_id = seed(url)
            with server(url) as client:
                cases = {
                    "pull": {"key_id": str(key_id), "project": "top/sub/app.git", "action": "git-upload-pack",
                             "protocol": "ssh", "changes": "_any"},
                    "push": {"key_id": str(key_id), "gl_repository": None, "project": "top/sub/app", "action": "git-receive-pack",
                             "protocol": "ssh", "changes": changes},
                }  # fmt: skip
                cases["push"].pop("gl_repository")
                cases["baseline: GET /internal/check"] = None
                for case, body in cases.items():
                    timings = measure(client, body, args.runs)
                    results[f"{name} {case} median (ms)"] = statistics.median(timings)
                    results[f"{name} {case} p95 (ms)"] = statistics.quantiles(timings, n=20)[-1]
    for label, value in results.items():
        print(f"/internal/allowed {label:<50} {value:8.2f}")
    return results


if __name__ == "__main__":
    main()
