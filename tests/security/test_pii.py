"""PII stays out of logs and reports: the one redaction function (``harness.canonical.redact``)
on every pattern, in the layer's structlog JSON and the simulators' stdlib logs, in the report
writers, and — the acceptance test — a whole ``harness gate`` run in a subprocess, every file it
writes and everything it prints grepped for the PII the gate's data holds."""

from __future__ import annotations

import io
import json
import logging
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog

from harness.business import in_process_clients
from harness.canonical.redact import (
    CARD,
    CVC,
    EMAIL,
    PHONE,
    REDACTED,
    TAX_ID,
    RedactingFilter,
    redact,
    redact_text,
)
from harness.gate import CaseResult
from scenarios.definitions import TEMPLATES

GATE_SEED = 42  # `harness gate`'s default --seed; its seed stage asks each simulator for 20
GATE_SIZE = 20
CARD_NUMBERS = ("4111111111111111",)  # the scenarios' and locustfiles' test card
# files that are systems' data, not logs or reports: the layer's own database holds its
# customers by design, the CA holds keys
NOT_LOGS = (".db", ".db-wal", ".db-shm", ".sqlite", ".pem", ".key")


# -- the redaction function -----------------------------------------------------------------
@pytest.mark.parametrize(("text", "marker"), [
    ("mail ada.lovelace+billing@example.co.uk", EMAIL),
    ("call +49 30 1234567", PHONE),
    ("call +1-555-123-4567 x204", PHONE),
    ("call (030) 12345678", PHONE),
    ("call 555.123.4567", PHONE),
    ("call 03-1234-5678", PHONE),
    ("call 01 43 41 92 54", PHONE),
    ("call 0232781286", PHONE),
    ("pan 4111111111111111", CARD),
    ("pan 4111 1111 1111 1111", CARD),
    ("pan 5555-5555-5555-4444", CARD),
    ("amex 378282246310005", CARD),
    ('"cvc": "737"', CVC),
    ("card[cvc]=123", CVC),
    ("vat DE811569869", TAX_ID),
    ("vat FR40303265045", TAX_ID),
    ("vat ATU12345678", TAX_ID),
    ("vat NL123456789B01", TAX_ID),
    ("ein 12-3456789", TAX_ID),
    ("jp T1234567890123", TAX_ID),
    ("ca 123456789RT0001", TAX_ID),
    ("-H 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'", REDACTED),
    ("-H 'X-API-Key: AQE_o2c_test_key'", REDACTED),
    ("client_secret=o2c-client-secret", REDACTED),
])
def test_each_kind_of_pii_is_replaced_by_its_marker(text: str, marker: str) -> None:
    prefix, _ = text.split(" ", 1) if not text.startswith(('"', "card[", "-H", "client")) \
        else ("", text)
    out = redact_text(text)
    assert marker in out
    if prefix:  # the whole value went, the words around it stay
        assert out == f"{prefix} {marker}"
    if marker == REDACTED:  # the header or field name stays, the credential goes
        assert out.rstrip("'").endswith(REDACTED) and out.split(REDACTED)[0] in text


@pytest.mark.parametrize("text", [
    "2026-11-25T17:07:35.123456+00:00", "127.0.0.1:8100", "run 20261125T170735Z",
    "epoch ms 1795626519000", "p95 628.7260750000314 ms", "0 0 420 220",
    "in_1QxYz2AbCdEf 550e8400-e29b-41d4-a716-446655440000", "order 4111111111111112",
    "company code 1010, customer 1000001, document 0100000001 of 2026",
    "version 1.2.3", "GET /v1/invoices?limit=100&starting_after=in_123",
])
def test_ids_dates_amounts_and_urls_are_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_structured_data_is_redacted_by_key_whatever_the_value_looks_like() -> None:
    doc = {"Phone": "5272868387", "VAT_Number__c": "12345678901", "email": "not-an-email",
           "paymentMethod": {"number": "x", "cvc": "737", "holderName": "Ada"},
           "rows": [{"tax_id": "X1"}, "mail ada@example.com"], "count": 3, "ok": True,
           "phone": None}
    out = redact(doc)
    assert out["Phone"] == PHONE and out["VAT_Number__c"] == TAX_ID and out["email"] == EMAIL
    assert out["paymentMethod"]["cvc"] == CVC
    assert out["rows"] == [{"tax_id": TAX_ID}, f"mail {EMAIL}"]
    assert (out["count"], out["ok"], out["phone"]) == (3, True, None)
    assert doc["Phone"] == "5272868387"  # a copy: the caller's data is not touched


# -- wired in: the layer's logs, the simulators' logs, the report writers ------------------------
def test_the_layer_logs_json_lines_without_pii(capsys: pytest.CaptureFixture[str]) -> None:
    from integration.observability import configure_logging, get_logger

    configure_logging("info")
    try:
        try:
            raise ValueError("vendor refused ada@example.com with VAT DE811569869")
        except ValueError:
            get_logger("test").exception("onboarding stopped", email="ada@example.com",
                                         error="card 4111111111111111 declined",
                                         phone="+44 20 7946 0018")
    finally:
        structlog.reset_defaults()
    err = capsys.readouterr().err
    line = json.loads(err.strip().splitlines()[-1])
    assert line["email"] == EMAIL and line["phone"] == PHONE
    assert line["error"] == f"card {CARD} declined"
    for leaked in ("ada@example.com", "DE811569869", "4111111111111111", "7946"):
        assert leaked not in err
    assert "Traceback" in line["exception"]  # the traceback is kept, redacted


def test_stdlib_log_lines_and_tracebacks_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("o2c.test.redaction")
    logger.addHandler(handler)
    logger.addFilter(RedactingFilter())
    logger.propagate = False
    try:
        try:
            raise RuntimeError("customer bob@example.org")
        except RuntimeError:
            logger.exception("webhook to %s failed for %s", "http://x", "tel +33 1 23 45 67 89")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "bob@example.org" not in text and "+33 1 23" not in text
    assert EMAIL in text and PHONE in text and "RuntimeError" in text


def test_simulators_install_the_filter_on_their_loggers() -> None:
    from simulators._kit.http import quiet_reset_faults

    quiet_reset_faults()
    for name in ("o2c.simulators", "o2c.simulators.webhooks", "uvicorn.error"):
        assert any(isinstance(f, RedactingFilter) for f in logging.getLogger(name).filters)


def test_a_case_message_is_redacted_everywhere_it_is_shown() -> None:
    case = CaseResult("fault-matrix", "onboarding", "failed",
                      message="customer ada@example.com (DE811569869) not in billing")
    assert case.message == f"customer {EMAIL} ({TAX_ID}) not in billing"


def test_the_gate_redacts_the_engines_captured_output(tmp_path: Path) -> None:
    # the engines (Pact verifier, schemathesis, the layer) write to engines.log by fd, past
    # any logger: the report writer redacts the file; summary.json too
    from harness.gate import GateResult
    from harness.gate_report import write_reports

    (tmp_path / "engines.log").write_text("mismatch: expected ada@example.com got DE811569869\n")
    result = GateResult("run-1", tmp_path)
    result.cases.append(CaseResult("fuzz", "integration", "failed",
                                   message="POST /customers with tel +44 20 7946 0018"))
    write_reports(result)
    assert (tmp_path / "engines.log").read_text() == f"mismatch: expected {EMAIL} got {TAX_ID}\n"
    for name in ("summary.json", "junit.xml", "report.html"):
        assert "7946" not in (tmp_path / name).read_text()
    assert PHONE in (tmp_path / "summary.json").read_text()
    assert PHONE in (tmp_path / "junit.xml").read_text()


def test_a_file_another_program_wrote_is_redacted_in_place(tmp_path: Path) -> None:
    from harness.canonical.redact import redact_file

    failures = tmp_path / "locust_failures.csv"
    failures.write_text('POST,/v71/payments,"declined 4111111111111111 cvc: 737",1\n')
    assert redact_file(failures)
    assert failures.read_text() == f'POST,/v71/payments,"declined {CARD} cvc: {CVC}",1\n'
    assert not redact_file(failures)  # nothing left: the file is not rewritten
    (tmp_path / "blob").write_bytes(b"\xff\xfe\x00")
    assert not redact_file(tmp_path / "blob")


# -- the acceptance test: a whole gate run, grepped -----------------------------------------
def _walk(value: Any, key: str | None = None) -> Iterator[tuple[str | None, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)
    else:
        yield key, value


def seeded_pii() -> set[str]:
    """The PII values the gate's data holds: every simulator seeded as the gate's seed stage
    seeds it (same seed, same size; the seeds are deterministic), read back from snapshots,
    plus the VAT ids and card of the scenarios (fault matrix, load)."""
    found: set[str] = set()
    with in_process_clients() as clients:
        for client in clients.values():
            client.post("/_sim/seed", json={"seed": GATE_SEED, "size": GATE_SIZE}
                        ).raise_for_status()
            snapshot = client.get("/_sim/snapshot").json()
            for key, value in _walk(snapshot):
                if not isinstance(value, str) or len(value) < 6:
                    continue
                if redact(value, key=key) != value and (
                        isinstance(key, str) and redact("x", key=key) != "x"):
                    found.add(value)  # under a personal-data key (email, Phone, VAT, ...)
                elif "@" in value:
                    found.update(m.group(0) for m in re.finditer(r"[\w.+-]+@[\w.-]+\.\w+",
                                                                  value))
    found.update(t.vat for t in TEMPLATES if t.vat)
    found.update(CARD_NUMBERS)
    return found


def _variants(value: str) -> set[str]:
    """How a value shows up in a file: as is, URL-encoded (query strings, form bodies)."""
    return {value, urllib.parse.quote(value), urllib.parse.quote_plus(value)}


@dataclass
class Leak:
    file: str
    line: int
    what: str


def scan(paths: list[Path], values: set[str]) -> list[Leak]:
    """Every occurrence of a seeded value, and every PII-looking text the redaction function
    would still change (generic patterns), in the text files under ``paths``."""
    wanted = {variant: value for value in values for variant in _variants(value)}
    leaks: list[Leak] = []
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if file.name.endswith(NOT_LOGS):
                continue
            text = file.read_bytes().decode("utf-8", errors="replace")
            for n, line in enumerate(text.splitlines(), 1):
                for variant, value in wanted.items():
                    if variant in line:
                        leaks.append(Leak(str(file), n, f"seeded value {value!r}"))
                redacted = redact_text(line)
                if redacted != line:
                    leaks.append(Leak(str(file), n, f"PII pattern: {line[:160]!r}"))
    return leaks


def test_the_scan_finds_a_seeded_value_and_a_pattern(tmp_path: Path) -> None:
    # the grep below can fail: a planted leak is found, as is and URL-encoded
    values = seeded_pii()
    email = next(v for v in sorted(values) if "@" in v)
    (tmp_path / "a.log").write_text(f"ok\nquery=email%3A{urllib.parse.quote(email)}\n")
    (tmp_path / "b.json").write_text('{"note": "call +49 30 1234567"}')
    (tmp_path / "clean.txt").write_text("nothing 2026-11-25 127.0.0.1\n")
    leaks = scan([tmp_path], values)
    assert {(Path(leak.file).name, leak.line) for leak in leaks} == {("a.log", 2), ("b.json", 1)}


def test_the_gate_data_holds_pii_to_look_for() -> None:
    values = seeded_pii()
    assert sum("@" in v for v in values) >= GATE_SIZE  # CRM contacts, billing customers
    assert any(re.fullmatch(r"(ATU|DE|FR|GB)\d+", v) for v in values)  # VAT ids
    assert "4111111111111111" in values


@pytest.mark.slow
def test_a_whole_gate_run_writes_and_prints_no_pii(gate_run: Path) -> None:
    summaries = list((gate_run / "reports").glob("*/summary.json"))
    assert len(summaries) == 1, (gate_run / "stderr.log").read_text()[-2000:]
    summary = json.loads(summaries[0].read_text())
    ran = {s["name"]: s["status"] for s in summary["stages"]}
    # every stage ran (passed or failed): the grep covers what each one writes
    not_run = {name: status for name, status in ran.items() if status not in ("passed", "failed")}
    assert not_run == {}
    assert {"contracts", "fuzz", "fault-matrix", "load"} <= set(ran)
    written = [p for p in gate_run.rglob("*") if p.is_file()]
    assert any(p.name == "engines.log" for p in written)
    assert any(p.name == "load.json" for p in written)
    logged = "".join(p.read_text(errors="replace") for p in written if p.suffix == ".log")
    assert '"event": "customer onboarded"' in logged  # the layer's info logs were captured
    leaks = scan([gate_run], seeded_pii())
    assert leaks == [], "\n".join(f"{x.file}:{x.line}: {x.what}" for x in leaks[:20])
