"""The git access rules of /internal/allowed, exhaustively: visibility x role x action, user states,
deploy keys, protected branches (push, force push, creation, deletion, wildcards), `_any`."""

from __future__ import annotations

import pytest

from domain.gitlab import access as a
from domain.gitlab.access import (
    AccessRequest,
    Actor,
    Change,
    DeployKeyGrant,
    FeatureAccess,
    Project,
    ProtectedBranch,
    RepoType,
    User,
    Visibility,
    check_access,
    parse_changes,
)

SHA_A = "a" * 40
SHA_B = "b" * 40
ZERO = "0" * 40
URL = "https://git.example.test"

ROLES = {
    "anonymous": (None, a.NO_ACCESS),
    "non_member": (User(2, "alice"), a.NO_ACCESS),
    "external": (User(3, "ext", external=True), a.NO_ACCESS),
    "guest": (User(4, "guest"), a.GUEST),
    "reporter": (User(5, "rep"), a.REPORTER),
    "developer": (User(6, "dev"), a.DEVELOPER),
    "maintainer": (User(7, "maint"), a.MAINTAINER),
    "owner": (User(8, "own"), a.OWNER),
    "admin": (User(1, "root", admin=True), a.NO_ACCESS),
}

OK = "ok"
NF = ("404", a.MSG_PROJECT_NOT_FOUND)
NO_DOWNLOAD = ("401", a.MSG_DOWNLOAD)
NO_PUSH = ("401", a.MSG_PUSH_CODE)
NO_UPLOAD = ("401", a.MSG_UPLOAD_ANONYMOUS)

# Expected outcome per visibility, role: (download, push with _any)
MATRIX = {
    "private": {
        "anonymous": (NF, NF), "non_member": (NF, NF), "external": (NF, NF),
        "guest": (NO_DOWNLOAD, NO_PUSH), "reporter": (OK, NO_PUSH), "developer": (OK, OK),
        "maintainer": (OK, OK), "owner": (OK, OK), "admin": (OK, OK),
    },
    "internal": {
        "anonymous": (NF, NF), "non_member": (OK, NO_PUSH), "external": (NF, NF),
        "guest": (OK, NO_PUSH), "reporter": (OK, NO_PUSH), "developer": (OK, OK),
        "maintainer": (OK, OK), "owner": (OK, OK), "admin": (OK, OK),
    },
    "public": {
        "anonymous": (OK, NO_UPLOAD), "non_member": (OK, NO_PUSH), "external": (OK, NO_PUSH),
        "guest": (OK, NO_PUSH), "reporter": (OK, NO_PUSH), "developer": (OK, OK),
        "maintainer": (OK, OK), "owner": (OK, OK), "admin": (OK, OK),
    },
}  # fmt: skip


def outcome(result: a.Result):
    if result.allowed:
        return OK
    return (str(result.status), result.message)


def request(role: str, visibility: str = "private", action: str = "git-upload-pack", **kwargs) -> AccessRequest:
    user, level = ROLES[role]
    project = kwargs.pop("project", None) or Project(1, "group/project", Visibility(visibility))
    return AccessRequest(actor=Actor(user=user), project=project, action=action, access_level=level,
                         external_url=URL, **kwargs)  # fmt: skip


@pytest.mark.parametrize("visibility", ["private", "internal", "public"])
@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("action", ["git-upload-pack", "git-upload-archive", "git-receive-pack"])
def test_access_matrix(visibility, role, action):
    download, push = MATRIX[visibility][role]
    expected = push if action == "git-receive-pack" else download
    assert outcome(check_access(request(role, visibility, action))) == expected


@pytest.mark.parametrize(
    "state, message",
    [
        ("blocked", a.MSG_BLOCKED),
        ("ldap_blocked", a.MSG_BLOCKED),
        ("blocked_pending_approval", a.MSG_PENDING_APPROVAL),
        ("deactivated", f"Your account has been deactivated by your administrator. Please log back in from a web browser to reactivate your account at {URL}"),
    ],
)
@pytest.mark.parametrize("action", ["git-upload-pack", "git-receive-pack"])
def test_inactive_users_are_refused_even_on_public_projects(state, message, action):
    user = User(9, "gone", state=state, admin=True)
    req = AccessRequest(actor=Actor(user=user), project=Project(1, "g/p", Visibility.PUBLIC), action=action,
                        access_level=a.OWNER, external_url=URL)  # fmt: skip
    assert outcome(check_access(req)) == ("401", message)


def test_user_state_is_checked_before_the_project_exists():
    req = AccessRequest(actor=Actor(user=User(9, "b", state="blocked")), project=None, action="git-upload-pack")
    assert outcome(check_access(req)) == ("401", a.MSG_BLOCKED)


def test_internal_users_are_refused():
    req = request("developer")
    req = AccessRequest(actor=Actor(user=User(9, "bot", internal=True)), project=req.project, action="git-upload-pack")
    assert outcome(check_access(req)) == ("401", a.MSG_INTERNAL_USER)


@pytest.mark.parametrize("action", ["", "git-lfs-transfer", "git upload-pack", "rm -rf"])
def test_unknown_commands_are_refused_before_the_project_lookup(action):
    req = AccessRequest(actor=Actor(user=User(2, "x")), project=None, action=action)
    assert outcome(check_access(req)) == ("401", a.MSG_COMMAND_NOT_ALLOWED)


def test_missing_project_is_404_for_everyone():
    for role in ROLES:
        for action in ("git-upload-pack", "git-receive-pack"):
            req = AccessRequest(actor=Actor(user=ROLES[role][0]), project=None, action=action)
            assert outcome(check_access(req)) == NF


def test_snippet_repositories_are_not_found():
    req = request("admin", repo_type=RepoType.SNIPPET)
    assert outcome(check_access(req)) == ("404", a.MSG_SNIPPET_NOT_FOUND)


# --- repository feature and archived projects ------------------------------------------------------
@pytest.mark.parametrize("role, expected", [("anonymous", NO_DOWNLOAD), ("non_member", NO_DOWNLOAD), ("guest", NO_DOWNLOAD),
                                            ("reporter", OK), ("admin", OK)])  # fmt: skip
def test_members_only_repository_of_a_public_project(role, expected):
    project = Project(1, "g/p", Visibility.PUBLIC, repository_access=FeatureAccess.PRIVATE)
    assert outcome(check_access(request(role, project=project))) == expected


@pytest.mark.parametrize("role", ["anonymous", "reporter", "maintainer"])
def test_disabled_repository_cannot_be_downloaded(role):
    project = Project(1, "g/p", Visibility.PUBLIC, repository_access=FeatureAccess.DISABLED)
    assert outcome(check_access(request(role, project=project))) == NO_DOWNLOAD


@pytest.mark.parametrize("role", ["developer", "maintainer", "owner", "admin"])
def test_archived_projects_refuse_pushes_but_allow_pulls(role):
    project = Project(1, "g/p", Visibility.PRIVATE, archived=True)
    assert outcome(check_access(request(role, project=project))) == OK
    assert outcome(check_access(request(role, project=project, action="git-receive-pack"))) == NO_PUSH
    changes = (Change(SHA_A, SHA_B, "refs/heads/topic"),)
    assert outcome(check_access(request(role, project=project, action="git-receive-pack", changes=changes))) == NO_PUSH


# --- deploy keys ---------------------------------------------------------------------------------------
def key_request(visibility: str, action: str, grant: DeployKeyGrant, **kwargs) -> AccessRequest:
    return AccessRequest(actor=Actor(deploy_key=grant), project=Project(1, "g/p", Visibility(visibility)),
                         action=action, **kwargs)  # fmt: skip


DEPLOY_MATRIX = {
    # (enabled, can_push): visibility -> (download, push)
    (False, False): {"private": (NF, NF), "internal": (NF, NF),
                     "public": (OK, ("401", a.MSG_DEPLOY_KEY_UPLOAD))},
    (True, False): {v: (OK, ("401", a.MSG_DEPLOY_KEY_UPLOAD)) for v in ("private", "internal", "public")},
    (True, True): {v: (OK, OK) for v in ("private", "internal", "public")},
}  # fmt: skip


@pytest.mark.parametrize("grant", list(DEPLOY_MATRIX))
@pytest.mark.parametrize("visibility", ["private", "internal", "public"])
@pytest.mark.parametrize("action", ["git-upload-pack", "git-upload-archive", "git-receive-pack"])
def test_deploy_key_matrix(grant, visibility, action):
    download, push = DEPLOY_MATRIX[grant][visibility]
    req = key_request(visibility, action, DeployKeyGrant(7, enabled=grant[0], can_push=grant[1]))
    assert outcome(check_access(req)) == (push if action == "git-receive-pack" else download)


def test_write_deploy_keys_skip_per_ref_checks():
    rules = (ProtectedBranch("main", push_access_levels=(a.NO_ACCESS,)),)
    project = Project(1, "g/p", Visibility.PRIVATE, protected_branches=rules)
    changes = (Change(SHA_A, ZERO, "refs/heads/main"), Change(SHA_A, SHA_B, "refs/heads/main", forced=True))
    req = AccessRequest(actor=Actor(deploy_key=DeployKeyGrant(3, True, True)), project=project,
                        action="git-receive-pack", changes=changes)  # fmt: skip
    assert check_access(req).allowed


def test_deploy_key_on_members_only_public_repository():
    project = Project(1, "g/p", Visibility.PUBLIC, repository_access=FeatureAccess.PRIVATE)
    refused = AccessRequest(actor=Actor(deploy_key=DeployKeyGrant(3)), project=project, action="git-upload-pack")
    assert outcome(check_access(refused)) == NO_DOWNLOAD
    enabled = AccessRequest(actor=Actor(deploy_key=DeployKeyGrant(3, True)), project=project, action="git-upload-pack")
    assert check_access(enabled).allowed


# --- protected branches: GitLab's push matrix (branch `feature`, maintainers can push) ---------------
PROTECTED = (ProtectedBranch("feature", push_access_levels=(a.MAINTAINER,), merge_access_levels=(a.MAINTAINER,)),)
PUSHES = {
    "any": None,
    "new_branch": (Change(ZERO, SHA_A, "refs/heads/topic"),),
    "push_master": (Change(SHA_A, SHA_B, "refs/heads/master"),),
    "push_protected": (Change(SHA_A, SHA_B, "refs/heads/feature"),),
    "delete_protected": (Change(SHA_A, ZERO, "refs/heads/feature"),),
    "push_tag": (Change(SHA_A, SHA_B, "refs/tags/v1.0"),),
    "new_tag": (Change(ZERO, SHA_A, "refs/tags/v1.1"),),
}
PUSH_MATRIX = {
    "admin": {"delete_protected": ("401", a.MSG_NON_WEB_DELETE_PROTECTED)},
    "owner": {"delete_protected": ("401", a.MSG_NON_WEB_DELETE_PROTECTED)},
    "maintainer": {"delete_protected": ("401", a.MSG_NON_WEB_DELETE_PROTECTED)},
    "developer": {"push_protected": ("401", a.MSG_PUSH_PROTECTED),
                  "delete_protected": ("401", a.MSG_DELETE_PROTECTED_NON_MAINTAINER)},
    "reporter": {name: NO_PUSH for name in PUSHES},
    "guest": {name: NO_PUSH for name in PUSHES},
}  # fmt: skip


@pytest.mark.parametrize("role", list(PUSH_MATRIX))
@pytest.mark.parametrize("push", list(PUSHES))
def test_protected_branch_push_matrix(role, push):
    project = Project(1, "g/p", Visibility.PRIVATE, default_branch="master", protected_branches=PROTECTED)
    req = request(role, project=project, action="git-receive-pack", changes=PUSHES[push])
    assert outcome(check_access(req)) == PUSH_MATRIX[role].get(push, OK)


@pytest.mark.parametrize(
    "levels, allowed_roles",
    [
        ((a.DEVELOPER,), {"developer", "maintainer", "owner", "admin"}),
        ((a.MAINTAINER,), {"maintainer", "owner", "admin"}),
        ((a.NO_ACCESS,), set()),
        ((a.NO_ACCESS, a.DEVELOPER), {"developer", "maintainer", "owner", "admin"}),
    ],
)
@pytest.mark.parametrize("role", ["reporter", "developer", "maintainer", "owner", "admin"])
def test_protected_branch_push_levels(levels, allowed_roles, role):
    rules = (ProtectedBranch("main", push_access_levels=levels),)
    project = Project(1, "g/p", Visibility.INTERNAL, protected_branches=rules)
    req = request(role, project=project, action="git-receive-pack", changes=(Change(SHA_A, SHA_B, "refs/heads/main"),))
    if role == "reporter":
        expected = NO_PUSH
    else:
        expected = OK if role in allowed_roles else ("401", a.MSG_PUSH_PROTECTED)
    assert outcome(check_access(req)) == expected


def test_any_skips_per_ref_rules():
    rules = (ProtectedBranch("*", push_access_levels=(a.NO_ACCESS,)),)
    project = Project(1, "g/p", Visibility.PRIVATE, protected_branches=rules)
    assert check_access(request("developer", project=project, action="git-receive-pack", changes=None)).allowed
    real = (Change(SHA_A, SHA_B, "refs/heads/anything"),)
    refused = check_access(request("developer", project=project, action="git-receive-pack", changes=real))
    assert outcome(refused) == ("401", a.MSG_PUSH_PROTECTED)


@pytest.mark.parametrize(
    "pattern, branch, protected",
    [
        ("main", "main", True), ("main", "main2", False), ("feat*", "feature", True), ("feat*", "feat", True),
        ("feat*", "afeat", False), ("*-stable", "13-10-stable", True), ("*-stable", "13-10-stable-ee", False),
        ("release/*", "release/1.0", True), ("release/*", "release", False), ("a.b", "axb", False), ("*", "x/y", True),
    ],
)  # fmt: skip
def test_protected_branch_wildcards(pattern, branch, protected):
    assert ProtectedBranch(pattern).matches(branch) is protected


def test_any_matching_rule_grants_push():
    rules = (ProtectedBranch("release/*", push_access_levels=(a.MAINTAINER,)),
             ProtectedBranch("release/1.0", push_access_levels=(a.DEVELOPER,)))  # fmt: skip
    project = Project(1, "g/p", Visibility.PRIVATE, protected_branches=rules)
    change = (Change(SHA_A, SHA_B, "refs/heads/release/1.0"),)
    assert check_access(request("developer", project=project, action="git-receive-pack", changes=change)).allowed
    other = (Change(SHA_A, SHA_B, "refs/heads/release/2.0"),)
    refused = check_access(request("developer", project=project, action="git-receive-pack", changes=other))
    assert outcome(refused) == ("401", a.MSG_PUSH_PROTECTED)


@pytest.mark.parametrize("allow_force_push", [False, True])
@pytest.mark.parametrize("role", ["maintainer", "admin"])
def test_force_push_to_protected_branch(allow_force_push, role):
    rules = (ProtectedBranch("main", allow_force_push=allow_force_push),)
    project = Project(1, "g/p", Visibility.PRIVATE, protected_branches=rules)
    change = (Change(SHA_A, SHA_B, "refs/heads/main", forced=True),)
    result = check_access(request(role, project=project, action="git-receive-pack", changes=change))
    assert outcome(result) == (OK if allow_force_push else ("401", a.MSG_FORCE_PUSH_PROTECTED))


def test_force_push_to_unprotected_branch_is_allowed():
    project = Project(1, "g/p", Visibility.PRIVATE, protected_branches=(ProtectedBranch("main"),))
    change = (Change(SHA_A, SHA_B, "refs/heads/topic", forced=True),)
    assert check_access(request("developer", project=project, action="git-receive-pack", changes=change)).allowed


def test_force_push_allowed_still_needs_push_access():
    rules = (ProtectedBranch("main", allow_force_push=True),)
    project = Project(1, "g/p", Visibility.PRIVATE, protected_branches=rules)
    change = (Change(SHA_A, SHA_B, "refs/heads/main", forced=True),)
    result = check_access(request("developer", project=project, action="git-receive-pack", changes=change))
    assert outcome(result) == ("401", a.MSG_PUSH_PROTECTED)


@pytest.mark.parametrize(
    "push_levels, merge_levels, role, protocol, expected",
    [
        ((a.MAINTAINER,), (a.MAINTAINER,), "maintainer", "ssh", OK),
        ((a.MAINTAINER,), (a.MAINTAINER,), "developer", "ssh", ("401", a.MSG_CREATE_PROTECTED)),
        ((a.NO_ACCESS,), (a.DEVELOPER,), "developer", "ssh", ("401", a.MSG_NON_WEB_CREATE_PROTECTED)),
        ((a.NO_ACCESS,), (a.DEVELOPER,), "developer", "web", OK),
        ((a.NO_ACCESS,), (a.NO_ACCESS,), "admin", "ssh", ("401", a.MSG_CREATE_PROTECTED)),
    ],
)
def test_creating_a_protected_branch(push_levels, merge_levels, role, protocol, expected):
    rules = (ProtectedBranch("stable*", push_access_levels=push_levels, merge_access_levels=merge_levels),)
    project = Project(1, "g/p", Visibility.PRIVATE, protected_branches=rules)
    change = (Change(ZERO, SHA_A, "refs/heads/stable-1"),)
    result = check_access(request(role, project=project, action="git-receive-pack", changes=change, protocol=protocol))
    assert outcome(result) == expected


def test_deleting_protected_branch_from_the_web_by_a_maintainer():
    project = Project(1, "g/p", Visibility.PRIVATE, protected_branches=(ProtectedBranch("feature"),))
    change = (Change(SHA_A, ZERO, "refs/heads/feature"),)
    assert check_access(request("maintainer", project=project, action="git-receive-pack", changes=change, protocol="web")).allowed


@pytest.mark.parametrize("role", ["developer", "maintainer", "admin"])
def test_default_branch_cannot_be_deleted(role):
    project = Project(1, "g/p", Visibility.PRIVATE, default_branch="main")
    change = (Change(SHA_A, ZERO, "refs/heads/main"),)
    result = check_access(request(role, project=project, action="git-receive-pack", changes=change))
    assert outcome(result) == ("401", a.MSG_DELETE_DEFAULT_BRANCH)


def test_unprotected_branch_deletion_is_allowed_to_developers():
    project = Project(1, "g/p", Visibility.PRIVATE, default_branch="main")
    change = (Change(SHA_A, ZERO, "refs/heads/topic"),)
    assert check_access(request("developer", project=project, action="git-receive-pack", changes=change)).allowed


def test_hexadecimal_branch_names_are_refused():
    project = Project(1, "g/p", Visibility.PRIVATE)
    change = (Change(ZERO, SHA_A, "refs/heads/" + "ab" * 20),)
    result = check_access(request("maintainer", project=project, action="git-receive-pack", changes=change))
    assert outcome(result) == ("401", a.MSG_HEX_BRANCH)
    deletion = (Change(SHA_A, ZERO, "refs/heads/" + "ab" * 20),)
    assert check_access(request("maintainer", project=project, action="git-receive-pack", changes=deletion)).allowed


def test_first_failing_change_decides():
    rules = (ProtectedBranch("main"),)
    project = Project(1, "g/p", Visibility.PRIVATE, protected_branches=rules, default_branch="main")
    changes = (Change(ZERO, SHA_A, "refs/heads/ok"), Change(SHA_A, SHA_B, "refs/heads/main"), Change(SHA_A, ZERO, "refs/heads/main"))
    result = check_access(request("developer", project=project, action="git-receive-pack", changes=changes))
    assert outcome(result) == ("401", a.MSG_PUSH_PROTECTED)


# --- wiki repositories ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role, pull, push", [
    ("guest", OK, ("401", a.MSG_WIKI_PUSH)), ("reporter", OK, ("401", a.MSG_WIKI_PUSH)),
    ("developer", OK, OK), ("non_member", NF, NF),
])  # fmt: skip
def test_wiki_repositories(role, pull, push):
    assert outcome(check_access(request(role, repo_type=RepoType.WIKI))) == pull
    assert outcome(check_access(request(role, action="git-receive-pack", repo_type=RepoType.WIKI))) == push


# --- the changes parameter -------------------------------------------------------------------------------
def test_parse_changes():
    assert parse_changes("_any") is None
    assert parse_changes(None) is None
    assert parse_changes("  ") is None
    parsed = parse_changes(f"{ZERO} {SHA_A} refs/heads/new\n\n{SHA_A} {ZERO} refs/heads/old\n")
    assert parsed == (Change(ZERO, SHA_A, "refs/heads/new"), Change(SHA_A, ZERO, "refs/heads/old"))
    assert parsed[0].creation and not parsed[0].deletion
    assert parsed[1].deletion and not parsed[1].creation
    # Like GitLab, malformed lines are not refused: they carry no ref, so only `push_code` applies.
    assert parse_changes("only two") == (Change("only", "two", ""),)
    assert parse_changes(f"{ZERO} {SHA_A} refs/heads/x extra") == (Change(ZERO, SHA_A, "refs/heads/x"),)


@pytest.mark.parametrize("role, expected", [("developer", OK), ("reporter", NO_PUSH)])
def test_malformed_change_lines_need_push_access(role, expected):
    rules = (ProtectedBranch("*", push_access_levels=(a.NO_ACCESS,)),)
    project = Project(1, "g/p", Visibility.PRIVATE, protected_branches=rules)
    req = request(role, project=project, action="git-receive-pack", changes=parse_changes("garbage"))
    assert outcome(check_access(req)) == expected


def test_missing_namespace_is_its_own_404():
    req = AccessRequest(actor=Actor(user=User(2, "x")), project=None, action="git-receive-pack", namespace_missing=True)
    assert outcome(check_access(req)) == ("404", a.MSG_NAMESPACE_NOT_FOUND)
    blocked = AccessRequest(actor=Actor(user=User(2, "x", state="blocked")), project=None, action="git-receive-pack",
                            namespace_missing=True)  # fmt: skip
    assert outcome(check_access(blocked)) == ("401", a.MSG_BLOCKED)
