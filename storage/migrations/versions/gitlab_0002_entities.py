"""GitLab entity model: bot users, SSH keys, namespaces, group links, projects, members.

Revision ID: gitlab_0002
Revises: gitlab_0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "gitlab_0002"
down_revision = "gitlab_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gl_users") as batch:
        batch.add_column(sa.Column("bot", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "gl_ssh_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("key_type", sa.String(length=64), nullable=False),
        sa.Column("fingerprint_md5", sa.String(length=64), nullable=False),
        sa.Column("fingerprint_sha256", sa.String(length=64), nullable=False),
        sa.Column("usage_type", sa.String(length=32), nullable=False),
        sa.Column("expires_at", storage.types.UtcDateTime(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["gl_users.id"], name=op.f("fk_gl_ssh_keys_user_id_gl_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_ssh_keys")),
        sa.UniqueConstraint("fingerprint_sha256", name=op.f("uq_gl_ssh_keys_fingerprint_sha256")),
    )
    op.create_index(op.f("ix_gl_ssh_keys_user_id"), "gl_ssh_keys", ["user_id"], unique=False)
    op.create_index(op.f("ix_gl_ssh_keys_fingerprint_md5"), "gl_ssh_keys", ["fingerprint_md5"], unique=False)
    op.create_table(
        "gl_namespaces",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("full_path", sa.String(length=1024), nullable=False),
        sa.Column("full_path_lower", sa.String(length=1024), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["gl_users.id"], name=op.f("fk_gl_namespaces_owner_id_gl_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["parent_id"], ["gl_namespaces.id"], name=op.f("fk_gl_namespaces_parent_id_gl_namespaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_namespaces")),
        sa.UniqueConstraint("full_path_lower", name=op.f("uq_gl_namespaces_full_path_lower")),
    )
    op.create_index(op.f("ix_gl_namespaces_owner_id"), "gl_namespaces", ["owner_id"], unique=False)
    op.create_index(op.f("ix_gl_namespaces_parent_id"), "gl_namespaces", ["parent_id"], unique=False)
    op.create_table(
        "gl_group_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shared_group_id", sa.Integer(), nullable=False),
        sa.Column("shared_with_group_id", sa.Integer(), nullable=False),
        sa.Column("group_access", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Date(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["shared_group_id"], ["gl_namespaces.id"], name=op.f("fk_gl_group_links_shared_group_id_gl_namespaces"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["shared_with_group_id"], ["gl_namespaces.id"], name=op.f("fk_gl_group_links_shared_with_group_id_gl_namespaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_group_links")),
        sa.UniqueConstraint("shared_group_id", "shared_with_group_id", name=op.f("uq_gl_group_links_shared_group_id_shared_with_group_id")),
    )
    op.create_index(op.f("ix_gl_group_links_shared_group_id"), "gl_group_links", ["shared_group_id"], unique=False)
    op.create_index(op.f("ix_gl_group_links_shared_with_group_id"), "gl_group_links", ["shared_with_group_id"], unique=False)
    op.create_table(
        "gl_projects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("creator_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("full_path_lower", sa.String(length=1024), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("default_branch", sa.String(length=255), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["creator_id"], ["gl_users.id"], name=op.f("fk_gl_projects_creator_id_gl_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["namespace_id"], ["gl_namespaces.id"], name=op.f("fk_gl_projects_namespace_id_gl_namespaces"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_projects")),
        sa.UniqueConstraint("full_path_lower", name=op.f("uq_gl_projects_full_path_lower")),
    )
    op.create_index(op.f("ix_gl_projects_namespace_id"), "gl_projects", ["namespace_id"], unique=False)
    op.create_table(
        "gl_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("access_level", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["gl_users.id"], name=op.f("fk_gl_members_created_by_id_gl_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["gl_users.id"], name=op.f("fk_gl_members_user_id_gl_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gl_members")),
        sa.UniqueConstraint("source_type", "source_id", "user_id", name=op.f("uq_gl_members_source_type_source_id_user_id")),
    )
    op.create_index("ix_gl_members_source", "gl_members", ["source_type", "source_id"], unique=False)
    op.create_index(op.f("ix_gl_members_user_id"), "gl_members", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_gl_members_user_id"), table_name="gl_members")
    op.drop_index("ix_gl_members_source", table_name="gl_members")
    op.drop_table("gl_members")
    op.drop_index(op.f("ix_gl_projects_namespace_id"), table_name="gl_projects")
    op.drop_table("gl_projects")
    op.drop_index(op.f("ix_gl_group_links_shared_with_group_id"), table_name="gl_group_links")
    op.drop_index(op.f("ix_gl_group_links_shared_group_id"), table_name="gl_group_links")
    op.drop_table("gl_group_links")
    op.drop_index(op.f("ix_gl_namespaces_parent_id"), table_name="gl_namespaces")
    op.drop_index(op.f("ix_gl_namespaces_owner_id"), table_name="gl_namespaces")
    op.drop_table("gl_namespaces")
    op.drop_index(op.f("ix_gl_ssh_keys_fingerprint_md5"), table_name="gl_ssh_keys")
    op.drop_index(op.f("ix_gl_ssh_keys_user_id"), table_name="gl_ssh_keys")
    op.drop_table("gl_ssh_keys")
    with op.batch_alter_table("gl_users") as batch:
        batch.drop_column("bot")
