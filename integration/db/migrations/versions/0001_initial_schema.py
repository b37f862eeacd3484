"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 14:24:01.987543
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('cross_references',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entity', sa.String(length=20), nullable=False),
    sa.Column('canonical_id', sa.String(length=40), nullable=False),
    sa.Column('system', sa.String(length=20), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cross_references')),
    sa.UniqueConstraint('entity', 'canonical_id', 'system', 'scope', name='uq_xref_canonical'),
    sa.UniqueConstraint('entity', 'system', 'scope', 'external_id', name='uq_xref_external')
    )
    with op.batch_alter_table('cross_references', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cross_references_canonical_id'), ['canonical_id'], unique=False)

    op.create_table('customers',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('crm_account_id', sa.String(length=64), nullable=False),
    sa.Column('match_key', sa.String(length=400), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('legal_entity', sa.String(length=40), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('tax_id', sa.String(length=40), nullable=True),
    sa.Column('address', sa.JSON(), nullable=False),
    sa.Column('tax_validated', sa.Boolean(), nullable=False),
    sa.Column('tax_resolution', sa.String(length=40), nullable=True),
    sa.Column('erp', sa.String(length=20), nullable=True),
    sa.Column('company_code', sa.String(length=4), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('sources', sa.JSON(), nullable=False),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers')),
    sa.UniqueConstraint('crm_account_id', name=op.f('uq_customers_crm_account_id'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_match_key'), ['match_key'], unique=False)

    op.create_table('erp_postings',
    sa.Column('billing_invoice_id', sa.String(length=64), nullable=False),
    sa.Column('erp', sa.String(length=20), nullable=False),
    sa.Column('company_code', sa.String(length=4), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('document', sa.String(length=20), nullable=True),
    sa.Column('fiscal_year', sa.String(length=4), nullable=True),
    sa.Column('queue_ticket', sa.String(length=40), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('billing_invoice_id', name=op.f('pk_erp_postings'))
    )
    op.create_table('events',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('business_key', sa.String(length=128), nullable=False),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_business_key'), ['business_key'], unique=False)

    op.create_table('exceptions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('business_key', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('system', sa.String(length=20), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exceptions'))
    )
    with op.batch_alter_table('exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exceptions_business_key'), ['business_key'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('inbox',
    sa.Column('id', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('event_type', sa.String(length=80), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duplicates', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox'))
    )
    op.create_table('payments',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('psp_reference', sa.String(length=64), nullable=False),
    sa.Column('merchant_reference', sa.String(length=80), nullable=False),
    sa.Column('invoice_id', sa.String(length=40), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('event_code', sa.String(length=40), nullable=False),
    sa.Column('gateway_event_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('billing_paid', sa.Boolean(), nullable=False),
    sa.Column('erp_clearing_document', sa.String(length=20), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('psp_reference', name=op.f('uq_payments_psp_reference'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_merchant_reference'), ['merchant_reference'], unique=False)

    op.create_table('timeline',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('business_key', sa.String(length=128), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=True),
    sa.Column('step', sa.String(length=80), nullable=False),
    sa.Column('system', sa.String(length=20), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_timeline'))
    )
    with op.batch_alter_table('timeline', schema=None) as batch_op:
        batch_op.create_index('ix_timeline_key_at', ['business_key', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_timeline_subject'), ['subject'], unique=False)

    op.create_table('watermarks',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('value', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_watermarks'))
    )
    op.create_table('wave_plan',
    sa.Column('legal_entity', sa.String(length=40), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('erp', sa.String(length=20), nullable=False),
    sa.Column('company_code', sa.String(length=4), nullable=False),
    sa.PrimaryKeyConstraint('legal_entity', 'effective_at', name=op.f('pk_wave_plan'))
    )
    op.create_table('webhook_registrations',
    sa.Column('system', sa.String(length=20), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('endpoint_id', sa.String(length=100), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('system', 'url', name=op.f('pk_webhook_registrations'))
    )
    op.create_table('invoices',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('billing_invoice_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=64), nullable=True),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('legal_entity', sa.String(length=40), nullable=False),
    sa.Column('erp', sa.String(length=20), nullable=True),
    sa.Column('company_code', sa.String(length=4), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('net_amount', sa.BigInteger(), nullable=False),
    sa.Column('tax_amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('tax_transaction_code', sa.String(length=64), nullable=True),
    sa.Column('tax_company_code', sa.String(length=64), nullable=True),
    sa.Column('tax_committed', sa.Boolean(), nullable=False),
    sa.Column('erp_document', sa.String(length=20), nullable=True),
    sa.Column('erp_fiscal_year', sa.String(length=4), nullable=True),
    sa.Column('hold_reasons', sa.JSON(), nullable=False),
    sa.Column('billing_finalized_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_invoices_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('billing_invoice_id', name=op.f('uq_invoices_billing_invoice_id'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_customer_id'), ['customer_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('price_id', sa.String(length=255), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('metered', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('billing_subscription_id', sa.String(length=64), nullable=True),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_subscriptions_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('billing_subscription_id', name=op.f('uq_subscriptions_billing_subscription_id'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_customer_id'), ['customer_id'], unique=False)

    op.create_table('usage_records',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('meter_event_name', sa.String(length=100), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('reported', sa.Boolean(), nullable=False),
    sa.Column('correlation_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_usage_records_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_records')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_usage_records_idempotency_key'))
    )
    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_records_customer_id'), ['customer_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('usage_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_records_customer_id'))

    op.drop_table('usage_records')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_customer_id'))

    op.drop_table('subscriptions')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_customer_id'))

    op.drop_table('invoices')
    op.drop_table('webhook_registrations')
    op.drop_table('wave_plan')
    op.drop_table('watermarks')
    with op.batch_alter_table('timeline', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_timeline_subject'))
        batch_op.drop_index('ix_timeline_key_at')

    op.drop_table('timeline')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_merchant_reference'))

    op.drop_table('payments')
    op.drop_table('inbox')
    op.drop_table('idempotency_keys')
    with op.batch_alter_table('exceptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exceptions_business_key'))

    op.drop_table('exceptions')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_business_key'))

    op.drop_table('events')
    op.drop_table('erp_postings')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_match_key'))

    op.drop_table('customers')
    with op.batch_alter_table('cross_references', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cross_references_canonical_id'))

    op.drop_table('cross_references')

