"""Flow 4, payment: a gateway notification (AUTHORISATION or CAPTURE, success) whose
merchantReference is a billing invoice id → the invoice is paid out of band in billing and
the receivable cleared in the ERP that holds the posting → ``payment.applied``. A payment for
an invoice not posted yet is buffered and applied right after the posting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from harness.canonical import (
    INVOICE_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    Erp,
    InvoiceStatus,
    PaymentApplied,
    PaymentStatus,
    transition,
)

from .. import correlation, records
from ..adapters.http import AdapterError, VendorError
from ..adapters.money import text
from ..db.tables import ExceptionRecord, InvoiceRow, PaymentRow, utcnow
from ..observability import get_logger
from ..retry_policy import failure_kind
from ..services import Services

log = get_logger("integration.payments")
APPLYING_EVENTS = {"AUTHORISATION", "CAPTURE"}


def payment_view(row: PaymentRow) -> dict[str, Any]:
    return {"id": row.id, "psp_reference": row.psp_reference,
            "merchant_reference": row.merchant_reference, "invoice_id": row.invoice_id,
            "amount": row.amount, "currency": row.currency, "status": row.status,
            "event_code": row.event_code, "gateway_event_at": row.gateway_event_at,
            "billing_paid": row.billing_paid,
            "erp_clearing_document": row.erp_clearing_document, "applied_at": row.applied_at,
            "correlation_id": row.correlation_id}


def _event_at(item: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(item["eventDate"]).astimezone(UTC)
    except (KeyError, ValueError):
        return utcnow()


async def on_notification(services: Services, item: dict[str, Any]) -> None:
    """One verified, first-time NotificationRequestItem."""
    if item.get("eventCode") not in APPLYING_EVENTS:
        return
    invoice_ref = item.get("merchantReference") or ""
    psp = item.get("originalReference") or item["pspReference"]
    success = str(item.get("success")).lower() == "true"
    async with services.lock(f"invoice:{invoice_ref}"), services.unit() as session:
        invoice = session.scalar(select(InvoiceRow).where(
            InvoiceRow.billing_invoice_id == invoice_ref))
        flow_id = invoice.correlation_id if invoice else correlation.current_id()
        with correlation.bound(flow_id):
            payment = session.scalar(select(PaymentRow).where(
                PaymentRow.psp_reference == psp))
            if payment is None:
                amount = item.get("amount") or {}
                payment = PaymentRow(
                    id=records.new_id("pay"), psp_reference=psp,
                    merchant_reference=invoice_ref,
                    invoice_id=invoice.id if invoice else None,
                    amount=int(amount.get("value") or 0),
                    currency=str(amount.get("currency") or "").upper(),
                    status=PaymentStatus.RECEIVED.value, event_code=item["eventCode"],
                    gateway_event_at=_event_at(item), correlation_id=flow_id)
                session.add(payment)
                records.link(session, "payment", payment.id, "payments", psp)
                records.step(session, invoice.customer_id if invoice else invoice_ref,
                             f"payments.{item['eventCode'].lower()}", "payments",
                             subject=invoice_ref, at=payment.gateway_event_at, psp=psp,
                             success=success)
            if not success:
                if payment.status == PaymentStatus.RECEIVED.value:
                    payment.status = PaymentStatus.FAILED.value
                return
            if payment.status != PaymentStatus.RECEIVED.value:
                return
            if invoice is None or invoice.status != InvoiceStatus.POSTED.value:
                payment.status = transition(PAYMENT_TRANSITIONS, PaymentStatus.RECEIVED,
                                            PaymentStatus.BUFFERED, "payment").value
                records.step(session, invoice.customer_id if invoice else invoice_ref,
                             "payment.buffered", "integration", subject=invoice_ref,
                             reason="invoice not posted yet", psp=psp)
                return
    await apply_payment(services, psp)


async def apply_buffered(services: Services, billing_invoice_id: str) -> None:
    async with services.unit() as session:
        psps = list(session.scalars(select(PaymentRow.psp_reference).where(
            PaymentRow.merchant_reference == billing_invoice_id,
            PaymentRow.status.in_([PaymentStatus.BUFFERED.value,
                                   PaymentStatus.RECEIVED.value]))))
    for psp in psps:
        await apply_payment(services, psp)


async def apply_payment(services: Services, psp: str) -> None:
    """Paid out of band in billing, cleared in the ERP; each half done at most once."""
    # the notification's job and the sweeper may both try: one at a time per payment
    async with services.lock(f"payment:{psp}"):
        await _apply_once(services, psp)


async def _apply_once(services: Services, psp: str) -> None:
    async with services.unit() as session:
        payment = session.scalar(select(PaymentRow).where(PaymentRow.psp_reference == psp))
        if payment is None or payment.status not in (PaymentStatus.RECEIVED.value,
                                                     PaymentStatus.BUFFERED.value):
            return
        invoice = session.scalar(select(InvoiceRow).where(
            InvoiceRow.billing_invoice_id == payment.merchant_reference))
        if invoice is None or invoice.status != InvoiceStatus.POSTED.value:
            return
        if session.scalar(select(ExceptionRecord.id).where(
                ExceptionRecord.business_key == invoice.billing_invoice_id,
                ExceptionRecord.kind == "payment_rejected",
                ExceptionRecord.resolved.is_(False)).limit(1)) is not None:
            return  # refused for good: waits for a DLQ replay, not retried unchanged
        erp_customer = records.external_id(session, "customer", invoice.customer_id,
                                           invoice.erp or "", invoice.company_code or "")
        snap: dict[str, Any] = {"invoice": invoice.billing_invoice_id, "erp": invoice.erp,
                "company": invoice.company_code, "document": invoice.erp_document,
                "number": invoice.number, "gross": invoice.net_amount + invoice.tax_amount,
                "currency": invoice.currency, "amount": payment.amount,
                "pay_currency": payment.currency, "billing_paid": payment.billing_paid,
                "cleared": payment.erp_clearing_document, "event_at": payment.gateway_event_at,
                "customer_id": invoice.customer_id, "flow": invoice.correlation_id}
    with correlation.bound(snap["flow"]):
        try:
            await _apply(services, psp, snap, erp_customer)
        except AdapterError as err:
            kind = failure_kind(err, "payment_delayed", "payment_rejected")
            async with services.unit() as session:
                records.exception(session, snap["invoice"], kind, err.system, str(err))


async def _apply(services: Services, psp: str, snap: dict[str, Any],
                 erp_customer: str | None) -> None:
    if snap["amount"] != snap["gross"] or snap["pay_currency"] != snap["currency"]:
        async with services.unit() as session:
            records.exception(session, snap["invoice"], "payment_amount_mismatch", "payments",
                              f"paid {snap['amount']} {snap['pay_currency']}, invoice is "
                              f"{snap['gross']} {snap['currency']}")
        return
    if not snap["billing_paid"]:
        try:
            await services.adapters.billing.pay_out_of_band(snap["invoice"])
        except VendorError as err:
            current = await services.adapters.billing.get_invoice(snap["invoice"])
            if current.get("status") != "paid":
                raise
            log.info("invoice already paid in billing", error=err.code)
        async with services.unit() as session:
            payment = session.scalar(select(PaymentRow).where(PaymentRow.psp_reference == psp))
            assert payment is not None
            payment.billing_paid = True
            records.step(session, snap["customer_id"], "billing.invoice_paid", "billing",
                         subject=snap["invoice"], paid_out_of_band=True, psp=psp)
    clearing = snap["cleared"]
    if clearing is None:
        if erp_customer is None:
            raise VendorError("integration", 409, "erp_customer_missing",
                              "no ERP customer for the posted invoice")
        amount = text(snap["amount"], snap["currency"])
        if snap["erp"] == "cloud_erp":
            result = await services.adapters.cloud_erp.apply_payment(
                company_code=snap["company"], customer=erp_customer,
                invoice_reference=(snap["number"] or snap["invoice"])[:16],
                payment_reference=psp, at=snap["event_at"], currency=snap["currency"],
                amount=amount)
            clearing = result["AccountingDocument"]
        else:
            try:
                result = await services.adapters.legacy_erp.apply_payment(
                    company_code=snap["company"], customer=erp_customer,
                    reference=(snap["number"] or snap["invoice"]), document=snap["document"],
                    amount=amount,
                    currency=snap["currency"], payment_date=snap["event_at"].date(),
                    payment_reference=psp)
            except VendorError as err:
                if err.code != "ITEM_ALREADY_CLEARED":
                    raise
                result = {"ClearingDocumentNumber": "", "DocumentNumber": snap["document"]}
            clearing = result.get("ClearingDocumentNumber") or f"cleared:{snap['document']}"
    await _applied(services, psp, snap, clearing)


async def _applied(services: Services, psp: str, snap: dict[str, Any], clearing: str) -> None:
    async with services.unit() as session:
        payment = session.scalar(select(PaymentRow).where(PaymentRow.psp_reference == psp))
        invoice = session.scalar(select(InvoiceRow).where(
            InvoiceRow.billing_invoice_id == snap["invoice"]))
        assert payment is not None and invoice is not None
        payment.erp_clearing_document = clearing
        payment.status = transition(PAYMENT_TRANSITIONS, PaymentStatus(payment.status),
                                    PaymentStatus.APPLIED, "payment").value
        payment.applied_at = utcnow()
        invoice.status = transition(INVOICE_TRANSITIONS, InvoiceStatus(invoice.status),
                                    InvoiceStatus.PAID, "invoice").value
        invoice.paid_at = payment.applied_at
        records.step(session, snap["customer_id"], "erp.payment_cleared", snap["erp"],
                     subject=snap["invoice"], clearing_document=clearing, psp=psp)
        services.metrics.payments.labels(snap["erp"]).inc()
        services.bus.emit(session, snap["invoice"], PaymentApplied(
            payment_id=payment.id, billing_invoice_id=snap["invoice"], psp_reference=psp,
            erp=Erp(snap["erp"]), erp_clearing_document=clearing, currency=snap["currency"],
            amount=snap["amount"]))
    log.info("payment applied", billing_invoice_id=snap["invoice"], psp=psp)
