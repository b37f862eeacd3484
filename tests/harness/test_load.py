"""``harness load``: Locust (in a subprocess) against a landscape served by the test, business
latencies checked against the simulators' own facts, SLAs judged from the run's numbers.

Locust is never imported here (it patches the interpreter with gevent): the engine runs it
as ``python -m locust``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.config import load_settings
from harness.load import (
    SCENARIOS,
    LoadOptions,
    LoadResult,
    check_slas,
    locust_command,
    parse_duration,
    percentile,
    run_load,
    serve_landscape,
)

# US01 posts to the legacy ERP, DE01/GB01 to the cloud ERP
ENTITIES = ("US01", "DE01", "GB01")


@dataclass
class Run:
    result: LoadResult
    urls: dict[str, str]
    samples: list[dict[str, str]]
    facts: dict[tuple[str, str], dict[str, dict[str, Any]]]


def _facts(client: httpx.Client, url: str, kind: str) -> dict[str, dict[str, Any]]:
    data = client.get(f"{url}/_sim/facts", params={"kind": kind, "limit": 100_000}).json()
    return {f["key"]: f for f in data["data"]}


@contextmanager
def payment_storm(tmp: Path) -> Iterator[Run]:
    """One short payment-storm run (month-end closings every 2 s, every invoice paid), with
    the landscape kept up afterwards so the test can read the facts itself."""
    settings = load_settings(report_dir=tmp / "reports", sla={
        "invoice_posting": {"p95_ms": 0.001}, "payment_update": {"p99_ms": 0.001},
        "error_rate": 0.5})
    options = LoadOptions(scenario="payment-storm", users=4, spawn_rate=4, run_time_s=8,
                          close_every_s=2, business_timeout_s=20, entities=ENTITIES)
    with serve_landscape(settings, tmp) as urls, httpx.Client(timeout=30) as client:
        result = run_load(settings, options, landscape=urls)
        rows: list[dict[str, str]] = []
        for path in (result.out_dir / "samples").glob("business-*.csv"):
            with path.open(newline="") as handle:
                rows.extend(csv.DictReader(handle))
        facts = {(system, kind): _facts(client, urls[system], kind) for system, kind in (
            ("billing", "invoice.finalized"), ("billing", "invoice.paid"),
            ("payments", "payment.authorised"), ("cloud_erp", "invoice.posted"),
            ("legacy_erp", "invoice.posted"), ("cloud_erp", "payment.cleared"),
            ("legacy_erp", "payment.cleared"))}
        yield Run(result, urls, rows, facts)


def test_a_payment_storm_run(tmp_path: Path) -> None:
    """One Locust run (they take seconds; xdist would repeat a shared fixture per worker)
    examined from every side."""
    with payment_storm(tmp_path) as storm:
        business_latencies_are_reported_with_counts(storm)
        latencies_agree_with_the_simulators_facts(storm)
        an_impossible_sla_fails_the_run_with_one_line_per_breach(storm)
        a_sane_sla_passes_on_the_same_numbers(storm)


def business_latencies_are_reported_with_counts(storm: Run) -> None:
    business = storm.result.summary["business"]
    for name in ("invoice-posting", "payment-update"):
        assert business[name]["count"] > 0, business
        assert business[name]["p50_ms"] <= business[name]["p95_ms"] <= business[name]["max_ms"]
    # ... as Locust request events, beside the HTTP calls, in its CSV and HTML report
    with (storm.result.out_dir / "locust_stats.csv").open(newline="") as handle:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(handle)}
    for name in ("invoice-posting", "payment-update"):
        locust_count = int(rows[("business", name)]["Request Count"])
        assert locust_count == len([s for s in storm.samples if s["latency"] == name])
        assert locust_count == business[name]["count"] + business[name]["failures"]
    assert ("POST", "POST /subscriptions") in rows
    html = (storm.result.out_dir / "locust.html").read_text(encoding="utf-8")
    assert "invoice-posting" in html and "payment-update" in html
    written = json.loads((storm.result.out_dir / "load.json").read_text())
    assert written["business"] == business
    assert {e["name"] for e in written["endpoints"]} >= {"POST /usage", "invoice-posting"}


def latencies_agree_with_the_simulators_facts(storm: Run) -> None:
    postings = [s for s in storm.samples if s["latency"] == "invoice-posting" and not s["error"]]
    assert postings
    shifted = 0
    for sample in postings[:: max(1, len(postings) // 12)]:
        finalized = storm.facts[("billing", "invoice.finalized")][sample["key"]]
        erp_facts = storm.facts[(sample["erp"], "invoice.posted")]
        posted = erp_facts.get(sample["number"]) or erp_facts[sample["key"]]
        expected_ms = (posted["wall_at"] - finalized["wall_at"]) * 1000
        assert float(sample["latency_ms"]) == pytest.approx(expected_ms, abs=0.01)
        assert posted["data"]["CompanyCode"] == sample["company_code"]
        assert 0 < expected_ms < 20_000
        # billing's clock was closed a month ahead: raw `at`s would be off by weeks
        shifted += finalized["at"] - finalized["wall_at"] > 20 * 86_400
    assert shifted > 0, "no sampled invoice came from a month-end closing"

    payments = [s for s in storm.samples if s["latency"] == "payment-update" and not s["error"]]
    assert payments
    for sample in payments[:: max(1, len(payments) // 12)]:
        authorised = storm.facts[("payments", "payment.authorised")][sample["key"]]
        paid = storm.facts[("billing", "invoice.paid")][sample["key"]]
        cleared = next(f for erp in ("cloud_erp", "legacy_erp")
                       for ref in (sample["number"], sample["key"])
                       if (f := storm.facts[(erp, "payment.cleared")].get(ref)))
        expected_ms = (max(paid["wall_at"], cleared["wall_at"]) - authorised["wall_at"]) * 1000
        assert float(sample["latency_ms"]) == pytest.approx(expected_ms, abs=0.01)

    summary = storm.result.summary["business"]["invoice-posting"]
    exact = sorted(float(s["latency_ms"]) for s in postings)
    assert summary["max_ms"] == pytest.approx(exact[-1], abs=0.05)
    assert summary["p50_ms"] == pytest.approx(percentile(exact, 50), abs=0.05)


def an_impossible_sla_fails_the_run_with_one_line_per_breach(storm: Run) -> None:
    result = storm.result
    assert not result.passed
    reasons = {c.sla: c.reason for c in result.breaches}
    assert set(reasons) == {"invoice_posting.p95_ms", "payment_update.p99_ms"}
    assert reasons["invoice_posting.p95_ms"].startswith(
        "SLA invoice_posting.p95_ms: invoice-posting p95 ")
    assert "> 0 ms" in reasons["invoice_posting.p95_ms"]
    assert all("\n" not in r for r in reasons.values())
    written = json.loads((result.out_dir / "load.json").read_text())
    assert written["sla"]["passed"] is False


def a_sane_sla_passes_on_the_same_numbers(storm: Run) -> None:
    sane = load_settings(sla={"invoice_posting": {"p95_ms": 60_000, "max_ms": 60_000},
                              "payment_update": {"p99_ms": 60_000}, "error_rate": 0.5})
    checks = check_slas(sane, storm.result.summary, SCENARIOS["payment-storm"])
    assert len(checks) == 4 and all(c.passed for c in checks), checks


def test_an_sla_on_a_latency_with_no_samples_cannot_hold() -> None:
    summary = {"business": {
        "invoice-posting": {"count": 0, "failures": 3, "p95_ms": None},
        "payment-update": {"count": 0, "failures": 0, "p99_ms": None}},
        "totals": {"requests": 10, "failures": 3, "error_rate": 0.3}}
    settings = load_settings(sla={"invoice_posting": {"p95_ms": 500},
                                  "payment_update": {"p99_ms": 1000}, "error_rate": 0.01})
    checks = {c.sla: c for c in check_slas(settings, summary, SCENARIOS["onboarding"])}
    assert not checks["invoice_posting.p95_ms"].passed
    assert "no invoice-posting completed (3 failed)" in checks["invoice_posting.p95_ms"].reason
    # nobody pays in onboarding: its payment SLA is not applicable rather than breached
    assert checks["payment_update.p99_ms"].passed
    assert "not measured by onboarding" in checks["payment_update.p99_ms"].reason
    assert not checks["error_rate"].passed
    assert checks["error_rate"].reason == \
        "SLA error_rate: 30.00% of requests failed (3 of 10) > 1.00%"


def test_locust_command_line() -> None:
    urls = {"billing": "http://127.0.0.1:1", "payments": "http://127.0.0.1:2",
            "integration": "http://127.0.0.1:3"}
    cmd = locust_command(LoadOptions(scenario="migration-wave", users=50, spawn_rate=10,
                                     run_time_s=60, workers=2), urls, Path("/r"), "tag")
    assert cmd[1:3] == ["-m", "locust"]
    assert cmd[cmd.index("-f") + 1].endswith("scenarios/locustfiles/migration_wave.py")
    assert cmd[cmd.index("--host") + 1] == "http://127.0.0.1:3"
    assert cmd[cmd.index("-u") + 1] == "50" and cmd[cmd.index("-t") + 1] == "60s"
    assert cmd[cmd.index("--processes") + 1] == "2" and "--headless" in cmd
    assert cmd[cmd.index("--o2c-urls") + 1] == \
        "billing=http://127.0.0.1:1,payments=http://127.0.0.1:2"
    web = locust_command(LoadOptions(web=True), urls, Path("/r"), "tag")
    assert "--headless" not in web and "--autostart" in web and "--processes" not in web


def test_durations() -> None:
    assert parse_duration("60s") == 60 and parse_duration("1h30m") == 5400
    assert parse_duration("90") == 90
    with pytest.raises(ValueError):
        parse_duration("soon")
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 99) == 4.0


def test_cli_exits_non_zero_with_the_breach_on_one_line(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "harness.toml").write_text(
        f'report_dir = "{tmp_path / "reports"}"\n'
        "[sla]\ninvoice_posting.p95_ms = 0.001\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [
        "load", "--scenario", "onboarding", "--users", "2", "--spawn-rate", "2",
        "--run-time", "5s", "--entities", "DE01", "--business-timeout", "15"])
    assert result.exit_code == 1, result.output
    assert "invoice-posting" in result.output
    lines = [line for line in result.output.splitlines() if "SLA breached" in line]
    # on a busy machine a 5 s run may post nothing: that breaches too, with its own reason
    assert len(lines) == 1 and lines[0].startswith(
        "SLA breached: SLA invoice_posting.p95_ms: "), lines
    (load_json,) = (tmp_path / "reports").glob("*/load/load.json")
    assert json.loads(load_json.read_text())["sla"]["passed"] is False


# every reconciliation check: a migration wave must not break any of them
WAVE_CHECKS = ("customers.onboarded_once", "customers.no_orphans", "invoices.posted_once",
               "invoices.right_erp", "invoices.amounts", "payments.applied",
               "postings.no_orphans", "correlation.end_to_end", "tax.committed",
               "exceptions.accounted")


@pytest.mark.slow
def test_migration_wave_switches_mid_run_and_reconciles(tmp_path: Path) -> None:
    from harness import layer_auth
    from harness.oracle.checks import Expectations, reconcile
    from harness.oracle.state import StateReader
    from scenarios import Endpoints, WaveEntry

    settings = load_settings(report_dir=tmp_path / "reports")
    options = LoadOptions(scenario="migration-wave", users=4, spawn_rate=4, run_time_s=14,
                          wave_at_s=6, close_every_s=2, business_timeout_s=20,
                          entities=("FR01", "DE01"))
    with serve_landscape(settings, tmp_path) as urls, httpx.Client(
            timeout=30, auth=layer_auth.auth(settings, urls["integration"])) as client:
        sims = {k: v for k, v in urls.items() if k != "integration"}
        since = {n: float(client.get(f"{u}/_sim/clock").json()["now"]) for n, u in sims.items()}
        result = run_load(settings, options, landscape=urls)
        plan = [WaveEntry(r["legal_entity"], r["erp"], r["company_code"],
                          _epoch(r["effective_at"]))
                for r in client.get(f"{urls['integration']}/routing").json()]
        reader = StateReader(Endpoints(sims, urls["integration"]), since, client)
        reconciliation = reconcile(reader.read(), Expectations(plan, urls["integration"]))

    france = [e for e in plan if e.legal_entity == "FR01"]
    assert {(e.erp, e.company_code) for e in france} == {("legacy_erp", "3000"),
                                                         ("cloud_erp", "1210")}
    rows = []
    for path in (result.out_dir / "samples").glob("business-*.csv"):
        with path.open(newline="") as handle:
            rows.extend(csv.DictReader(handle))
    posted = {(r["erp"], r["company_code"]) for r in rows
              if r["latency"] == "invoice-posting" and not r["error"]}
    # France posted to the legacy ERP before the cut-over and to the cloud ERP after it
    assert {("legacy_erp", "3000"), ("cloud_erp", "1210")} <= posted, posted
    assert result.summary["business"]["invoice-posting"]["errors"].get("misrouted", 0) == 0
    outcomes = {o.check: o for o in reconciliation.outcomes}
    for check in WAVE_CHECKS:
        # the orphan and leftover checks examine only what went wrong: nothing is fine
        assert outcomes[check].examined > 0 or check in ("customers.no_orphans",
                                                         "exceptions.accounted"), check
        assert outcomes[check].passed, (check, [b.message for b in outcomes[check].breaches])


def _epoch(iso: str) -> float:
    from datetime import UTC, datetime

    at = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


@pytest.mark.slow
def test_two_locust_workers_against_the_running_landscape(tmp_path: Path) -> None:
    """--workers 2 (Locust --processes) with --running: each worker measures its own
    customers' invoices, and what they measured while draining reaches the master's stats."""
    from harness import landscape as ls

    with serve_landscape(load_settings(), tmp_path) as urls:
        settings = load_settings(report_dir=tmp_path / "reports", state_dir=tmp_path / "state",
                                 integration={"url": urls["integration"]})
        sims = {k: v for k, v in urls.items() if k != "integration"}
        ls.write_state(settings, ls.Landscape(urls=sims, pid=os.getpid()))
        result = run_load(settings, LoadOptions(
            scenario="payment-storm", users=4, spawn_rate=4, run_time_s=8, close_every_s=2,
            workers=2, running=True, business_timeout_s=20, entities=ENTITIES))
    files = list((result.out_dir / "samples").glob("business-*.csv"))
    assert len(files) == 2
    rows: list[dict[str, str]] = []
    for path in files:
        with path.open(newline="") as handle:
            rows.extend(csv.DictReader(handle))
    assert len({r["key"] for r in rows if r["latency"] == "invoice-posting"}) == \
        len([r for r in rows if r["latency"] == "invoice-posting"]) > 0
    with (result.out_dir / "locust_stats.csv").open(newline="") as handle:
        counted = {r["Name"]: int(r["Request Count"]) for r in csv.DictReader(handle)
                   if r["Type"] == "business"}
    for name in ("invoice-posting", "payment-update"):
        assert counted[name] == len([r for r in rows if r["latency"] == name]) > 0
