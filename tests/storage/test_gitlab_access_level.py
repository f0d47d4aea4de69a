"""The effective access level read in one query, on SQLite and PostgreSQL: for random group trees, shares,
memberships and expiry dates it agrees with GitLab's rule written out step by step; `/internal/allowed`
resolves the actor, then project and access level, then (for a push) protection rules: one query each."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import event

from tests.conftest import truncate_all
from domain.gitlab.entities import ACCESS_LEVELS, MINIMAL_ACCESS, NO_ACCESS, OWNER, EntityReader
from domain.gitlab.internal import InternalService
from domain.gitlab.members import GROUP_SOURCE, PROJECT_SOURCE, MemberService
from domain.gitlab.namespaces import NamespaceService
from domain.gitlab.projects import ProjectService
from domain.gitlab.users import UserService
from storage.gitlab_internal import GitlabInternalRepository

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
TODAY = NOW.date()
EXPIRIES = (None, None, TODAY - dt.timedelta(days=1), TODAY, TODAY + dt.timedelta(days=1))


@pytest.fixture
def session(backend):
    truncate_all(backend.database)
    with backend.database.session() as session:
        yield session


def _active(expires_at: dt.date | None, today: dt.date) -> bool:
    return expires_at is None or expires_at > today


class World:
    """What was created, as plain data, and GitLab's rule over it (the reference)."""

    def __init__(self):
        self.parent: dict[int, int | None] = {}
        self.owner: dict[int, int | None] = {}  # user namespaces
        self.group_members: dict[tuple[int, int], tuple[int, dt.date | None]] = {}
        self.project_members: dict[tuple[int, int], tuple[int, dt.date | None]] = {}
        self.links: list[tuple[int, int, int, dt.date | None]] = []  # shared, invited, cap, expires

    def chain(self, namespace_id: int) -> list[int]:
        found = [namespace_id]
        while self.parent[found[-1]] is not None:
            found.append(self.parent[found[-1]])
        return found

    def direct(self, members: dict, source_ids: list[int], user_id: int, today: dt.date) -> int:
        levels = [members[(s, user_id)][0] for s in source_ids
                  if (s, user_id) in members and _active(members[(s, user_id)][1], today)]  # fmt: skip
        return max(levels, default=NO_ACCESS)

    def group_level(self, user_id: int, namespace_id: int, today: dt.date) -> int:
        if namespace_id in self.owner:
            return OWNER if self.owner[namespace_id] == user_id else NO_ACCESS
        chain = self.chain(namespace_id)
        best = self.direct(self.group_members, chain, user_id, today)
        for shared, invited, cap, expires in self.links:
            if shared in chain and _active(expires, today):
                best = max(best, min(self.direct(self.group_members, self.chain(invited), user_id, today), cap))
        return best

    def project_level(self, user_id: int, project_id: int, namespace_id: int, today: dt.date) -> int:
        return max(self.direct(self.project_members, [project_id], user_id, today), self.group_level(user_id, namespace_id, today))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_access_level_matches_gitlabs_rule_for_random_hierarchies(session, seed):
    rng, world = random.Random(seed), World()
    users = [UserService(session).create(username=f"u{seed}x{n}", name=f"U {n}", email=f"u{n}@example.com", admin=False,
                                         bot=False, now=NOW) for n in range(6)]  # fmt: skip
    reader, groups, members = EntityReader(session), NamespaceService(session), MemberService(session)
    for user in users:
        namespace = reader.namespace(user.username)
        world.parent[namespace.id], world.owner[namespace.id] = None, user.id
    group_ids: list[int] = []
    for number in range(9):
        parent = rng.choice([None, None, *group_ids]) if group_ids else None
        group = groups.create_group(name=f"G{number}", path=f"g{number}", parent_id=parent, visibility="private",
                                    description="", creator_id=None, now=NOW)  # fmt: skip
        world.parent[group.id] = parent
        group_ids.append(group.id)
    for group_id in group_ids:
        for user in rng.sample(users, rng.randint(0, 3)):
            level, expires = rng.choice((MINIMAL_ACCESS, *ACCESS_LEVELS)), rng.choice(EXPIRIES)
            members.add(GROUP_SOURCE, group_id, user_id=user.id, access_level=level, expires_at=expires, created_by_id=None, now=NOW)
            world.group_members[(group_id, user.id)] = (level, expires)
    for _ in range(8):
        shared, invited = rng.sample(group_ids, 2)
        cap, expires = rng.choice(ACCESS_LEVELS), rng.choice(EXPIRIES)
        groups.share(reader.namespace(shared), with_group_id=invited, group_access=cap, expires_at=expires, now=NOW)
        world.links = [link for link in world.links if link[:2] != (shared, invited)] + [(shared, invited, cap, expires)]
    projects = []
    for number, namespace_id in enumerate([*rng.sample(group_ids, 4), reader.namespace(users[0].username).id]):
        project = ProjectService(session).create(namespace=reader.namespace(namespace_id), name=f"P{number}", path=None,
                                                 visibility="private", description="", default_branch="main",
                                                 creator_id=None, now=NOW)  # fmt: skip
        projects.append(project)
        for user in rng.sample(users, 2):
            level, expires = rng.choice(ACCESS_LEVELS), rng.choice(EXPIRIES)
            members.add(PROJECT_SOURCE, project.id, user_id=user.id, access_level=level, expires_at=expires, created_by_id=None, now=NOW)
            world.project_members[(project.id, user.id)] = (level, expires)

    through_shares = 0
    for today in (TODAY - dt.timedelta(days=1), TODAY, TODAY + dt.timedelta(days=1)):
        for user in users:
            through_shares += sum(world.group_level(user.id, g, today) > world.direct(world.group_members, world.chain(g), user.id, today)
                                  for g in group_ids)  # fmt: skip
            for project in projects:
                expected = world.project_level(user.id, project.id, project.namespace.id, today)
                assert reader.project_access_level(user.id, reader.project(project.id), today=today) == expected
                # ...and read together with the project, by id and by full path
                assert reader.project_with_access_level(project.id, user.id, today=today) == (project, expected)
                assert reader.project_with_access_level(project.full_path.upper(), user.id, today=today) == (project, expected)
            for namespace_id in [*group_ids, *world.owner]:
                expected = world.group_level(user.id, namespace_id, today)
                assert reader.group_access_level(user.id, reader.namespace(namespace_id), today=today) == expected
    assert through_shares > 0  # the random world does exercise sharing


def test_allowed_reads_in_two_or_three_queries_whatever_the_hierarchy(session, backend):
    """Key and owner; project, namespace and access level; a push's protection rules: one query each."""
    users, groups, members = UserService(session), NamespaceService(session), MemberService(session)
    dev = users.create(username="dev", name="Dev", email="dev@example.com", admin=False, bot=False, now=NOW)
    key = users.add_key(dev.id, title="k", key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f",
                        expires_at=None, usage_type="auth_and_signing", now=NOW)  # fmt: skip
    top = groups.create_group(name="Top", path="top", parent_id=None, visibility="private", description="", creator_id=None, now=NOW)
    parent = top
    for depth in range(4):
        parent = groups.create_group(name=f"L{depth}", path=f"l{depth}", parent_id=parent.id, visibility="private",
                                     description="", creator_id=None, now=NOW)  # fmt: skip
    partners = groups.create_group(name="Partners", path="partners", parent_id=None, visibility="private", description="",
                                   creator_id=None, now=NOW)  # fmt: skip
    team = groups.create_group(name="Team", path="team", parent_id=partners.id, visibility="private", description="",
                               creator_id=None, now=NOW)  # fmt: skip
    groups.share(top, with_group_id=team.id, group_access=40, expires_at=None, now=NOW)
    members.add(GROUP_SOURCE, partners.id, user_id=dev.id, access_level=30, expires_at=None, created_by_id=None, now=NOW)
    project = ProjectService(session).create(namespace=parent, name="App", path="app", visibility="private", description="",
                                             default_branch="main", creator_id=None, now=NOW)  # fmt: skip
    rules = GitlabInternalRepository(session)
    for number in range(10):
        rules.add_protected_branch(project_id=project.id, name=f"release-{number}/*", push=[40], merge=[40],
                                   allow_force_push=False, now=NOW)  # fmt: skip
    session.flush()

    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    service = InternalService(session)
    zero, a = "0" * 40, "a" * 40

    def check(action: str, changes: str):
        statements.clear()
        event.listen(backend.database.engine, "before_cursor_execute", record)
        try:
            actor = service.resolve_actor(key_id=str(key.id))
            repository = service.resolve_repository(gl_repository=None, project="top/l0/l1/l2/l3/app.git",
                                                    level_for=(actor.user.id, NOW.date()))  # fmt: skip
            return service.allowed(actor=actor, repository=repository, action=action, protocol="ssh", now=NOW, changes=changes)
        finally:
            event.remove(backend.database.engine, "before_cursor_execute", record)

    # Developer through the share (capped at Maintainer, holds Developer): may push a topic, not a protected branch.
    result = check("git-receive-pack", f"{zero} {a} refs/heads/topic\n{a} {a} refs/heads/release-3/x\n")
    assert result.message == "You are not allowed to push code to protected branches on this project."
    assert len(statements) == 3, statements
    # A pull is decided at project level: protection rules are not read.
    assert check("git-upload-pack", "_any")["status"] is True
    assert len(statements) == 2, statements


def test_push_reads_the_rules_that_can_match_its_branches(session):
    """Exact-name rules of the pushed branches and every wildcard rule, compared case-sensitively."""
    namespace = NamespaceService(session).create_group(name="G", path="g", parent_id=None, visibility="private",
                                                       description="", creator_id=None, now=NOW)  # fmt: skip
    project = ProjectService(session).create(namespace=namespace, name="App", path="app", visibility="private", description="",
                                             default_branch="main", creator_id=None, now=NOW)  # fmt: skip
    rules = GitlabInternalRepository(session)
    for name in ("main", "Main", "ma_n", "ma%n", "release-*", "*-stable", "hot*fix", "other"):
        rules.add_protected_branch(project_id=project.id, name=name, push=[40], merge=[40], allow_force_push=False, now=NOW)
    found = [rule.name for rule in rules.protected_branches_for(project.id, ["main", "main", "feature"])]
    assert found == ["main", "release-*", "*-stable", "hot*fix"]
    assert [rule.name for rule in rules.protected_branches_for(project.id, ["ma%n"])] == ["ma%n", "release-*", "*-stable", "hot*fix"]
