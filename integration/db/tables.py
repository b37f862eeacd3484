"""The integration layer's own records (SQLAlchemy 2 typed ORM).

Every business record carries the ``correlation_id`` of the flow that created it. Money is in
minor units (integers). Timestamps are timezone-aware UTC (SQLite stores them naively; the
``UTCDateTime`` type puts the zone back).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(),
                           list[Any]: JSON()}


class CustomerRow(Base):
    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    crm_account_id: Mapped[str] = mapped_column(String(64), unique=True)
    match_key: Mapped[str] = mapped_column(String(400), index=True)
    name: Mapped[str] = mapped_column(String(255))
    legal_entity: Mapped[str] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2))
    currency: Mapped[str] = mapped_column(String(3))
    email: Mapped[str | None] = mapped_column(String(320))
    tax_id: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[dict[str, Any]]
    tax_validated: Mapped[bool] = mapped_column(Boolean, default=False)
    tax_resolution: Mapped[str | None] = mapped_column(String(40))
    erp: Mapped[str | None] = mapped_column(String(20))
    company_code: Mapped[str | None] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(20))
    sources: Mapped[dict[str, Any]] = mapped_column(default=dict)
    correlation_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CrossReference(Base):
    """Canonical id ↔ one system's id (per company code where the ERP has one)."""

    __tablename__ = "cross_references"
    __table_args__ = (
        UniqueConstraint("entity", "system", "scope", "external_id", name="uq_xref_external"),
        UniqueConstraint("entity", "canonical_id", "system", "scope", name="uq_xref_canonical"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(20))
    canonical_id: Mapped[str] = mapped_column(String(40), index=True)
    system: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(20), default="")  # company code, when relevant
    correlation_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    price_id: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    metered: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20))
    billing_subscription_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    correlation_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UsageRow(Base):
    __tablename__ = "usage_records"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    meter_event_name: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(BigInteger)
    occurred_at: Mapped[datetime]
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    reported: Mapped[bool] = mapped_column(Boolean, default=False)
    correlation_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InvoiceRow(Base):
    __tablename__ = "invoices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    billing_invoice_id: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    legal_entity: Mapped[str] = mapped_column(String(40))
    erp: Mapped[str | None] = mapped_column(String(20))
    company_code: Mapped[str | None] = mapped_column(String(4))
    currency: Mapped[str] = mapped_column(String(3))
    net_amount: Mapped[int] = mapped_column(BigInteger)
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20))
    tax_transaction_code: Mapped[str | None] = mapped_column(String(64))
    tax_company_code: Mapped[str | None] = mapped_column(String(64))
    tax_committed: Mapped[bool] = mapped_column(Boolean, default=False)
    erp_document: Mapped[str | None] = mapped_column(String(20))
    erp_fiscal_year: Mapped[str | None] = mapped_column(String(4))
    hold_reasons: Mapped[list[Any]] = mapped_column(default=list)
    billing_finalized_at: Mapped[datetime | None]
    posted_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    correlation_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ErpPosting(Base):
    """The layer's own ledger of ERP postings: the legacy ERP has no idempotency, so a
    posting is recorded as ``attempting`` before the call and looked up before any retry."""

    __tablename__ = "erp_postings"
    billing_invoice_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    erp: Mapped[str] = mapped_column(String(20))
    company_code: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(20))  # attempting | posted | queued
    document: Mapped[str | None] = mapped_column(String(20))
    fiscal_year: Mapped[str | None] = mapped_column(String(4))
    queue_ticket: Mapped[str | None] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    correlation_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaymentRow(Base):
    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    psp_reference: Mapped[str] = mapped_column(String(64), unique=True)
    merchant_reference: Mapped[str] = mapped_column(String(80), index=True)
    invoice_id: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    event_code: Mapped[str] = mapped_column(String(40))
    gateway_event_at: Mapped[datetime]
    billing_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    erp_clearing_document: Mapped[str | None] = mapped_column(String(20))
    applied_at: Mapped[datetime | None]
    correlation_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxMessage(Base):
    """Every webhook received, once per (source, event id): the receivers' dedupe."""

    __tablename__ = "inbox"
    id: Mapped[str] = mapped_column(String(200), primary_key=True)  # source:event id
    source: Mapped[str] = mapped_column(String(20))
    event_type: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    correlation_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TimelineStep(Base):
    __tablename__ = "timeline"
    __table_args__ = (Index("ix_timeline_key_at", "business_key", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    business_key: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str | None] = mapped_column(String(128), index=True)
    step: Mapped[str] = mapped_column(String(80))
    system: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    correlation_id: Mapped[str] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ExceptionRecord(Base):
    __tablename__ = "exceptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    business_key: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    system: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    correlation_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class WavePlanEntry(Base):
    __tablename__ = "wave_plan"
    legal_entity: Mapped[str] = mapped_column(String(40), primary_key=True)
    effective_at: Mapped[datetime] = mapped_column(primary_key=True)
    erp: Mapped[str] = mapped_column(String(20))
    company_code: Mapped[str] = mapped_column(String(4))


class Watermark(Base):
    __tablename__ = "watermarks"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(String(80))


class EventRecord(Base):
    """Business events emitted (the seam for the transactional outbox of issue 8)."""

    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    business_key: Mapped[str] = mapped_column(String(128), index=True)
    correlation_id: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]]
    published_at: Mapped[datetime | None]


class WebhookRegistration(Base):
    """Webhook endpoints the layer registered with a vendor, and their signing secrets."""

    __tablename__ = "webhook_registrations"
    system: Mapped[str] = mapped_column(String(20), primary_key=True)
    url: Mapped[str] = mapped_column(String(500), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(String(100))
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
