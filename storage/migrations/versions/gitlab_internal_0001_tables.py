"""GitLab internal API (issue 4): deploy keys, protected branches, 2FA, reference counters, cluster
agents and tokens, kas usage counters, Cilium alerts, broadcast messages, redirect routes.

Revision ID: gitlab_internal_0001
Revises:
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "gitlab_internal_0001"
down_revision = None
branch_labels = ("gitlab_internal",)
depends_on = None


def upgrade() -> None:
    op.create_table('gl_broadcast_messages',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('starts_at', storage.types.UtcDateTime(), nullable=False),
    sa.Column('ends_at', storage.types.UtcDateTime(), nullable=False),
    sa.Column('color', sa.String(length=16), nullable=True),
    sa.Column('font', sa.String(length=16), nullable=True),
    sa.Column('target_path', sa.String(length=1024), nullable=True),
    sa.Column('broadcast_type', sa.String(length=16), nullable=False),
    sa.Column('dismissable', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gl_broadcast_messages'))
    )
    op.create_table('gl_cilium_alerts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.types.UtcDateTime(), nullable=False),
    sa.Column('updated_at', storage.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gl_cilium_alerts'))
    )
    op.create_index(op.f('ix_gl_cilium_alerts_fingerprint'), 'gl_cilium_alerts', ['fingerprint'], unique=False)
    op.create_index(op.f('ix_gl_cilium_alerts_project_id'), 'gl_cilium_alerts', ['project_id'], unique=False)
    op.create_table('gl_cluster_agents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gl_cluster_agents')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_gl_cluster_agents_project_id_name'))
    )
    op.create_index(op.f('ix_gl_cluster_agents_project_id'), 'gl_cluster_agents', ['project_id'], unique=False)
    op.create_table('gl_deploy_keys',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('fingerprint_md5', sa.String(length=64), nullable=False),
    sa.Column('fingerprint_sha256', sa.String(length=64), nullable=False),
    sa.Column('expires_at', storage.types.UtcDateTime(), nullable=True),
    sa.Column('created_at', storage.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gl_deploy_keys')),
    sa.UniqueConstraint('fingerprint_sha256', name=op.f('uq_gl_deploy_keys_fingerprint_sha256'))
    )
    op.create_index(op.f('ix_gl_deploy_keys_fingerprint_md5'), 'gl_deploy_keys', ['fingerprint_md5'], unique=False)
    op.create_table('gl_kas_usage_counters',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_gl_kas_usage_counters'))
    )
    op.create_table('gl_protected_branches',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('push_access_levels', sa.JSON(), nullable=False),
    sa.Column('merge_access_levels', sa.JSON(), nullable=False),
    sa.Column('allow_force_push', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gl_protected_branches')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_gl_protected_branches_project_id_name'))
    )
    op.create_index(op.f('ix_gl_protected_branches_project_id'), 'gl_protected_branches', ['project_id'], unique=False)
    op.create_table('gl_redirect_routes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=1024), nullable=False),
    sa.Column('path_lower', sa.String(length=1024), nullable=False),
    sa.Column('created_at', storage.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gl_redirect_routes')),
    sa.UniqueConstraint('path_lower', name=op.f('uq_gl_redirect_routes_path_lower'))
    )
    op.create_index(op.f('ix_gl_redirect_routes_project_id'), 'gl_redirect_routes', ['project_id'], unique=False)
    op.create_table('gl_reference_counters',
    sa.Column('gl_repository', sa.String(length=255), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('expires_at', storage.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('gl_repository', name=op.f('pk_gl_reference_counters'))
    )
    op.create_index(op.f('ix_gl_reference_counters_expires_at'), 'gl_reference_counters', ['expires_at'], unique=False)
    op.create_table('gl_two_factor',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('recovery_code_digests', sa.JSON(), nullable=False),
    sa.Column('updated_at', storage.types.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_gl_two_factor'))
    )
    op.create_table('gl_cluster_agent_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UtcDateTime(), nullable=False),
    sa.Column('last_used_at', storage.types.UtcDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['gl_cluster_agents.id'], name=op.f('fk_gl_cluster_agent_tokens_agent_id_gl_cluster_agents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gl_cluster_agent_tokens')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_gl_cluster_agent_tokens_token_digest'))
    )
    op.create_index(op.f('ix_gl_cluster_agent_tokens_agent_id'), 'gl_cluster_agent_tokens', ['agent_id'], unique=False)
    op.create_table('gl_deploy_keys_projects',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('deploy_key_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('can_push', sa.Boolean(), nullable=False),
    sa.Column('created_at', storage.types.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['deploy_key_id'], ['gl_deploy_keys.id'], name=op.f('fk_gl_deploy_keys_projects_deploy_key_id_gl_deploy_keys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gl_deploy_keys_projects')),
    sa.UniqueConstraint('deploy_key_id', 'project_id', name=op.f('uq_gl_deploy_keys_projects_deploy_key_id_project_id'))
    )
    op.create_index(op.f('ix_gl_deploy_keys_projects_deploy_key_id'), 'gl_deploy_keys_projects', ['deploy_key_id'], unique=False)
    op.create_index(op.f('ix_gl_deploy_keys_projects_project_id'), 'gl_deploy_keys_projects', ['project_id'], unique=False)


def downgrade() -> None:
    for table in ("gl_redirect_routes", "gl_broadcast_messages", "gl_cilium_alerts", "gl_kas_usage_counters",
                  "gl_cluster_agent_tokens", "gl_cluster_agents", "gl_reference_counters", "gl_two_factor",
                  "gl_protected_branches", "gl_deploy_keys_projects", "gl_deploy_keys"):
        op.drop_table(table)
