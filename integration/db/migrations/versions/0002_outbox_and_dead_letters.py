"""outbox and dead letters (issue 8): the transactional outbox, the DLQ and its replay audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:39:06.077622
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dead_letter_replays',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('dead_letter_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letter_replays'))
    )
    with op.batch_alter_table('dead_letter_replays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letter_replays_dead_letter_id'), ['dead_letter_id'], unique=False)

    op.create_table('dead_letters',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('business_key', sa.String(length=128), nullable=False),
    sa.Column('operation', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.String(length=60), nullable=False),
    sa.Column('system', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('exception_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('replays', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dead_letters')),
    sa.UniqueConstraint('exception_id', name=op.f('uq_dead_letters_exception_id'))
    )
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dead_letters_business_key'), ['business_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_dead_letters_reason'), ['reason'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('business_key', sa.String(length=128), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_outbox_event_id'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_business_key'), ['business_key'], unique=False)
        batch_op.create_index('ix_outbox_pending', ['published_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')
        batch_op.drop_index(batch_op.f('ix_outbox_business_key'))

    op.drop_table('outbox')
    with op.batch_alter_table('dead_letters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letters_reason'))
        batch_op.drop_index(batch_op.f('ix_dead_letters_business_key'))

    op.drop_table('dead_letters')
    with op.batch_alter_table('dead_letter_replays', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dead_letter_replays_dead_letter_id'))

    op.drop_table('dead_letter_replays')
