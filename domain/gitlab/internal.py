"""The GitLab internal API for GitLab Shell and Gitaly: actors, repositories, `/allowed`, LFS tokens,
key lookups, 2FA recovery codes, personal access tokens, reference counters and post-receive messages.

Behaviour follows shared/reference/gitlab-internal.md sections 3-11 with the rulings of DECISIONS.md
(1, 12, 13, 16, 18, 19, 22). The access rules themselves are `domain.gitlab.access` (pure); this module
assembles their inputs from the entity model (`domain.gitlab.entities.EntityReader`) and Tollgate's own
tables (`storage.gitlab_internal`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fnmatch
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlsplit

import jwt

from domain.errors import ValidationError
from domain.gitlab import access
from domain.gitlab.entities import EntityReader, Project, SshKey, User

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

    from storage.gitlab_internal import DeployKey

MAX_DB_ID = 2**31 - 1
STORAGE_NAME = "default"
GITALY_ADDRESS = "unix:/var/opt/gitlab/gitaly/gitaly.socket"
GIT_CONFIG_OPTIONS = ("uploadpack.allowFilter=true", "uploadpack.allowAnySHA1InWant=true")
REFERENCE_COUNTER_TTL = dt.timedelta(seconds=600)
KEY_EXPIRING_SOON = dt.timedelta(days=7)

MSG_KEY_EXPIRED = "INFO: Your SSH key has expired. Please generate a new key."
MSG_KEY_EXPIRING = "INFO: Your SSH key is expiring soon. Please generate a new key."

# 13.x `Gitlab::Auth` scopes a personal access token created through GitLab Shell may carry.
SHELL_TOKEN_SCOPES = ("api", "read_api", "read_registry", "read_repository", "read_user", "write_registry", "write_repository")
RECOVERY_CODES = 10

_GL_REPOSITORY = re.compile(r"\A(project|wiki|snippet|design)-(\d+)\Z")
_IDENTIFIER = re.compile(r"\A(user|key)-(\d+)\Z")


def parameter_error(name: str, reason: str = "invalid") -> ValidationError:
    """Grape's `{"error": "<name> is invalid"}` (400)."""
    return ValidationError(f"{name} is {reason}", body={"error": f"{name} is {reason}"})


def parse_id(value: Any) -> int | None:
    """An id from JSON (integer or string of digits); ids beyond the database's range match nothing."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text.isdigit():
        return None
    number = int(text)
    return number if number <= MAX_DB_ID else -1


def hashed_path(project_id: int) -> str:
    digest = hashlib.sha256(str(project_id).encode()).hexdigest()
    return f"@hashed/{digest[:2]}/{digest[2:4]}/{digest}"


def lenient_base64(value: str) -> bytes:
    """Ruby's `Base64.decode64`: characters outside the alphabet are skipped, a partial group dropped."""
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", value.split("=", 1)[0])
    if len(cleaned) % 4 == 1:
        cleaned = cleaned[:-1]
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned)
    except (binascii.Error, ValueError):
        return b""


def md5_fingerprint(blob: bytes) -> str:
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


# --- actors -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResolvedActor:
    """Who a request names: a user SSH key, a deploy key, or a user; all None when nothing matched."""

    user: User | None = None
    key: SshKey | None = None
    deploy_key: DeployKey | None = None
    key_requested: bool = False

    @property
    def any_key(self) -> bool:
        return self.key is not None or self.deploy_key is not None

    @property
    def key_id(self) -> int | None:
        if self.key is not None:
            return self.key.id
        return self.deploy_key.id if self.deploy_key is not None else None


def _access_user(user: User) -> access.User:
    return access.User(id=user.id, username=user.username, state=user.state, admin=user.admin)


# --- repositories -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Repository:
    repo_type: access.RepoType
    project: Project | None
    redirected_from: str | None = None
    requested_path: str | None = None
    """The `project` path as given (without `/` and `.git`), when the repository was named by path."""
    access_level: tuple[int, dt.date, int] | None = None
    """(user id, day, level): the user's effective access level on `project`, read with it when asked for."""

    @property
    def gl_repository(self) -> str:
        assert self.project is not None
        return f"{self.repo_type.value}-{self.project.id}"

    @property
    def full_path(self) -> str:
        assert self.project is not None
        return self.project.full_path + (".wiki" if self.repo_type is access.RepoType.WIKI else "")

    @property
    def relative_path(self) -> str:
        assert self.project is not None
        return hashed_path(self.project.id) + (".wiki.git" if self.repo_type is access.RepoType.WIKI else ".git")


class InternalService:
    def __init__(self, session: Session, *, external_url: str = "http://127.0.0.1:8080"):
        from storage.gitlab_internal import GitlabInternalRepository

        self.session = session
        self.entities = EntityReader(session)
        self.repository = GitlabInternalRepository(session)
        self.external_url = external_url.rstrip("/")

    # --- resolution ---
    def key(self, key_id: int | None) -> tuple[SshKey | None, DeployKey | None]:
        from storage.gitlab_internal import DEPLOY_KEY_ID_BASE

        if key_id is None or key_id < 0:
            return None, None
        if key_id > DEPLOY_KEY_ID_BASE:
            return None, self.repository.deploy_key(key_id)
        return self.entities.ssh_key(key_id), None

    def resolve_actor(self, *, key_id: Any = None, user_id: Any = None, username: str | None = None,
                      identifier: str | None = None) -> ResolvedActor:  # fmt: skip
        """The first present of `key_id`, `user_id`, `username`, `identifier` decides (section 3)."""
        if key_id is not None:
            from storage.gitlab_internal import DEPLOY_KEY_ID_BASE

            number = parse_id(key_id)
            if number is not None and 0 <= number <= DEPLOY_KEY_ID_BASE:
                # A user key and its owner in one read (the hot path of `/allowed`).
                key, user = self.entities.ssh_key_with_owner(number)
                return ResolvedActor(user=user, key=key, key_requested=True)
            key, deploy_key = self.key(number)
            owner_id = key.user_id if key is not None else (deploy_key.user_id if deploy_key is not None else None)
            user = self.entities.user(owner_id) if owner_id is not None else None
            return ResolvedActor(user=user, key=key, deploy_key=deploy_key, key_requested=True)
        if user_id is not None:
            number = parse_id(user_id)
            return ResolvedActor(user=self.entities.user(number) if number and number > 0 else None)
        if username is not None:
            return ResolvedActor(user=self.entities.user_by_username(username) if username else None)
        if identifier is not None:
            match = _IDENTIFIER.match(identifier)
            if match and match.group(1) == "user":
                return ResolvedActor(user=self.entities.user(parse_id(match.group(2)) or 0))
            if match:
                return self.resolve_actor(key_id=match.group(2))
        return ResolvedActor()

    def _project(self, ref: int | str, level_for: tuple[int, dt.date] | None) -> tuple[Project | None, tuple[int, dt.date, int] | None]:
        """The project, with the access level of `level_for` (user id, day) read in the same query when given."""
        if level_for is None:
            return self.entities.project(ref), None
        user_id, today = level_for
        project, level = self.entities.project_with_access_level(ref, user_id, today=today)
        return project, (user_id, today, level) if project is not None else None

    def project_by_path(self, path: str, *, level_for: tuple[int, dt.date] | None = None
                        ) -> tuple[Project | None, str | None, tuple[int, dt.date, int] | None]:  # fmt: skip
        project, level = self._project(path, level_for) if path and not path.isdigit() else (None, None)
        if project is not None:
            return project, None, level
        redirect = self.repository.redirect(path) if path else None
        if redirect is not None:
            project, level = self._project(redirect, level_for)
            return project, path, level
        return None, None, None

    def resolve_repository(self, *, gl_repository: str | None, project: str | None,
                           level_for: tuple[int, dt.date] | None = None) -> Repository:  # fmt: skip
        """The repository a request names. `level_for` (user id, day): also read that user's effective access
        level on the project, in the same query (`allowed` then needs no read of its own for it)."""
        if gl_repository is not None:
            match = _GL_REPOSITORY.match(gl_repository)
            if not match:
                raise parameter_error("gl_repository")
            kind, number = match.group(1), parse_id(match.group(2))
            found, level = self._project(number, level_for) if number and number > 0 and kind in ("project", "wiki") else (None, None)
            repo_type = {"project": access.RepoType.PROJECT, "wiki": access.RepoType.WIKI}.get(kind, access.RepoType.SNIPPET)
            return Repository(repo_type, found, access_level=level)
        path = (project or "").strip()
        path = path[1:] if path.startswith("/") else path
        path = path[:-4] if path.endswith(".git") else path
        found, redirected, level = self.project_by_path(path, level_for=level_for)
        if found is not None:
            return Repository(access.RepoType.PROJECT, found, redirected, requested_path=path, access_level=level)
        if path.endswith(".wiki"):
            found, redirected, level = self.project_by_path(path[: -len(".wiki")], level_for=level_for)
            if found is not None:
                return Repository(access.RepoType.WIKI, found, redirected, access_level=level)
        parts = path.split("/")
        if len(parts) >= 2 and parts[-2] == "snippets" and parts[-1].isdigit():
            return Repository(access.RepoType.SNIPPET, None)
        return Repository(access.RepoType.PROJECT, None, requested_path=path)

    def create_on_push(self, actor: ResolvedActor, repository: Repository, *, now: dt.datetime) -> Repository:
        """GitLab creates a missing project on a push with `_any` (section 5.4): a private project named by the
        last path segment, in a namespace the user may create projects in (their own, a group where they are
        Developer or more, any as admin). Otherwise nothing happens and the access check answers 404."""
        from domain.errors import DomainError
        from domain.gitlab.namespaces import NamespaceService, path_problem
        from domain.gitlab.projects import ProjectService

        user, path = actor.user, repository.requested_path or ""
        if user is None or actor.deploy_key is not None or "/" not in path:
            return repository
        if access.user_state_refusal(_access_user(user), self.external_url) is not None:
            return repository
        namespace_path, _, project_path = path.rpartition("/")
        namespace = NamespaceService(self.session).find(namespace_path)
        if namespace is None or path_problem(project_path):
            return repository
        allowed = user.admin or (namespace.owner_id == user.id if namespace.kind == "user" else
                                 self.entities.group_access_level(user.id, namespace, today=now.date()) >= access.DEVELOPER)  # fmt: skip
        if not allowed:
            return repository
        try:
            project = ProjectService(self.session).create(
                namespace=namespace, name=project_path, path=project_path, visibility="private", description="",
                default_branch="main", creator_id=user.id, now=now,
            )  # fmt: skip
        except DomainError:
            return repository
        return Repository(access.RepoType.PROJECT, project, requested_path=path)

    def access_project(self, project: Project, *, branches: list[str] | None = None) -> access.Project:
        """The project as the access rules see it. `branches`: the branches a push changes, whose protection
        rules are read (exact names and wildcards); None reads every rule, [] none (a pull or an `_any`
        push is decided at project level and never consults them)."""
        if branches is None:
            records = self.repository.protected_branches(project.id)
        else:
            records = self.repository.protected_branches_for(project.id, branches) if branches else []
        rules = tuple(
            access.ProtectedBranch(rule.name, rule.push_access_levels, rule.merge_access_levels, rule.allow_force_push)
            for rule in records
        )
        return access.Project(
            id=project.id, full_path=project.full_path, visibility=access.Visibility(project.visibility),
            default_branch=project.default_branch, archived=project.archived, protected_branches=rules,
        )  # fmt: skip

    # --- /allowed ---
    def allowed(self, *, actor: ResolvedActor, repository: Repository, action: str, changes: str | None,
                protocol: str, now: dt.datetime) -> dict[str, Any] | access.Denied:  # fmt: skip
        parsed_changes = access.parse_changes(changes)
        created = False
        if (repository.project is None and repository.repo_type is access.RepoType.PROJECT
                and action == access.GitAction.RECEIVE_PACK.value and parsed_changes is None):  # fmt: skip
            repository = self.create_on_push(actor, repository, now=now)
            created = repository.project is not None
        project = repository.project
        access_actor = access.Actor()
        level = access.NO_ACCESS
        if actor.deploy_key is not None:
            link = self.repository.deploy_key_link(actor.deploy_key.id, project.id) if project is not None else None
            grant = access.DeployKeyGrant(actor.deploy_key.id, enabled=link is not None, can_push=bool(link and link.can_push))
            access_actor = access.Actor(deploy_key=grant)
        elif actor.user is not None:
            access_actor = access.Actor(user=_access_user(actor.user))
            if project is not None:
                known = repository.access_level
                if known is not None and known[:2] == (actor.user.id, now.date()):
                    level = known[2]
                else:
                    level = self.entities.project_access_level(actor.user.id, project, today=now.date())
        # Only a push's branch changes are checked against protection rules (`access._check_branch`).
        pushed = [change.ref[len("refs/heads/"):] for change in parsed_changes or () if change.ref.startswith("refs/heads/")]
        branches = pushed if action == access.GitAction.RECEIVE_PACK.value and repository.repo_type is access.RepoType.PROJECT else []
        request = access.AccessRequest(
            actor=access_actor, project=self.access_project(project, branches=branches) if project is not None else None, action=action,
            changes=parsed_changes, access_level=level, protocol=protocol, repo_type=repository.repo_type,
            external_url=self.external_url,
            namespace_missing=project is None and repository.requested_path is not None and "/" not in repository.requested_path,
        )  # fmt: skip
        result = access.check_access(request)
        if isinstance(result, access.Denied):
            return result
        assert project is not None
        if actor.user is not None and repository.repo_type is access.RepoType.PROJECT:
            self._leave_notices(actor.user, repository, protocol=protocol, created=created, now=now)
        messages = []
        if actor.key is not None and actor.key.expires_at is not None:
            if actor.key.expires_at <= now:
                messages.append(MSG_KEY_EXPIRED)
            elif actor.key.expires_at - now <= KEY_EXPIRING_SOON:
                messages.append(MSG_KEY_EXPIRING)
        payload: dict[str, Any] = {
            "status": True,
            "gl_repository": repository.gl_repository,
            "gl_project_path": repository.full_path,
            "gl_id": f"user-{actor.user.id}" if actor.user is not None else "",
            "git_config_options": list(GIT_CONFIG_OPTIONS),
            "gitaly": {
                "repository": {
                    "storage_name": STORAGE_NAME, "relative_path": repository.relative_path, "git_object_directory": "",
                    "git_alternate_object_directories": [], "gl_repository": repository.gl_repository,
                    "gl_project_path": repository.full_path,
                },
                "address": GITALY_ADDRESS,
                "token": None,
                "features": {},
            },
            "gl_console_messages": messages,
        }  # fmt: skip
        if actor.user is not None:
            payload["gl_username"] = actor.user.username
        if actor.any_key:
            payload["gl_key_type"] = "deploy_key" if actor.deploy_key is not None else "key"
            payload["gl_key_id"] = actor.key_id
        return payload

    def repository_url(self, full_path: str, protocol: str) -> str:
        if protocol == "ssh":
            return f"git@{urlsplit(self.external_url).hostname or 'localhost'}:{full_path}.git"
        return f"{self.external_url}/{full_path}.git"

    def _leave_notices(self, user: User, repository: Repository, *, protocol: str, created: bool, now: dt.datetime) -> None:
        """What the next `/post_receive` of this user shows once (GitLab's ProjectMoved / ProjectCreated)."""
        project = repository.project
        assert project is not None
        url = self.repository_url(project.full_path, protocol)
        if repository.redirected_from is not None:
            moved = (f"Project '{repository.redirected_from}' was moved to '{project.full_path}'.\n\n"
                     f"Please update your Git remote:\n\n  git remote set-url origin {url}\n")  # fmt: skip
            self.repository.leave_notice(user.id, project.id, "moved", moved, now)
        if created:
            message = (f"\nThe private project {project.full_path} was successfully created.\n\n"
                       f"To configure the remote, run:\n  git remote add origin {url}\n\n"
                       f"To view the project, visit:\n  {self.external_url}/{project.full_path}\n\n")  # fmt: skip
            self.repository.leave_notice(user.id, project.id, "created", message, now)

    # --- LFS ---
    def lfs_actor_name(self, actor: ResolvedActor) -> str | None:
        if actor.deploy_key is not None:
            return f"lfs+deploy-key-{actor.deploy_key.id}"
        return actor.user.username if actor.user is not None else None

    def http_url(self, repository: Repository) -> str:
        return f"{self.external_url}/{repository.full_path}.git"

    # --- keys and users ---
    def authorized_key(self, *, key: str | None, fingerprint: str | None) -> dict[str, Any] | None:
        md5 = fingerprint.strip().lower() if fingerprint is not None else md5_fingerprint(lenient_base64(key or ""))
        if not re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){15}", md5):
            return None
        ssh_key = self.entities.ssh_key_by_fingerprint(md5)
        if ssh_key is not None:
            owner = self.entities.user(ssh_key.user_id)
            return self._key_entity(ssh_key.id, ssh_key.title, ssh_key.key, owner, ssh_key.created_at, ssh_key.expires_at)
        deploy_key = self.repository.deploy_key_by_fingerprint(md5=md5)
        if deploy_key is None:
            return None
        owner = self.entities.user(deploy_key.user_id) if deploy_key.user_id is not None else None
        return self._key_entity(deploy_key.id, deploy_key.title, deploy_key.key, owner, deploy_key.created_at,
                                deploy_key.expires_at)  # fmt: skip

    def _key_entity(self, key_id: int, title: str, key: str, owner: User | None, created_at: dt.datetime,
                    expires_at: dt.datetime | None) -> dict[str, Any]:  # fmt: skip
        key_type, blob = (key.split() + ["", ""])[:2]
        host = urlsplit(self.external_url).hostname or "localhost"
        comment = f"{owner.name if owner is not None else title} ({host})"
        return {"id": key_id, "title": title, "key": f"{key_type} {blob} {comment}", "created_at": created_at,
                "expires_at": expires_at}  # fmt: skip

    # --- 2FA recovery codes and personal access tokens ---
    @staticmethod
    def actor_refusal(actor: ResolvedActor, *, user_id_given: bool, key_id_given: bool) -> str | None:
        if user_id_given and not key_id_given:
            return None if actor.user is not None else "Could not find the given user"
        if not key_id_given:
            return "Could not find a user without a key"
        if not actor.any_key:
            return "Could not find the given key"
        if actor.user is None:
            return "Could not find a user for the given key"
        return None

    def two_factor_enabled(self, user_id: int) -> bool:
        return self.repository.two_factor(user_id)[0]

    def set_two_factor(self, user_id: int, enabled: bool, *, now: dt.datetime) -> None:
        self.repository.save_two_factor(user_id, enabled=enabled, digests=[], now=now)

    def regenerate_recovery_codes(self, user_id: int, *, now: dt.datetime) -> list[str]:
        codes = [secrets.token_hex(8) for _ in range(RECOVERY_CODES)]
        digests = [hashlib.sha256(code.encode()).hexdigest() for code in codes]
        self.repository.save_two_factor(user_id, enabled=True, digests=digests, now=now)
        return codes

    def recovery_code_valid(self, user_id: int, code: str) -> bool:
        digest = hashlib.sha256(code.encode()).hexdigest()
        return any(hmac.compare_digest(digest, stored) for stored in self.repository.two_factor(user_id)[1])

    # --- reference counters and post-receive ---
    @staticmethod
    def counter_name(gl_repository: str | None) -> str:
        name = gl_repository or ""
        return name if len(name) <= 200 else "sha256:" + hashlib.sha256(name.encode()).hexdigest()

    def increase_reference_counter(self, gl_repository: str | None, *, now: dt.datetime) -> None:
        self.repository.increment_reference_counter(self.counter_name(gl_repository), now=now,
                                                    expires_at=now + REFERENCE_COUNTER_TTL)  # fmt: skip

    def decrease_reference_counter(self, gl_repository: str | None, *, now: dt.datetime) -> None:
        self.repository.decrement_reference_counter(self.counter_name(gl_repository), now=now)

    def reference_counter(self, gl_repository: str | None, *, now: dt.datetime) -> int:
        return self.repository.reference_counter(self.counter_name(gl_repository), now=now)

    def post_receive_messages(self, *, repository: Repository, changes: str | None, now: dt.datetime,
                              user: User | None = None) -> list[dict[str, str]]:  # fmt: skip
        messages: list[dict[str, str]] = []
        project = repository.project
        banner = self.broadcast_banner(project.full_path if project is not None else None, now=now)
        if banner is not None:
            messages.append({"message": banner, "type": "alert"})
        if project is None or repository.repo_type is not access.RepoType.PROJECT:
            return messages
        for line in (changes or "").splitlines():
            parts = line.split()
            if len(parts) != 3 or not parts[2].startswith("refs/heads/") or set(parts[1]) == {"0"}:
                continue
            branch = parts[2][len("refs/heads/"):]
            if not branch or branch == project.default_branch:
                continue
            url = f"{self.external_url}/{project.full_path}/-/merge_requests/new?merge_request%5Bsource_branch%5D={quote_plus(branch)}"
            messages.append({"message": f"To create a merge request for {branch}, visit:\n  {url}", "type": "basic"})
        if user is not None:
            for kind in ("moved", "created"):
                notice = self.repository.take_notice(user.id, project.id, kind)
                if notice is not None:
                    messages.append({"message": notice, "type": "basic"})
        return messages

    def broadcast_banner(self, project_path: str | None, *, now: dt.datetime) -> str | None:
        """The current banner: the last one targeted at the project's path if any, else the last untargeted one."""
        banners = [m for m in self.repository.current_broadcasts(now) if m.broadcast_type == "banner"]
        if project_path is not None:
            targeted = [m for m in banners if m.target_path and _path_matches(m.target_path, "/" + project_path)]
            if targeted:
                return targeted[-1].message
        untargeted = [m for m in banners if not m.target_path]
        return untargeted[-1].message if untargeted else None


def _path_matches(pattern: str, path: str) -> bool:
    pattern = pattern if pattern.startswith("/") else "/" + pattern
    return fnmatch.fnmatchcase(path.lower(), pattern.lower())


# --- LFS tokens ---------------------------------------------------------------------------------------
def _lfs_secret(base_secret: str, actor: str) -> bytes:
    """A per-actor signing key, so a token names exactly one actor (GitLab derives one per user or key)."""
    return hmac.new(base_secret.encode(), f"lfs-token:{actor}".encode(), hashlib.sha256).digest()


def issue_lfs_token(actor: str, *, base_secret: str, ttl_seconds: int, now: dt.datetime) -> str:
    issued = int(now.timestamp())
    claims = {"data": {"actor": actor}, "jti": str(uuid.uuid4()), "iat": issued, "nbf": issued - 5, "exp": issued + ttl_seconds}
    return jwt.encode(claims, _lfs_secret(base_secret, actor), algorithm="HS256")


def verify_lfs_token(token: str, actor: str, *, base_secret: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired token issued to `actor`, else None."""
    try:
        claims = jwt.decode(token, _lfs_secret(base_secret, actor), algorithms=["HS256"], options={"require": ["exp", "iat"]})
    except jwt.PyJWTError:
        return None
    return claims if claims.get("data", {}).get("actor") == actor else None


# --- personal access tokens through GitLab Shell ----------------------------------------------------
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%d-%m-%Y", "%d/%m/%Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y")


def parse_expiry(value: str) -> dt.date | None:
    """A lenient date (Ruby's `Date.parse` takes many forms); raises ValueError when it is none."""
    text = value.strip()
    text = text.split("T", 1)[0] if re.match(r"\d{4}-\d{2}-\d{2}T", text) else text
    for pattern in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(value)


def invalid_scope_message(scope: str) -> str:
    listed = ", ".join(f'"{s}"' for s in sorted(SHELL_TOKEN_SCOPES))
    return f"Invalid scope: '{scope}'. Valid scopes are: [{listed}]"
