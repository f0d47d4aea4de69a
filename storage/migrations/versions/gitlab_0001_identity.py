"""GitLab users and personal access tokens.

Revision ID: gitlab_0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "gitlab_0001"
down_revision = None
branch_labels = ("gitlab",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gl_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_users")),
        sa.UniqueConstraint("username", name=op.f("uq_gl_users_username")),
    )
    op.create_table(
        "gl_personal_access_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.Date(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["gl_users.id"], name=op.f("fk_gl_personal_access_tokens_user_id_gl_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_personal_access_tokens")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_gl_personal_access_tokens_token_digest")),
    )
    op.create_index(op.f("ix_gl_personal_access_tokens_user_id"), "gl_personal_access_tokens", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_gl_personal_access_tokens_user_id"), table_name="gl_personal_access_tokens")
    op.drop_table("gl_personal_access_tokens")
    op.drop_table("gl_users")
