"""A breaking provider change fails verification, with a readable diff in the report: the
billing simulator renames ``customer`` to ``customer_id`` on invoices; the tax simulator
answers ``createoradjust`` with 200 instead of 201. Nothing else changes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pact_support import copy_pacts

import simulators
from harness.contract_states import STATES
from harness.contracts import (
    PROVIDERS,
    ContractRun,
    pact_sources,
    verify_provider,
    write_reports,
)
from simulators._kit import build_app, serve_in_thread

Mutation = Callable[[str, int, bytes], tuple[int, bytes]]


def mutated(app: Any, mutate: Mutation) -> Any:
    """``app`` with every response passed through ``mutate(path, status, body)``."""

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                status, body = mutate(scope["path"], start["status"], b"".join(chunks))
                headers = [(k, v) for k, v in start.get("headers", [])
                           if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await app(scope, receive, capture)

    return wrapper


def verify_mutated(provider: str, mutate: Mutation, tmp_path: Path) -> ContractRun:
    sources = pact_sources(copy_pacts(tmp_path / "pacts", provider), provider)
    cls = simulators.simulator_class(PROVIDERS[provider])
    app = mutated(build_app(cls(cls.config_class())), mutate)
    run = ContractRun("mutation", tmp_path / "report", pacts=sources)
    with serve_in_thread(app) as server:
        states = STATES[provider](server.url)
        try:
            run.verifications.append(verify_provider(provider, base_url=server.url,
                                                     sources=sources, states=states))
        finally:
            states.close()
    write_reports(run)
    return run


def rename_invoice_customer(path: str, status: int, body: bytes) -> tuple[int, bytes]:
    if path.startswith("/v1/invoices/") and body.startswith(b"{"):
        doc = json.loads(body)
        if doc.get("object") == "invoice":
            doc["customer_id"] = doc.pop("customer")
            return status, json.dumps(doc).encode()
    return status, body


def created_is_ok(path: str, status: int, body: bytes) -> tuple[int, bytes]:
    if path == "/api/v2/transactions/createoradjust" and status == 201:
        return 200, body
    return status, body


def test_a_renamed_field_fails_the_interactions_that_read_it(tmp_path: Path) -> None:
    run = verify_mutated("stripe-billing", rename_invoice_customer, tmp_path)
    failed = {i.description: i.message for i in run.interactions if i.status == "failed"}
    assert "a request for a draft invoice" in failed
    assert "a request to finalize a draft invoice" in failed
    # only the invoice interactions break; the rest of the pact still holds
    assert "a request to create a customer" not in failed
    message = failed["a request for a draft invoice"]
    assert "$" in message and "customer" in message, message
    junit = ET.parse(run.report_dir / "junit.xml").getroot()
    failures = [c for c in junit.iter("testcase") if c.find("failure") is not None]
    assert {c.get("name") for c in failures} == set(failed)
    assert "customer" in (failures[0].find("failure").text or "")  # type: ignore[union-attr]
    assert not run.passed


def test_a_changed_status_code_fails_with_expected_and_actual(tmp_path: Path) -> None:
    run = verify_mutated("avalara-tax", created_is_ok, tmp_path)
    failed = {i.description: i.message for i in run.interactions if i.status == "failed"}
    assert list(failed) == ["a request to create or adjust an uncommitted sales invoice"]
    assert "status: expected 201 but got 200" in next(iter(failed.values()))
    results = json.loads((run.report_dir / "results.json").read_text())
    assert results["passed"] is False
