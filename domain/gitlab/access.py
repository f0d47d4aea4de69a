"""Git access rules of `/internal/allowed`: who may pull from and push to a repository.

Pure: inputs are plain dataclasses the caller assembles from storage (the actor, the project with
its visibility and the actor's effective access level, the protected-branch rules, the `changes`
lines), the output is `Allowed` or a `Denied` carrying GitLab's exact message and HTTP status
(401 for refusals, 404 for what the actor may not see). Follows shared/reference/gitlab-internal.md
section 5 (GitLab 13.8-13.10): the order of checks in 5.2, the rules in 5.3.

Not modelled, because Tollgate keeps no git repositories: the object graph (force pushes are
reported by the caller through `Change.forced`; "safe commit" checks for new protected branches),
empty repositories, merge requests, protected tags, snippets (none exist), instance protocol
restrictions and EE checks.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from functools import lru_cache

# --- GitLab's numeric access levels ---------------------------------------------------------------
NO_ACCESS = 0
GUEST = 10
REPORTER = 20
DEVELOPER = 30
MAINTAINER = 40
OWNER = 50

BLANK_REV = "0" * 40
ANY = "_any"


class GitAction(str, enum.Enum):
    UPLOAD_PACK = "git-upload-pack"
    RECEIVE_PACK = "git-receive-pack"
    UPLOAD_ARCHIVE = "git-upload-archive"

    @property
    def is_push(self) -> bool:
        return self is GitAction.RECEIVE_PACK


class Visibility(str, enum.Enum):
    PRIVATE = "private"
    INTERNAL = "internal"
    PUBLIC = "public"


class FeatureAccess(str, enum.Enum):
    """A project feature's access level (the repository here): everyone / members only / off."""

    ENABLED = "enabled"
    PRIVATE = "private"
    DISABLED = "disabled"


class RepoType(str, enum.Enum):
    PROJECT = "project"
    WIKI = "wiki"
    SNIPPET = "snippet"


# --- messages (exact, as GitLab Shell shows them) --------------------------------------------------
MSG_PROJECT_NOT_FOUND = "The project you were looking for could not be found."
MSG_SNIPPET_NOT_FOUND = "The snippet you were looking for could not be found."
MSG_NAMESPACE_NOT_FOUND = "The namespace you were looking for could not be found."
MSG_COMMAND_NOT_ALLOWED = "The command you're trying to execute is not allowed."
MSG_BLOCKED = "Your account has been blocked."
MSG_PENDING_APPROVAL = "Your account is pending approval from your administrator and hence blocked."
MSG_DEACTIVATED = (
    "Your account has been deactivated by your administrator. "
    "Please log back in from a web browser to reactivate your account at {url}"
)
MSG_INTERNAL_USER = "This action cannot be performed by internal users"
MSG_DOWNLOAD = "You are not allowed to download code from this project."
MSG_UPLOAD_ANONYMOUS = "You are not allowed to upload code for this project."
MSG_PUSH_CODE = "You are not allowed to push code to this project."
MSG_DEPLOY_KEY_UPLOAD = "This deploy key does not have write access to this project."
MSG_WIKI_PUSH = "You are not allowed to write to this project's wiki."
MSG_DELETE_DEFAULT_BRANCH = "The default branch of a project cannot be deleted."
MSG_HEX_BRANCH = "You cannot create a branch with a 40-character hexadecimal branch name."
MSG_FORCE_PUSH_PROTECTED = "You are not allowed to force push code to a protected branch on this project."
MSG_CREATE_PROTECTED = "You are not allowed to create protected branches on this project."
MSG_NON_WEB_CREATE_PROTECTED = "You can only create protected branches using the web interface and API."
MSG_DELETE_PROTECTED_NON_MAINTAINER = (
    "You are not allowed to delete protected branches from this project. "
    "Only a project maintainer or owner can delete a protected branch."
)
MSG_NON_WEB_DELETE_PROTECTED = "You can only delete protected branches using the web interface."
MSG_PUSH_PROTECTED = "You are not allowed to push code to protected branches on this project."
MSG_CHANGE_EXISTING_TAGS = "You are not allowed to change existing tags on this project."

USER_STATES = ("active", "blocked", "deactivated", "blocked_pending_approval", "ldap_blocked")


# --- inputs ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class User:
    id: int
    username: str
    state: str = "active"
    admin: bool = False
    external: bool = False
    internal: bool = False
    """A GitLab internal user (bots, ghost): never allowed to run git commands."""


@dataclass(frozen=True)
class DeployKeyGrant:
    """A deploy key as seen from one project: enabled there or not, with write access or not."""

    key_id: int
    enabled: bool = False
    can_push: bool = False


@dataclass(frozen=True)
class Actor:
    """Who runs the git command. `user` is None for anonymous callers, unknown keys and deploy keys
    (a deploy key acts as itself, not as its creator: GitLab's `GitAccess#user` is nil for them)."""

    user: User | None = None
    deploy_key: DeployKeyGrant | None = None

    @classmethod
    def anonymous(cls) -> Actor:
        return cls()


@dataclass(frozen=True)
class ProtectedBranch:
    """A protected-branch rule: `name` is exact or a `*` wildcard; levels are 0, 30 or 40 (and 50/60 in EE)."""

    name: str
    push_access_levels: tuple[int, ...] = (MAINTAINER,)
    merge_access_levels: tuple[int, ...] = (MAINTAINER,)
    allow_force_push: bool = False

    def matches(self, branch: str) -> bool:
        if "*" not in self.name:
            return self.name == branch
        return _wildcard(self.name).match(branch) is not None


@lru_cache(maxsize=4096)
def _wildcard(name: str) -> re.Pattern[str]:
    return re.compile(r"\A" + ".*?".join(re.escape(part) for part in name.split("*")) + r"\Z", re.DOTALL)


@dataclass(frozen=True)
class Project:
    id: int
    full_path: str
    visibility: Visibility
    default_branch: str | None = "main"
    archived: bool = False
    repository_access: FeatureAccess = FeatureAccess.ENABLED
    wiki_access: FeatureAccess = FeatureAccess.ENABLED
    protected_branches: tuple[ProtectedBranch, ...] = ()


@dataclass(frozen=True)
class Change:
    oldrev: str
    newrev: str
    ref: str
    forced: bool = False
    """A non-fast-forward update; the caller knows it from the object graph (Tollgate has none)."""

    @property
    def creation(self) -> bool:
        return _blank(self.oldrev)

    @property
    def deletion(self) -> bool:
        return _blank(self.newrev)


def _blank(rev: str) -> bool:
    return not rev or set(rev) == {"0"}


def parse_changes(raw: str | None) -> tuple[Change, ...] | None:
    """The `changes` lines, or None for `_any` (and for a missing or blank value, treated as `_any`).

    Like GitLab's `ChangesList`, a line is split on spaces into oldrev, newrev and ref without further
    validation: a line with fewer parts has an empty ref, so only the project-level push check applies.
    """
    if raw is None or raw.strip() == "" or raw.strip() == ANY:
        return None
    changes = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        parts = line.split()[:3]
        parts += [""] * (3 - len(parts))
        changes.append(Change(*parts))
    return tuple(changes)


@dataclass(frozen=True)
class AccessRequest:
    actor: Actor
    project: Project | None
    action: str
    changes: tuple[Change, ...] | None = None
    """None means `_any`: project-level permission only, no per-ref checks."""
    access_level: int = NO_ACCESS
    """The user's effective (max) membership level in the project, groups and shares included."""
    protocol: str = "ssh"
    repo_type: RepoType = RepoType.PROJECT
    external_url: str = "http://127.0.0.1:8080"
    namespace_missing: bool = False
    """The requested project path has no namespace part (`project: "foo"`): GitLab's namespace 404."""


# --- outputs -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Allowed:
    allowed: bool = field(default=True, init=False)


@dataclass(frozen=True)
class Denied:
    message: str
    status: int = 401
    allowed: bool = field(default=False, init=False)


Result = Allowed | Denied


def forbidden(message: str) -> Denied:
    return Denied(message, 401)


def not_found(message: str) -> Denied:
    return Denied(message, 404)


# --- abilities ---------------------------------------------------------------------------------------
def user_state_refusal(user: User, external_url: str) -> str | None:
    """GitLab's message for a user that may not run git commands, or None for an active user."""
    if user.internal:
        return MSG_INTERNAL_USER
    if user.state == "active":
        return None
    if user.state == "blocked_pending_approval":
        return MSG_PENDING_APPROVAL
    if user.state == "deactivated":
        return MSG_DEACTIVATED.format(url=external_url)
    return MSG_BLOCKED


def _member(request: AccessRequest) -> bool:
    return request.actor.user is not None and request.access_level >= GUEST


def can_read_project(request: AccessRequest) -> bool:
    project, actor = request.project, request.actor
    assert project is not None
    if actor.user is not None and actor.user.admin:
        return True
    if project.visibility is Visibility.PUBLIC:
        return True
    if actor.deploy_key is not None:
        return actor.deploy_key.enabled
    if actor.user is None:
        return False
    if _member(request):
        return True
    return project.visibility is Visibility.INTERNAL and not actor.user.external


def _feature_readable(access: FeatureAccess, request: AccessRequest, *, min_member_level: int) -> bool:
    """Whether the actor may read a project feature (repository, wiki) at `access`."""
    project, actor = request.project, request.actor
    assert project is not None
    if access is FeatureAccess.DISABLED:
        return False
    user = actor.user
    if user is not None and (user.admin or request.access_level >= min_member_level):
        return True
    if actor.deploy_key is not None:
        if actor.deploy_key.enabled:
            return True
        return project.visibility is Visibility.PUBLIC and access is FeatureAccess.ENABLED
    if access is FeatureAccess.PRIVATE:
        return False
    if project.visibility is Visibility.PUBLIC:
        return True
    return project.visibility is Visibility.INTERNAL and user is not None and not user.external


def can_download_code(request: AccessRequest) -> bool:
    assert request.project is not None
    return _feature_readable(request.project.repository_access, request, min_member_level=REPORTER)


def can_push_code(request: AccessRequest) -> bool:
    """Project-level `push_code`: Developer or higher (or admin), not on archived projects."""
    project, user = request.project, request.actor.user
    assert project is not None
    if user is None or project.archived or project.repository_access is FeatureAccess.DISABLED:
        return False
    return user.admin or request.access_level >= DEVELOPER


def _rules_for(project: Project, branch: str) -> list[ProtectedBranch]:
    return [rule for rule in project.protected_branches if rule.matches(branch)]


def _level_grants(level: int, request: AccessRequest) -> bool:
    user = request.actor.user
    if user is None or level == NO_ACCESS:
        return False
    if user.admin:
        return True
    return can_push_code(request) and request.access_level >= level


def can_push_to_branch(request: AccessRequest, branch: str) -> bool:
    if not can_push_code(request):
        return False
    rules = _rules_for(request.project, branch)  # type: ignore[arg-type]
    if not rules:
        return True
    return any(_level_grants(level, request) for rule in rules for level in rule.push_access_levels)


def can_merge_to_branch(request: AccessRequest, branch: str) -> bool:
    if not can_push_code(request):
        return False
    rules = _rules_for(request.project, branch)  # type: ignore[arg-type]
    if not rules:
        return True
    return any(_level_grants(level, request) for rule in rules for level in rule.merge_access_levels)


def can_delete_protected_branch(request: AccessRequest) -> bool:
    user = request.actor.user
    return user is not None and (user.admin or (can_push_code(request) and request.access_level >= MAINTAINER))


# --- the check -----------------------------------------------------------------------------------------
def check_access(request: AccessRequest) -> Result:
    """Run GitLab's checks in order; the first failure decides the answer."""
    actor = request.actor
    if actor.user is not None:
        refusal = user_state_refusal(actor.user, request.external_url)
        if refusal:
            return forbidden(refusal)
    try:
        action = GitAction(request.action)
    except ValueError:
        return forbidden(MSG_COMMAND_NOT_ALLOWED)

    if request.repo_type is RepoType.SNIPPET:
        return not_found(MSG_SNIPPET_NOT_FOUND)
    project = request.project
    if project is None and request.namespace_missing:
        return not_found(MSG_NAMESPACE_NOT_FOUND)
    if project is None or not can_read_project(request):
        return not_found(MSG_PROJECT_NOT_FOUND)

    if request.repo_type is RepoType.WIKI:
        return _check_wiki(request, action)
    if not action.is_push:
        return Allowed() if can_download_code(request) else forbidden(MSG_DOWNLOAD)
    return _check_push(request)


def _check_wiki(request: AccessRequest, action: GitAction) -> Result:
    project = request.project
    assert project is not None
    if not action.is_push:
        readable = _feature_readable(project.wiki_access, request, min_member_level=GUEST)
        return Allowed() if readable else forbidden(MSG_DOWNLOAD)
    if request.actor.deploy_key is not None:
        grant = request.actor.deploy_key
        return Allowed() if grant.enabled and grant.can_push else forbidden(MSG_DEPLOY_KEY_UPLOAD)
    user = request.actor.user
    if user is None:
        return forbidden(MSG_UPLOAD_ANONYMOUS)
    writable = project.wiki_access is not FeatureAccess.DISABLED and not project.archived and (
        user.admin or request.access_level >= DEVELOPER
    )
    return Allowed() if writable else forbidden(MSG_WIKI_PUSH)


def _check_push(request: AccessRequest) -> Result:
    actor = request.actor
    if actor.deploy_key is not None:
        # A write-enabled deploy key is not subject to per-ref user checks (13.x).
        grant = actor.deploy_key
        return Allowed() if grant.enabled and grant.can_push else forbidden(MSG_DEPLOY_KEY_UPLOAD)
    if actor.user is None:
        return forbidden(MSG_UPLOAD_ANONYMOUS)
    if request.changes is None:
        return Allowed() if can_push_code(request) else forbidden(MSG_PUSH_CODE)
    for change in request.changes:
        refusal = _check_change(request, change)
        if refusal is not None:
            return refusal
    return Allowed()


def _check_change(request: AccessRequest, change: Change) -> Denied | None:
    project = request.project
    assert project is not None
    if not can_push_code(request):
        return forbidden(MSG_PUSH_CODE)
    if change.ref.startswith("refs/heads/"):
        return _check_branch(request, change, change.ref[len("refs/heads/"):])
    # Tags: `admin_tag` (changing an existing tag) is Developer+ in 13.x, the same bar as `push_code`
    # above, so MSG_CHANGE_EXISTING_TAGS cannot arise; protected tags are not modelled.
    return None


_HEX40 = re.compile(r"\A[0-9a-fA-F]{40}\Z")


def _check_branch(request: AccessRequest, change: Change, branch: str) -> Denied | None:
    project = request.project
    assert project is not None
    if change.deletion and branch == project.default_branch:
        return forbidden(MSG_DELETE_DEFAULT_BRANCH)
    if not change.deletion and _HEX40.match(branch):
        return forbidden(MSG_HEX_BRANCH)
    rules = _rules_for(project, branch)
    if not rules:
        return None
    if change.forced and not change.creation and not change.deletion and not any(r.allow_force_push for r in rules):
        return forbidden(MSG_FORCE_PUSH_PROTECTED)
    web = request.protocol == "web"
    if change.creation:
        if can_push_to_branch(request, branch):
            return None
        if not can_merge_to_branch(request, branch):
            return forbidden(MSG_CREATE_PROTECTED)
        return None if web else forbidden(MSG_NON_WEB_CREATE_PROTECTED)
    if change.deletion:
        if not can_delete_protected_branch(request):
            return forbidden(MSG_DELETE_PROTECTED_NON_MAINTAINER)
        return None if web else forbidden(MSG_NON_WEB_DELETE_PROTECTED)
    if not can_push_to_branch(request, branch):
        return forbidden(MSG_PUSH_PROTECTED)
    return None
