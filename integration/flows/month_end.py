"""Flow 3, month end: billing drafts an invoice → the layer holds it, gets tax from the tax
engine (adds it to the invoice) and waits until the ERP customer exists in the company code
→ finalizes it in billing → on ``invoice.finalized`` posts it to the ERP the wave plan names
(billing invoice id as the external reference; guarded by the posting ledger) and emits
``invoice.posted`` in the same unit of work → commits the tax transaction → applies payments
that were waiting for it.
An invoice billing finalized on its own (a subscription's first) gets the same AvaTax
``SalesInvoice`` before it is posted, checked against billing's tax to the cent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import flag_modified

from harness.canonical import INVOICE_TRANSITIONS, Erp, InvoicePosted, InvoiceStatus, transition

from .. import correlation, records
from ..adapters.http import AdapterError, InDoubt, VendorError
from ..adapters.money import text, to_minor
from ..db.tables import CustomerRow, ErpPosting, ExceptionRecord, InvoiceRow, utcnow
from ..observability import get_logger
from ..routing import RoutingError
from ..services import Services
from .onboarding import OnboardingError, ensure_erp_customer, known_erp_customer
from .payments import apply_buffered

log = get_logger("integration.month_end")
OPEN_STATES = (InvoiceStatus.DRAFT.value, InvoiceStatus.HELD.value,
               InvoiceStatus.TAX_DETERMINED.value)
PAST_POSTING = (InvoiceStatus.POSTED.value, InvoiceStatus.PAID.value)  # never go back


def _to(row: InvoiceRow, target: InvoiceStatus) -> str:
    """``row``'s status moved to ``target`` (checked against the invoice's transitions)."""
    return transition(INVOICE_TRANSITIONS, InvoiceStatus(row.status), target, "invoice").value


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def invoice_view(row: InvoiceRow, refs: dict[str, str]) -> dict[str, Any]:
    return {"id": row.id, "billing_invoice_id": row.billing_invoice_id, "number": row.number,
            "customer_id": row.customer_id, "legal_entity": row.legal_entity, "erp": row.erp,
            "company_code": row.company_code, "currency": row.currency,
            "net_amount": row.net_amount, "tax_amount": row.tax_amount,
            "gross_amount": row.net_amount + row.tax_amount, "status": row.status,
            "hold_reasons": row.hold_reasons, "tax_transaction_code": row.tax_transaction_code,
            "tax_committed": row.tax_committed, "erp_document": row.erp_document,
            "billing_finalized_at": row.billing_finalized_at, "posted_at": row.posted_at,
            "paid_at": row.paid_at, "correlation_id": row.correlation_id, "references": refs}


def _net_of(invoice: dict[str, Any]) -> int:
    """The amount before the tax billing charges by tax rates (a subscription's
    ``default_tax_rates``)."""
    net = invoice.get("total_excluding_tax")
    return int(net if net is not None else invoice.get("total") or 0)


def _flag(session: Any, business_key: str, kind: str, system: str, message: str) -> None:
    """An exception for the DLQ, once while it is unresolved (sweeps retry the work)."""
    if session.scalar(select(ExceptionRecord.id).where(
            ExceptionRecord.business_key == business_key, ExceptionRecord.kind == kind,
            ExceptionRecord.resolved.is_(False)).limit(1)) is None:
        records.exception(session, business_key, kind, system, message)


_ROW_OF_BILLING_ID = select(InvoiceRow).where(
    InvoiceRow.billing_invoice_id == bindparam("billing_invoice_id"))


def _invoice_row(session: Any, billing_invoice_id: str) -> InvoiceRow | None:
    """The layer's record of a billing invoice (the statement is built once)."""
    return session.scalar(  # type: ignore[no-any-return]
        _ROW_OF_BILLING_ID, {"billing_invoice_id": billing_invoice_id})


def _customer_of(session: Any, billing_customer: str) -> CustomerRow | None:
    cid = records.canonical_id(session, "customer", "billing", billing_customer)
    return session.get(CustomerRow, cid) if cid else None


async def track_invoice(services: Services, invoice: dict[str, Any]) -> tuple[str, str] | None:
    """Create (or find) the layer's record of a billing invoice: its flow (the customer's
    correlation id, which the invoice joins) and its status; None when the customer is not
    one of ours."""
    async with services.unit() as session:
        row = _invoice_row(session, invoice["id"])
        if row is not None:
            return row.correlation_id, row.status
        customer = _customer_of(session, invoice["customer"])
        if customer is None:
            records.step(session, invoice["id"], "billing.invoice_ignored", "billing",
                         reason="customer not onboarded by this layer")
            return None
        row = InvoiceRow(id=records.new_id("inv"), billing_invoice_id=invoice["id"],
                         number=invoice.get("number"), customer_id=customer.id,
                         legal_entity=customer.legal_entity,
                         currency=invoice["currency"].upper(),
                         net_amount=_net_of(invoice),
                         status=InvoiceStatus.DRAFT.value, hold_reasons=[],
                         correlation_id=customer.correlation_id)
        session.add(row)
        records.link(session, "invoice", row.id, "billing", invoice["id"])
        with correlation.bound(customer.correlation_id):
            records.step(session, customer.id, "billing.invoice_drafted", "billing",
                         subject=invoice["id"], at=_ts(invoice.get("created")),
                         total=invoice.get("total"), status=invoice.get("status"))
        return customer.correlation_id, row.status


async def on_invoice_created(services: Services, invoice: dict[str, Any]) -> None:
    tracked = await track_invoice(services, invoice)
    if tracked is None:
        return
    with correlation.bound(tracked[0]):
        held = await _hold(services, invoice)
        await _advance(services, invoice["id"], held)


async def _hold(services: Services, invoice: dict[str, Any]) -> dict[str, Any] | None:
    """Stop billing's automatic finalization; billing's answer (the invoice as it is now), or
    None when there was nothing to hold."""
    async with services.lock(f"invoice:{invoice['id']}"):
        async with services.unit() as session:
            row = _invoice_row(session, invoice["id"])
            assert row is not None
            if row.status != InvoiceStatus.DRAFT.value or invoice.get("status") != "draft":
                return None
        held = await services.adapters.billing.hold_invoice(invoice["id"])
        async with services.unit() as session:
            row = _invoice_row(session, invoice["id"])
            assert row is not None
            if held.get("status") != "draft":
                _finalized_by_billing(session, row, held)
            elif row.status == InvoiceStatus.DRAFT.value:
                records.save(session, row, status=_to(row, InvoiceStatus.HELD),
                             hold_reasons=["tax", "erp_customer"])
                records.step(session, row.customer_id, "billing.invoice_held", "billing",
                             subject=invoice["id"], reasons=row.hold_reasons)
        return held


async def advance_invoice(services: Services, billing_invoice_id: str) -> None:
    """Move a held invoice on as far as it can go: tax, ERP customer, finalize."""
    with correlation.bound(_flow_of(services, billing_invoice_id)):
        await _advance(services, billing_invoice_id)


def _flow_of(services: Services, billing_invoice_id: str) -> str:
    with services.db.session() as session:
        flow = session.scalar(select(InvoiceRow.correlation_id).where(
            InvoiceRow.billing_invoice_id == billing_invoice_id))
    return flow or correlation.current_id()


async def _advance(services: Services, billing_invoice_id: str,
                   current: dict[str, Any] | None = None) -> None:
    """``current``: billing's invoice as the caller just read it (the answer to the hold),
    so it is not read again; None reads it."""
    async with services.lock(f"invoice:{billing_invoice_id}"):
        async with services.unit() as session:
            row = _invoice_row(session, billing_invoice_id)
            if row is None or row.status not in OPEN_STATES:
                return
            customer_id = row.customer_id
            now = utcnow()
            tax_args = _tax_args(services, session, row, now) \
                if row.tax_transaction_code is None else None
            in_erp = known_erp_customer(session, customer_id, now) is not None
        if current is None:
            current = await services.adapters.billing.get_invoice(billing_invoice_id)
        if current.get("status") == "draft":
            finalized, posting = await _finalize_held(services, billing_invoice_id, customer_id,
                                                      current, tax_args, in_erp)
            if finalized and posting is not None:  # still under the invoice's lock
                await _continue_posting(services, billing_invoice_id, posting)
            return
        # billing finalized (or voided) it on its own: nothing left to hold
        async with services.unit() as session:
            row = _invoice_row(session, billing_invoice_id)
            assert row is not None
            _finalized_by_billing(session, row, current)
    await _post_once(services, billing_invoice_id)  # the caller bound the invoice's flow


async def _finalize_held(services: Services, billing_invoice_id: str, customer_id: str,
                         invoice: dict[str, Any], tax_args: dict[str, Any] | None,
                         in_erp: bool) -> tuple[bool, _Posting | None]:
    """Tax (when ``tax_args``: not determined yet), then the ERP customer (unless ``in_erp``:
    it is there already), then finalize. False while something is still missing; once
    finalized, the posting begun in the same unit of work (``_begin_posting``).
    ``invoice``: billing's draft as read under this invoice's lock."""
    if tax_args is not None and not await _determine_tax(
            services, billing_invoice_id, customer_id, invoice, tax_args):
        return False, None
    try:
        if not in_erp:
            await ensure_erp_customer(services, customer_id, utcnow())
    except (OnboardingError, RoutingError) as err:
        async with services.unit() as session:
            row = _invoice_row(session, billing_invoice_id)
            assert row is not None
            if "erp_customer" not in row.hold_reasons:
                records.save(session, row, hold_reasons=[*row.hold_reasons, "erp_customer"])
            records.step(session, customer_id, "invoice.waiting_for_erp_customer",
                         "integration", subject=billing_invoice_id, reason=str(err))
        return False, None
    finalized = await services.adapters.billing.finalize_invoice(billing_invoice_id)
    async with services.unit() as session:
        row = _invoice_row(session, billing_invoice_id)
        assert row is not None
        _mark_finalized(session, row, finalized, hold_reasons=[])
        return True, _begin_posting(services, session, row)


def _tax_args(services: Services, session: Any, row: InvoiceRow,
              on: datetime) -> dict[str, Any]:
    """The AvaTax ``SalesInvoice`` of an invoice (code = billing invoice id) for its net, its
    customer's address and the tax company of the customer's country, dated ``on``."""
    customer = session.get_one(CustomerRow, row.customer_id)
    tax = services.settings.tax
    return dict(code=row.billing_invoice_id,
                company_code=tax.company_by_country.get(customer.country, tax.default_company),
                customer_code=customer.id, currency=row.currency, net_minor=row.net_amount,
                on=on.date(), address=dict(customer.address), tax_code=tax.tax_code)


async def _determine_tax(services: Services, billing_invoice_id: str, customer_id: str,
                         invoice: dict[str, Any], args: dict[str, Any]) -> bool:
    """AvaTax's tax for the held draft ``invoice`` (read under this invoice's lock, which
    every change to a held draft takes: it is current), added to it as a line; ``args``:
    its ``SalesInvoice`` (``_tax_args``), built under the same lock."""
    try:
        transaction = await services.adapters.tax.determine_tax(**args)
    except AdapterError as err:
        async with services.unit() as session:
            records.exception(session, billing_invoice_id, "tax_determination_failed", "tax",
                              str(err))
        return False
    tax_minor = to_minor(transaction.get("totalTax") or 0, str(args["currency"]))
    billed_tax = int(invoice.get("total") or 0) - _net_of(invoice)
    if billed_tax:  # the subscription's default tax rates: verify them, never tax twice
        if billed_tax != tax_minor:
            async with services.unit() as session:
                _flag(session, billing_invoice_id, "tax_mismatch", "tax",
                      f"billing charges tax {billed_tax} by its tax rates, AvaTax determined "
                      f"{tax_minor} (transaction {transaction.get('code')}) on net "
                      f"{args['net_minor']} {args['currency']}; invoice kept on hold")
            return False
    elif tax_minor:
        await services.adapters.billing.add_tax_line(
            invoice=invoice, amount=tax_minor, transaction_code=transaction["code"],
            description=f"Tax ({transaction.get('code')})")
    async with services.unit() as session:
        row = _invoice_row(session, billing_invoice_id)
        assert row is not None
        records.save(session, row, tax_amount=tax_minor,
                     tax_transaction_code=transaction["code"],
                     tax_company_code=str(args["company_code"]),
                     hold_reasons=[r for r in row.hold_reasons if r != "tax"],
                     status=_to(row, InvoiceStatus.TAX_DETERMINED))
        records.resolve_exceptions(session, billing_invoice_id, "tax_mismatch")
        records.step(session, customer_id, "tax.determined", "tax", subject=billing_invoice_id,
                     transaction=transaction["code"], total_tax=transaction.get("totalTax"))
        if tax_minor and not billed_tax:
            records.step(session, customer_id, "billing.tax_added", "billing",
                         subject=billing_invoice_id, amount=tax_minor)
    return True


async def _record_billed_tax(services: Services, billing_invoice_id: str) -> bool:
    """An invoice billing finalized on its own (a subscription's first invoice): the same
    ``SalesInvoice`` as for a held one (code = billing invoice id, committed once posted),
    for the net billing charged; billing's tax must equal AvaTax's to the cent, else the
    invoice is not posted and waits in the DLQ with the reason."""
    async with services.unit() as session:
        row = _invoice_row(session, billing_invoice_id)
        assert row is not None
        args = _tax_args(services, session, row, row.billing_finalized_at or utcnow())
        customer_id, billed_tax = row.customer_id, row.tax_amount
    try:
        transaction = await services.adapters.tax.determine_tax(**args)
    except AdapterError as err:
        async with services.unit() as session:
            _flag(session, billing_invoice_id, "tax_determination_failed", "tax", str(err))
        return False
    tax_minor = to_minor(transaction.get("totalTax") or 0, str(args["currency"]))
    async with services.unit() as session:
        row = _invoice_row(session, billing_invoice_id)
        assert row is not None
        records.resolve_exceptions(session, billing_invoice_id, "tax_determination_failed")
        if tax_minor != billed_tax:
            _flag(session, billing_invoice_id, "tax_mismatch", "tax",
                  f"billing charged tax {billed_tax}, AvaTax determined {tax_minor} "
                  f"(transaction {transaction.get('code')}) on net {args['net_minor']} "
                  f"{args['currency']}; not posted")
            return False
        records.resolve_exceptions(session, billing_invoice_id, "tax_mismatch")
        records.save(session, row, tax_transaction_code=transaction["code"],
                     tax_company_code=str(args["company_code"]))
        records.step(session, customer_id, "tax.determined", "tax", subject=billing_invoice_id,
                     transaction=transaction["code"], total_tax=transaction.get("totalTax"),
                     billed_tax=billed_tax)
    return True


def _finalized_by_billing(session: Any, row: InvoiceRow, invoice: dict[str, Any]) -> None:
    """Billing finalized the invoice; without the layer's tax hold (a subscription's first
    invoice is finalized at once, taxed by the tax rate the layer gave the subscription) the
    tax is what billing charged; before posting, the layer records it in AvaTax and checks
    it there (``_record_billed_tax``)."""
    if row.status in OPEN_STATES and row.tax_transaction_code is None:
        net = _net_of(invoice)
        records.save(session, row, net_amount=net, tax_amount=int(invoice["total"]) - net)
        records.step(session, row.customer_id, "tax.billed", "billing",
                     subject=row.billing_invoice_id, amount=row.tax_amount,
                     reason=f"finalized by billing ({invoice.get('billing_reason')}) "
                            "without a tax hold")
    _mark_finalized(session, row, invoice)


def _mark_finalized(session: Any, row: InvoiceRow, invoice: dict[str, Any],
                    **also: Any) -> None:
    """Billing's finalization recorded on ``row`` (with the changes ``also``)."""
    if invoice.get("status") in ("draft", None) or row.status in (
            InvoiceStatus.FINALIZED.value, InvoiceStatus.POSTED.value, InvoiceStatus.PAID.value):
        if also:
            records.save(session, row, **also)
        return
    records.save(session, row, **also, status=_to(row, InvoiceStatus.FINALIZED),
                 number=invoice.get("number"),
                 billing_finalized_at=_ts((invoice.get("status_transitions") or {}).get(
                     "finalized_at")) or utcnow())
    billed_gross = int(invoice.get("total") or 0)
    if billed_gross != row.net_amount + row.tax_amount:
        records.exception(session, row.billing_invoice_id, "amount_mismatch", "billing",
                          f"billing total {billed_gross} ≠ net {row.net_amount} + tax "
                          f"{row.tax_amount}")
    records.step(session, row.customer_id, "billing.invoice_finalized", "billing",
                 subject=row.billing_invoice_id, at=row.billing_finalized_at,
                 number=row.number, total=billed_gross)


async def on_invoice_finalized(services: Services, invoice: dict[str, Any]) -> None:
    tracked = await track_invoice(services, invoice)
    if tracked is None or tracked[1] in PAST_POSTING:  # the layer finalized and posted it
        return
    with correlation.bound(tracked[0]):
        if await _finalized(services, invoice):
            await _post_once(services, invoice["id"])


async def _finalized(services: Services, invoice: dict[str, Any]) -> bool:
    """Record billing's finalization; False when the invoice is past posting already (the
    layer finalized and posted it before billing's event came)."""
    async with services.lock(f"invoice:{invoice['id']}"), services.unit() as session:
        row = _invoice_row(session, invoice["id"])
        assert row is not None
        if row.status in PAST_POSTING:
            return False
        _finalized_by_billing(session, row, invoice)
        return True


async def post_invoice(services: Services, billing_invoice_id: str) -> None:
    """Post a finalized invoice once, in the ERP of its legal entity at finalization."""
    with correlation.bound(_flow_of(services, billing_invoice_id)):
        await _post_once(services, billing_invoice_id)


async def _post_once(services: Services, billing_invoice_id: str) -> None:
    async with services.lock(f"invoice:{billing_invoice_id}"):
        async with services.unit() as session:
            row = _invoice_row(session, billing_invoice_id)
            posting = _begin_posting(services, session, row) if row is not None else None
        if posting is not None:
            await _continue_posting(services, billing_invoice_id, posting)


@dataclass(frozen=True)
class _Posting:
    """A posting begun in a unit of work: ``attempt`` recorded in the ledger, to be sent to
    ``erp_customer``; or, with no attempt, the tax to record and the ERP customer to ensure
    first."""

    finalized_at: datetime
    customer_id: str
    needs_tax: bool
    attempt: _Attempt | None = None
    erp_customer: str = ""


def _begin_posting(services: Services, session: Any, row: InvoiceRow) -> _Posting | None:
    """In the caller's unit of work (the invoice's lock held): None when there is nothing
    to post (not finalized, zero amount, rejected for good, in doubt). The usual case — tax
    recorded, the customer already in the routed ERP — records the attempt right here."""
    billing_invoice_id = row.billing_invoice_id
    if row.status != InvoiceStatus.FINALIZED.value:
        return None
    if row.net_amount + row.tax_amount <= 0:
        if "zero_amount" not in row.hold_reasons:
            records.save(session, row, hold_reasons=["zero_amount"])
            records.step(session, row.customer_id, "erp.posting_not_required",
                         "integration", subject=billing_invoice_id)
        return None
    ledger = session.get(ErpPosting, billing_invoice_id)
    if ledger is not None and ledger.status == "rejected":
        return None
    finalized_at = row.billing_finalized_at or utcnow()
    needs_tax = row.tax_transaction_code is None
    if needs_tax:
        return _Posting(finalized_at, row.customer_id, needs_tax)
    if ledger is not None:  # a started posting keeps its ERP, and its customer there
        erp, company_code = ledger.erp, ledger.company_code
        erp_customer = records.external_id(session, "customer", row.customer_id, erp,
                                           company_code)
        if erp_customer is None:  # never sent under another ERP's customer number
            _flag(session, billing_invoice_id, "erp_customer_missing", erp,
                  f"the posting started in {erp} {company_code}, where the customer has no "
                  "number")
            return None
    else:
        known = known_erp_customer(session, row.customer_id, finalized_at)
        erp, company_code, erp_customer = \
            (known[0].erp, known[0].company_code, known[1]) if known else ("", "", None)
    if erp_customer is None:
        return _Posting(finalized_at, row.customer_id, needs_tax)
    attempt = _start_attempt(services, session, row, ledger, erp, company_code)
    if attempt is None:
        return None
    return _Posting(finalized_at, row.customer_id, False, attempt, erp_customer)


async def _continue_posting(services: Services, billing_invoice_id: str,
                            posting: _Posting) -> None:
    """After the unit of work that began the posting, the invoice's lock still held."""
    if posting.attempt is not None:
        await _send_posting(services, billing_invoice_id, posting.attempt,
                            posting.erp_customer, posting.finalized_at)
        return
    if posting.needs_tax and not await _record_billed_tax(services, billing_invoice_id):
        return
    try:
        target, erp_customer = await ensure_erp_customer(services, posting.customer_id,
                                                         posting.finalized_at)
    except (OnboardingError, RoutingError) as err:
        async with services.unit() as session:  # once, not once per sweep
            _flag(session, billing_invoice_id, "erp_customer_missing", "integration",
                  str(err))
        return
    await _post(services, billing_invoice_id, target.erp, target.company_code,
                erp_customer, posting.finalized_at)


async def _post(services: Services, billing_invoice_id: str, erp: str, company_code: str,
                erp_customer: str, finalized_at: datetime) -> None:
    async with services.unit() as session:
        row = _invoice_row(session, billing_invoice_id)
        assert row is not None
        attempt = _start_attempt(services, session, row,
                                 session.get(ErpPosting, billing_invoice_id), erp, company_code)
    if attempt is not None:
        await _send_posting(services, billing_invoice_id, attempt, erp_customer, finalized_at)


@dataclass(frozen=True)
class _Attempt:
    """A posting attempt recorded in the ledger (committed before it is sent)."""

    erp: str
    company_code: str
    currency: str
    net: int
    tax: int
    number: str
    attempted_before: bool


def _start_attempt(services: Services, session: Any, row: InvoiceRow,
                   ledger: ErpPosting | None, erp: str, company_code: str) -> _Attempt | None:
    """Record the next posting attempt in the ledger; None when there is nothing to send
    (a posting the layer was killed in the middle of is in doubt: looked up, not re-sent)."""
    billing_invoice_id = row.billing_invoice_id
    if ledger is None:
        records.insert_row(session, ErpPosting,
                           billing_invoice_id=billing_invoice_id, erp=erp,
                           company_code=company_code, status="attempting", attempts=1,
                           correlation_id=row.correlation_id)
        return _Attempt(erp, company_code, row.currency, row.net_amount, row.tax_amount,
                        row.number or "", False)
    if ledger.status == "attempting" and ledger.updated_at < services.started_at:
        # a process stopped (killed) during this posting: the ERP may still book the
        # request it had sent, so it is in doubt — looked up after in_doubt_after_s,
        # re-posted only if not booked by then (never a blind second posting)
        # in doubt since the attempt was sent (its time kept: the look-up waits from then)
        ledger.status = "in_doubt"
        flag_modified(ledger, "updated_at")  # written as is: no onupdate "now"
        _flag(session, billing_invoice_id, "erp_posting_in_doubt", ledger.erp,
              "the layer stopped while posting; the outcome is looked up before any "
              "re-post")
        records.step(session, billing_invoice_id, "erp.posting_in_doubt", ledger.erp,
                     subject=billing_invoice_id, reason="process restarted")
        return None
    records.save(session, ledger, attempts=ledger.attempts + 1,
                 status="attempting" if ledger.status != "posted" else "posted")
    # a started posting keeps its ERP
    return _Attempt(ledger.erp, ledger.company_code, row.currency, row.net_amount,
                    row.tax_amount, row.number or "", ledger.attempts > 1)


async def _send_posting(services: Services, billing_invoice_id: str, attempt: _Attempt,
                        erp_customer: str, finalized_at: datetime) -> None:
    """Send a recorded attempt to its ERP; the outcome goes to the ledger and the DLQ."""
    erp, company_code, currency = attempt.erp, attempt.company_code, attempt.currency
    net, tax, number, attempted_before = (attempt.net, attempt.tax, attempt.number,
                                          attempt.attempted_before)
    try:
        if erp == "cloud_erp":
            doc = await services.adapters.cloud_erp.post_invoice(
                company_code=company_code, customer=erp_customer,
                reference=(number or billing_invoice_id)[:16],
                billing_invoice_id=billing_invoice_id, at=finalized_at, currency=currency,
                gross=text(net + tax, currency), tax=text(tax, currency),
                net=text(net, currency),
                look_first=attempted_before)  # the ledger: a first attempt was never sent
            document, year, queued = doc["AccountingDocument"], doc.get("FiscalYear"), None
        else:
            legacy = services.adapters.legacy_erp
            found = await legacy.find_posting(company_code, erp_customer,
                                              number or billing_invoice_id) \
                if attempted_before else None  # no idempotency: look before posting again
            invoice_date = finalized_at.date()
            result = {"Status": "QUEUED" if found.get("Status") == "QUEUED" else "POSTED",
                      **found} if found else await legacy.post_invoice(
                company_code=company_code, customer=erp_customer,
                reference=number or billing_invoice_id,
                invoice_date=invoice_date, due_date=invoice_date + timedelta(
                    days=services.settings.billing.days_until_due),
                currency=currency, net=text(net, currency), tax=text(tax, currency),
                gross=text(net + tax, currency))
            document, year = result.get("DocumentNumber") or None, result.get("FiscalYear")
            queued = result.get("QueueTicket") if result.get("Status") == "QUEUED" else None
    except InDoubt as err:
        async with services.unit() as session:
            ledger = session.get_one(ErpPosting, billing_invoice_id)
            ledger.status = "in_doubt"
            records.exception(session, billing_invoice_id, "erp_posting_in_doubt", erp, str(err))
            records.step(session, billing_invoice_id, "erp.posting_in_doubt", erp,
                         subject=billing_invoice_id)
        return
    except VendorError as err:
        async with services.unit() as session:
            ledger = session.get_one(ErpPosting, billing_invoice_id)
            ledger.status = "rejected"
            records.exception(session, billing_invoice_id, "erp_posting_rejected", erp,
                              str(err))
            records.step(session, billing_invoice_id, "erp.posting_rejected", erp,
                         subject=billing_invoice_id, code=err.code)
        return
    except (AdapterError, httpx.TransportError) as err:
        async with services.unit() as session:
            records.exception(session, billing_invoice_id, "erp_posting_delayed", erp, str(err))
            records.step(session, billing_invoice_id, "erp.posting_delayed", erp,
                         subject=billing_invoice_id, error=str(err)[:200])
        return
    await _posted(services, billing_invoice_id, erp, company_code, document, year, queued)


async def _posted(services: Services, billing_invoice_id: str, erp: str, company_code: str,
                  document: str | None, year: str | None, queued: str | None) -> None:
    async with services.unit() as session:
        row = _invoice_row(session, billing_invoice_id)
        assert row is not None
        ledger = session.get_one(ErpPosting, billing_invoice_id)
        if document is None:
            records.save(session, ledger, status="queued", queue_ticket=queued)
            if "erp_queued" not in row.hold_reasons:
                records.save(session, row, hold_reasons=["erp_queued"])
                records.step(session, row.customer_id, "erp.posting_queued", erp,
                             subject=billing_invoice_id, ticket=queued)
            return
        records.save(session, ledger, status="posted", document=document, fiscal_year=year)
        posted_at = utcnow()
        records.save(session, row, erp=erp, company_code=company_code, erp_document=document,
                     erp_fiscal_year=year, posted_at=posted_at, hold_reasons=[],
                     status=_to(row, InvoiceStatus.POSTED))
        # an ERP document is unique per company code and fiscal year only
        records.link(session, "invoice", row.id, erp, f"{year}/{document}" if year else document,
                     company_code)
        records.resolve_exceptions(session, billing_invoice_id, "erp_posting_delayed",
                                   "erp_posting_in_doubt")
        records.step(session, row.customer_id, "erp.invoice_posted", erp,
                     subject=billing_invoice_id, document=document, company_code=company_code)
        # the event in the posting's own unit of work (the outbox): a process killed right
        # after this commit still publishes it at restart, and never emits it twice
        services.bus.emit(session, billing_invoice_id, InvoicePosted(
            invoice_id=row.id, billing_invoice_id=billing_invoice_id,
            erp=Erp(erp), company_code=company_code,
            erp_document=document, currency=row.currency, net_amount=row.net_amount,
            tax_amount=row.tax_amount, gross_amount=row.net_amount + row.tax_amount))
        services.metrics.postings.labels(erp).inc()
        if row.billing_finalized_at:
            services.metrics.posting_latency.observe(
                (posted_at - row.billing_finalized_at).total_seconds())
        tax_code, tax_company = row.tax_transaction_code, row.tax_company_code
    if tax_code and tax_company:  # a crash before it: the sweep commits it (dlq.sweep)
        await _commit_tax(services, billing_invoice_id, tax_company, tax_code)
    log.info("invoice posted", billing_invoice_id=billing_invoice_id, erp=erp,
             document=document)
    await apply_buffered(services, billing_invoice_id)


async def _commit_tax(services: Services, billing_invoice_id: str, company: str,
                      code: str) -> None:
    try:
        await services.adapters.tax.commit(company, code)
    except AdapterError as err:
        async with services.unit() as session:
            records.exception(session, billing_invoice_id, "tax_commit_failed", "tax", str(err))
        return
    async with services.unit() as session:
        row = _invoice_row(session, billing_invoice_id)
        assert row is not None
        records.save(session, row, tax_committed=True)
        records.step(session, row.customer_id, "tax.committed", "tax",
                     subject=billing_invoice_id, transaction=code)


async def check_queued_posting(services: Services, billing_invoice_id: str) -> None:
    """A legacy posting queued outside the batch window: booked yet?"""
    async with services.unit() as session:
        ledger = session.get(ErpPosting, billing_invoice_id)
        row = _invoice_row(session, billing_invoice_id)
        if ledger is None or row is None or ledger.status != "queued":
            return
        customer = records.external_id(session, "customer", row.customer_id, ledger.erp,
                                       ledger.company_code)
        company = ledger.company_code
        row_number = row.number or billing_invoice_id
    if customer is None:
        return
    found = await services.adapters.legacy_erp.find_posting(company, customer,
                                                            row_number)
    if found and found.get("DocumentNumber"):
        await _posted(services, billing_invoice_id, "legacy_erp", company,
                      found["DocumentNumber"], found.get("FiscalYear"), None)


__all__ = ["OPEN_STATES", "advance_invoice", "check_queued_posting", "invoice_view",
           "on_invoice_created", "on_invoice_finalized", "post_invoice"]
