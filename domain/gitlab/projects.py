"""Projects in namespaces (personal projects and group projects)."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from domain.errors import NotFoundError
from domain.gitlab.entities import Namespace, Project, parse_id_or_path
from domain.gitlab.namespaces import path_problem
from domain.gitlab.users import model_conflict, model_error

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session


def path_from_name(name: str) -> str:
    """GitLab's parameterize: lower case, runs of other characters become `-`."""
    path = re.sub(r"[^a-z0-9_]+", "-", name.strip().lower()).strip("-")
    return path or "project"


class ProjectService:
    def __init__(self, session: Session):
        from storage.gitlab_entities import GitlabEntityRepository

        self.repository = GitlabEntityRepository(session)

    def find(self, id_or_path: str | int) -> Project | None:
        """By id or full path; an old path of a renamed project still finds it (GitLab's redirect routes)."""
        ref = parse_id_or_path(id_or_path)
        if isinstance(ref, int):
            return self.repository.project(ref)
        project = self.repository.project_by_full_path(ref)
        if project is None:
            from storage.gitlab_internal import GitlabInternalRepository

            moved_to = GitlabInternalRepository(self.repository.session).redirect(ref)
            project = self.repository.project(moved_to) if moved_to is not None else None
        return project

    def get(self, id_or_path: str | int) -> Project:
        project = self.find(id_or_path)
        if project is None:
            raise NotFoundError(f"project {id_or_path} not found", resource="Project")
        return project

    def create(self, *, namespace: Namespace, name: str | None, path: str | None, visibility: str, description: str,
               default_branch: str, creator_id: int | None, now: dt.datetime) -> Project:  # fmt: skip
        path = path or path_from_name(name or "")
        name = name or path
        problem = path_problem(path)
        if problem:
            raise model_error(path=[problem])
        if self.repository.full_path_taken(f"{namespace.full_path}/{path}"):
            raise model_conflict(name=["has already been taken"], path=["has already been taken"])
        return self.repository.add_project(namespace=namespace, creator_id=creator_id, name=name, path=path,
                                           visibility=visibility, description=description,
                                           default_branch=default_branch, now=now)  # fmt: skip

    def list(self, *, search: str | None = None) -> list[Project]:
        return self.repository.all_projects(search=search)

    def in_group(self, group: Namespace, *, include_subgroups: bool) -> list[Project]:
        ids = self.repository.descendant_ids(group.id) if include_subgroups else [group.id]
        return sorted(self.repository.projects_in(ids), key=lambda project: project.id)

    def edit(self, project: Project, *, changes: dict, now: dt.datetime) -> Project:
        """Name and path through the rename (which keeps a redirect from the old path); other attributes in place."""
        from domain.gitlab.internal_entities import InternalEntityService

        if "name" in changes or "path" in changes:
            project = InternalEntityService(self.repository.session).rename_project(
                project, name=changes.get("name"), path=changes.get("path"), now=now
            )
        others = {key: changes[key] for key in ("visibility", "description", "default_branch") if key in changes}
        if others:
            self.repository.update_project(project.id, now=now, **others)
        return self.get(project.id)

    def in_namespaces(self, namespace_ids: list[int]) -> list[Project]:
        return self.repository.projects_in(namespace_ids)
