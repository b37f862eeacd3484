"""A bare reference layer for tests of one flow step: every vendor call is refused (503) and
recorded, the database holds one onboarded US01 customer and one finalized invoice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from integration import Settings
from integration.db.tables import CustomerRow, InvoiceRow
from integration.services import Services


@contextmanager
def refusing_layer(db: Path, invoice: str, tag: str,
                   **invoice_fields: Any) -> Iterator[tuple[Services, list[httpx.Request]]]:
    """The layer (one attempt per call, no retries) and the requests it sent; customer
    ``cus_<tag>`` (flow ``corr-<tag>``) and its finalized invoice ``invoice`` of 49.00 USD,
    with ``invoice_fields`` on top."""
    sent: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(503)

    built = Services(Settings(database_url=f"sqlite:///{db}", retry={"attempts": 1}),
                     transport=httpx.MockTransport(refuse))
    built.db.migrate()
    with built.db.session() as session:
        session.add(CustomerRow(id=f"cus_{tag}", crm_account_id=f"001{tag.upper()}",
                                match_key="k", name=f"{tag} Inc", legal_entity="US01",
                                country="US", currency="USD", address={},
                                status="onboarded", correlation_id=f"corr-{tag}"))
        session.flush()
        session.add(InvoiceRow(**{
            "id": f"inv_{tag}", "billing_invoice_id": invoice,
            "number": f"INV-{tag.upper()}-0001", "customer_id": f"cus_{tag}",
            "legal_entity": "US01", "currency": "USD", "net_amount": 4900,
            "status": "finalized", "hold_reasons": [], "correlation_id": f"corr-{tag}",
            **invoice_fields}))
    try:
        yield built, sent
    finally:
        asyncio.run(built.aclose())
