"""GitLab internal API: notices /allowed leaves for the next /post_receive (project moved, project created).

Revision ID: gitlab_internal_0002
Revises: gitlab_internal_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "gitlab_internal_0002"
down_revision = "gitlab_internal_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gl_push_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_push_notices")),
        sa.UniqueConstraint("user_id", "project_id", "kind", name=op.f("uq_gl_push_notices_user_id_project_id_kind")),
    )


def downgrade() -> None:
    op.drop_table("gl_push_notices")
