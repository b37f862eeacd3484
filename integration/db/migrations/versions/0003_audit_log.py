"""audit trail (issue 15): append-only audit_log, UPDATE and DELETE refused by triggers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_SQLITE = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_POSTGRES = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('client_id', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('target', sa.String(length=500), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_correlation_id'), ['correlation_id'],
                              unique=False)
        batch_op.create_index('ix_audit_log_client_at', ['client_id', 'at'], unique=False)
        batch_op.create_index('ix_audit_log_action_at', ['action', 'at'], unique=False)
    dialect = op.get_bind().dialect.name
    for statement in _SQLITE if dialect == "sqlite" else \
            _POSTGRES if dialect == "postgresql" else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TABLE audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
        return
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_action_at')
        batch_op.drop_index('ix_audit_log_client_at')
        batch_op.drop_index(batch_op.f('ix_audit_log_correlation_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
    op.drop_table('audit_log')
