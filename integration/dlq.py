"""The dead-letter queue: work the layer will not retry unchanged, with the reason, the
payload and the correlation id; replayed by an operator once the data is fixed (audited),
compensated in billing per policy when nobody does; parked transient work retried by a sweep.

Flows file failures as exception records (``records.exception``). :func:`collect` turns the
permanent kinds (:data:`integration.retry_policy.PERMANENT_KINDS`) into dead letters; the
exception stays open until the dead letter is replayed successfully or compensated, so
``GET /exceptions`` and ``GET /dlq`` tell the same story.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from harness.canonical import (
    INVOICE_TRANSITIONS,
    InvoiceStatus,
    OnboardingStatus,
    PaymentStatus,
    transition,
)

from . import correlation, records
from .adapters.http import AdapterError
from .db.reliability_tables import DeadLetter, DeadLetterReplay
from .db.tables import CustomerRow, ErpPosting, ExceptionRecord, InvoiceRow, PaymentRow, utcnow
from .flows.month_end import post_invoice
from .flows.onboarding import OnboardingError, resume_onboarding
from .flows.payments import apply_buffered
from .observability import get_logger
from .retry_policy import PARKED_KINDS, PERMANENT_KINDS
from .services import Services

log = get_logger("integration.dlq")


class NotReplayable(Exception):
    """The dead letter is not open (already replayed, compensated or discarded)."""


def collect(services: Services) -> int:
    """File every open permanent failure that has no dead letter yet; returns how many."""
    filed = 0
    with services.db.session() as session:
        known = select(DeadLetter.exception_id).where(DeadLetter.exception_id.is_not(None))
        fresh = list(session.scalars(select(ExceptionRecord).where(
            ExceptionRecord.kind.in_(list(PERMANENT_KINDS)),
            ExceptionRecord.resolved.is_(False), ExceptionRecord.id.not_in(known))
            .order_by(ExceptionRecord.id)))
        for exc in fresh:
            operation = PERMANENT_KINDS[exc.kind]
            letter = session.scalar(select(DeadLetter).where(
                DeadLetter.business_key == exc.business_key,
                DeadLetter.operation == operation, DeadLetter.status == "open"))
            if letter is None:
                letter = DeadLetter(business_key=exc.business_key, operation=operation,
                                    reason=exc.kind, system=exc.system, message=exc.message,
                                    payload=_payload(session, operation, exc.business_key),
                                    correlation_id=exc.correlation_id, status="open",
                                    replays=0)
                session.add(letter)
                with correlation.bound(exc.correlation_id):
                    records.step(session, exc.business_key, "dlq.filed", "integration",
                                 subject=exc.business_key, reason=exc.kind,
                                 message=exc.message[:300])
                filed += 1
            else:  # failed again after a replay: same letter, newest reason
                letter.message, letter.system = exc.message, exc.system
                letter.payload = _payload(session, operation, exc.business_key)
            letter.exception_id = exc.id
    return filed


def _payload(session: Any, operation: str, key: str) -> dict[str, Any]:
    if operation == "customer.onboard":
        customer = session.get(CustomerRow, key)
        if customer is None:
            return {"customer_id": key}
        return {"customer_id": key, "crm_account_id": customer.crm_account_id,
                "name": customer.name, "legal_entity": customer.legal_entity,
                "country": customer.country, "currency": customer.currency,
                "address": customer.address, "status": customer.status}
    if operation == "payment.apply":
        payments = list(session.scalars(select(PaymentRow).where(
            PaymentRow.merchant_reference == key).order_by(PaymentRow.id)))
        return {"billing_invoice_id": key, "payments": [
            {"psp_reference": p.psp_reference, "amount": p.amount, "currency": p.currency,
             "status": p.status, "billing_paid": p.billing_paid,
             "erp_clearing_document": p.erp_clearing_document} for p in payments]}
    if operation != "erp.post_invoice":
        return {}
    row = session.scalar(select(InvoiceRow).where(InvoiceRow.billing_invoice_id == key))
    ledger = session.get(ErpPosting, key)
    if row is None:
        return {"billing_invoice_id": key}
    return {"billing_invoice_id": key, "invoice_id": row.id, "number": row.number,
            "customer_id": row.customer_id, "legal_entity": row.legal_entity,
            "currency": row.currency, "net_amount": row.net_amount,
            "tax_amount": row.tax_amount,
            "erp": ledger.erp if ledger else None,
            "company_code": ledger.company_code if ledger else None,
            "attempts": ledger.attempts if ledger else 0}


async def replay(services: Services, letter_id: int, actor: str) -> DeadLetter:
    """Re-run a dead letter's operation (after the data was fixed); audited."""
    async with services.lock(f"dlq:{letter_id}"):
        with services.db.session() as session:
            letter = session.get(DeadLetter, letter_id)
            if letter is None:
                raise KeyError(letter_id)
            if letter.status != "open":
                raise NotReplayable(f"dead letter {letter_id} is {letter.status}")
            letter.replays += 1
            key, operation, flow = letter.business_key, letter.operation, letter.correlation_id
            if letter.exception_id is not None:
                exc = session.get(ExceptionRecord, letter.exception_id)
                if exc is not None:
                    exc.resolved = True  # a failed replay files a new one
        with correlation.bound(flow):
            outcome, detail = await _run(services, operation, key, actor)
        collect(services)
        with services.db.session() as session, correlation.bound(flow):
            letter = session.get_one(DeadLetter, letter_id)
            if outcome != "failed":
                letter.status = "replayed"
            session.add(DeadLetterReplay(dead_letter_id=letter_id, action="replay",
                                         actor=actor, outcome=outcome, detail=detail,
                                         correlation_id=correlation.current_id()))
            records.step(session, key, f"dlq.replay_{outcome}", "integration", subject=key,
                         actor=actor, dead_letter=letter_id, detail=detail)
        log.info("dead letter replayed", dead_letter=letter_id, actor=actor, outcome=outcome)
        return letter


async def _run(services: Services, operation: str, key: str, actor: str) -> tuple[str, str]:
    if operation == "customer.onboard":
        return await _run_onboarding(services, key)
    if operation == "payment.apply":
        return await _run_payments(services, key)
    if operation != "erp.post_invoice":
        return "failed", f"no replay for operation {operation}"
    with services.db.session() as session:
        ledger = session.get(ErpPosting, key)
        if ledger is not None and ledger.status == "rejected":
            # legacy: attempts > 0 keeps the GetOpenItems lookup before the re-post
            ledger.status = "attempting"
    await post_invoice(services, key)
    with services.db.session() as session:
        ledger = session.get(ErpPosting, key)
        status = ledger.status if ledger else "missing"
    if status == "posted":
        return "replayed", f"posted as {ledger.document if ledger else '?'}"
    if status == "rejected":
        return "failed", "the ERP rejected it again"
    return "handed_over", f"posting {status}: retried by the sweep"


def _rejected_again(services: Services, key: str, operation: str) -> bool:
    kinds = [k for k, op in PERMANENT_KINDS.items() if op == operation]
    with services.db.session() as session:
        return session.scalar(select(ExceptionRecord.id).where(
            ExceptionRecord.business_key == key, ExceptionRecord.kind.in_(kinds),
            ExceptionRecord.resolved.is_(False)).limit(1)) is not None


async def _run_onboarding(services: Services, customer_id: str) -> tuple[str, str]:
    try:
        await resume_onboarding(services, customer_id)
    except OnboardingError as err:
        if _rejected_again(services, customer_id, "customer.onboard"):
            return "failed", f"rejected again: {err}"[:500]
        return "handed_over", f"{err}: resumed by the sweep"[:500]
    with services.db.session() as session:
        row = session.get(CustomerRow, customer_id)
        status = row.status if row else "missing"
    if status == OnboardingStatus.ONBOARDED.value:
        return "replayed", "customer onboarded"
    return "handed_over", f"customer {status}: resumed by the sweep"


async def _run_payments(services: Services, billing_invoice_id: str) -> tuple[str, str]:
    await apply_buffered(services, billing_invoice_id)
    with services.db.session() as session:
        payments = list(session.execute(select(PaymentRow.psp_reference, PaymentRow.status)
                                        .where(PaymentRow.merchant_reference ==
                                               billing_invoice_id)))
    if _rejected_again(services, billing_invoice_id, "payment.apply"):
        return "failed", "the payment was rejected again"
    open_ = [psp for psp, status in payments if status != PaymentStatus.APPLIED.value]
    if payments and not open_:
        return "replayed", f"applied {', '.join(psp for psp, _ in payments)}"
    return "handed_over", f"payments not applied yet ({', '.join(open_) or 'none'}): " \
                          "retried by the sweep"


async def replay_all(services: Services, reason: str, actor: str) -> list[DeadLetter]:
    """Replay every open dead letter filed for ``reason`` (oldest first)."""
    with services.db.session() as session:
        ids = list(session.scalars(select(DeadLetter.id).where(
            DeadLetter.reason == reason, DeadLetter.status == "open").order_by(DeadLetter.id)))
    done = []
    for letter_id in ids:
        try:
            done.append(await replay(services, letter_id, actor))
        except NotReplayable:  # replayed concurrently
            continue
    return done


async def compensate(services: Services, letter_id: int, actor: str) -> DeadLetter:
    """Void (open invoice) or credit (policy ``credit_note``, or already paid) an invoice the
    ERP rejected for good; the invoice leaves the posting flow; audited, on the timeline."""
    policy = services.settings.reliability.compensation
    with services.db.session() as session:
        letter = session.get(DeadLetter, letter_id)
        if letter is None:
            raise KeyError(letter_id)
        if letter.status != "open" or letter.operation != "erp.post_invoice":
            raise NotReplayable(f"dead letter {letter_id} is {letter.status} "
                                f"({letter.operation})")
        key, flow = letter.business_key, letter.correlation_id
    billing = services.adapters.billing
    with correlation.bound(flow):
        try:
            invoice = await billing.get_invoice(key)
            if policy == "void" and invoice.get("status") == "open":
                await billing.post(f"/v1/invoices/{key}/void", {}, f"o2c-void-{key}")
                step, outcome = "billing.invoice_voided", "voided"
            elif invoice.get("status") in ("open", "paid"):
                note = await billing.post("/v1/credit_notes", {
                    "invoice": key, "amount": int(invoice.get("total") or 0),
                    "reason": "order_change",
                    "memo": "rejected by the ERP for good"}, f"o2c-cn-{key}")
                step, outcome = "billing.credit_note_created", f"credited {note.get('id')}"
            else:
                step, outcome = "billing.nothing_to_compensate", str(invoice.get("status"))
        except AdapterError as err:
            with services.db.session() as session:
                session.add(DeadLetterReplay(dead_letter_id=letter_id, action="compensate",
                                             actor=actor, outcome="failed", detail=str(err),
                                             correlation_id=correlation.current_id()))
            raise
        with services.db.session() as session:
            letter = session.get_one(DeadLetter, letter_id)
            letter.status = "compensated"
            row = session.scalar(select(InvoiceRow).where(
                InvoiceRow.billing_invoice_id == key))
            if row is not None and row.status != InvoiceStatus.VOID.value:
                row.status = transition(INVOICE_TRANSITIONS, InvoiceStatus(row.status),
                                        InvoiceStatus.VOID, "invoice").value
                row.hold_reasons = ["compensated"]
            records.resolve_exceptions(session, key, letter.reason)
            session.add(DeadLetterReplay(dead_letter_id=letter_id, action="compensate",
                                         actor=actor, outcome="compensated", detail=outcome,
                                         correlation_id=correlation.current_id()))
            records.step(session, row.customer_id if row else key, step, "billing",
                         subject=key, policy=policy, actor=actor, dead_letter=letter_id)
        return letter


async def sweep(services: Services) -> None:
    """File new dead letters, compensate those past their grace period, retry parked work."""
    collect(services)
    r = services.settings.reliability
    now = utcnow()
    with services.db.session() as session:
        due = [] if r.compensation == "none" else list(session.scalars(
            select(DeadLetter.id).where(
                DeadLetter.status == "open", DeadLetter.operation == "erp.post_invoice",
                DeadLetter.created_at <= now - timedelta(seconds=r.compensate_after_s))))
        parked = list(session.execute(select(ExceptionRecord.id, ExceptionRecord.kind,
                                             ExceptionRecord.business_key).where(
            ExceptionRecord.kind.in_(list(PARKED_KINDS)), ExceptionRecord.resolved.is_(False),
            ExceptionRecord.at <= now - timedelta(seconds=r.replay_parked_after_s))))
    for letter_id in due:
        try:
            await compensate(services, letter_id, actor="policy")
        except (AdapterError, NotReplayable) as err:
            log.warning("compensation not done", dead_letter=letter_id, error=str(err))
    for exc_id, kind, key in parked:
        if PARKED_KINDS[kind] == "tax.commit":
            await _retry_tax_commit(services, exc_id, key)
    await _commit_forgotten_tax(services, now - timedelta(seconds=r.replay_parked_after_s))


async def _commit_forgotten_tax(services: Services, posted_before: datetime) -> None:
    """A posted invoice whose tax transaction is still uncommitted with no failure on file:
    the process died between the posting and the commit (nothing else would retry it)."""
    failing = select(ExceptionRecord.business_key).where(
        ExceptionRecord.kind == "tax_commit_failed", ExceptionRecord.resolved.is_(False))
    with services.db.session() as session:
        keys = list(session.execute(select(InvoiceRow.billing_invoice_id,
                                           InvoiceRow.correlation_id).where(
            InvoiceRow.status.in_([InvoiceStatus.POSTED.value, InvoiceStatus.PAID.value]),
            InvoiceRow.tax_committed.is_(False),
            InvoiceRow.tax_transaction_code.is_not(None),
            InvoiceRow.tax_company_code.is_not(None),
            InvoiceRow.posted_at <= posted_before,
            InvoiceRow.billing_invoice_id.not_in(failing))))
    for key, flow in keys:
        with correlation.bound(flow):
            with services.db.session() as session:
                filed = records.exception(session, key, "tax_commit_failed", "tax",
                                          "tax transaction not committed after the posting "
                                          "(the process stopped in between)")
                session.flush()
                exc_id = filed.id
            await _retry_tax_commit(services, exc_id, key)


async def _retry_tax_commit(services: Services, exc_id: int, key: str) -> None:
    with services.db.session() as session:
        row = session.scalar(select(InvoiceRow).where(InvoiceRow.billing_invoice_id == key))
        if row is None or row.tax_committed or not row.tax_transaction_code \
                or not row.tax_company_code:
            session.get_one(ExceptionRecord, exc_id).resolved = True
            return
        company, code, flow = row.tax_company_code, row.tax_transaction_code, \
            row.correlation_id
    with correlation.bound(flow):
        try:
            await services.adapters.tax.commit(company, code)
        except AdapterError as err:  # still down: parked again, retried after the delay
            with services.db.session() as session:
                session.get_one(ExceptionRecord, exc_id).resolved = True
                records.exception(session, key, "tax_commit_failed", "tax", str(err))
            return
        with services.db.session() as session:
            session.get_one(ExceptionRecord, exc_id).resolved = True
            row = session.get_one(InvoiceRow, row.id)
            row.tax_committed = True
            records.step(session, row.customer_id, "tax.committed", "tax", subject=key,
                         transaction=code, retried=True)


__all__ = ["NotReplayable", "collect", "compensate", "replay", "replay_all", "sweep"]
