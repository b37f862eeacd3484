"""How the benchmarks read their measurements: py-spy's collapsed stacks as shares
(``bench.e2e --profile py-spy``; the stacks written by hand in py-spy's ``--format raw`` shape)
and the ceiling target judged by the paired rounds (``bench.peers``). Nothing is served here."""

from __future__ import annotations

import pytest

from bench.peers import print_table, ratios
from bench.profiled_layer import _package, summarize_collapsed

LOOP = "Runner.run (asyncio/runners.py:118)"
JOB = "on_invoice_created (integration/flows/month_end.py:120)"
ROW = "_invoice_row (integration/flows/month_end.py:80)"
EXECUTE = "DefaultDialect.do_execute (sqlalchemy/engine/default.py:943)"
SEND = "AsyncClient.send (httpx/_client.py:1629)"
IDLE = ("Thread._bootstrap (threading.py:1002);WorkerThread.run "
        "(anyio/_backends/_asyncio.py:1113);Queue.get (queue.py:171);Condition.wait "
        "(threading.py:327)")


def test_package_of_a_frame() -> None:
    assert _package(EXECUTE) == "sqlalchemy"
    assert _package("WeakKeyDictionary.__init__ (weakref.py:368)") == "weakref"
    assert _package("get (/venv/lib/python3.11/site-packages/httpx/_api.py:12)") == "httpx"
    assert _package("<module> (<frozen runpy>:88)") == "<frozen runpy>"


def test_shares_by_package_and_layer_function_leave_parked_threads_out() -> None:
    text = "\n".join([
        f"{LOOP};{JOB};{ROW};{EXECUTE} 6",
        f"{LOOP};{JOB};{SEND} 3",
        f"{LOOP};{JOB} 1",
        f"{IDLE} 40",
        "garbage line without a count",
    ])
    summary = summarize_collapsed(text, rate=100)
    assert summary.startswith("10 samples on the CPU at 100 Hz (~0.10 CPU-seconds); "
                              "40 more of threads parked in a wait, left out")
    own, inclusive, layer = summary.split("\n\n")[1:4]
    assert "60.0%  sqlalchemy" in own and "30.0%  httpx" in own and \
        "10.0%  integration" in own
    assert "100.0%  asyncio" in inclusive and "60.0%  sqlalchemy" in inclusive
    assert "100.0%  on_invoice_created (integration/flows/month_end.py)" in layer
    assert "60.0%  _invoice_row (integration/flows/month_end.py)" in layer
    assert "threading" not in summary.replace("threads parked", "")


def test_no_samples() -> None:
    assert summarize_collapsed(f"{IDLE} 5\n", rate=100) == "no samples\n"


def test_the_ceiling_target_is_judged_by_the_paired_median(
        capsys: pytest.CaptureFixture[str]) -> None:
    """One cell each can land either side of 0.7 on a drifting machine; the paired rounds'
    median decides, and both figures are printed."""

    def cell(rps: float) -> dict[str, float]:
        return {"rps": rps, "p50_ms": 1.0, "p99_ms": 2.0}

    results = {"billing": {"cells": {"GET": cell(7_200.0)}},
               "ceiling": {"cells": {"GET": cell(10_000.0)}}}
    paired = {"rounds": 3, "median": 0.61, "min": 0.59, "max": 0.62}
    print_table(results, ratios(results), paired)
    out = capsys.readouterr().out
    assert "billing/ceiling 0.72" in out  # the single cells, as measured
    assert "in 3 paired rounds: median 0.61 (pairs 0.59-0.62)" in out
    assert "billing/ceiling >= 0.7: NOT met (0.61, the paired rounds' median)" in out
    print_table(results, ratios(results), None)
    assert "billing/ceiling >= 0.7: met (0.72)" in capsys.readouterr().out


def _e2e_report(rate: float, p95: float, layer_cpu_s: float, posted: int = 200,
                sims_cpu_s: float = 1.7) -> dict:
    return {"month_end": {"invoices_per_s": rate, "posting_latency_ms": {"p95": p95},
                          "layer_cpu_s": layer_cpu_s, "simulators_cpu_s": sims_cpu_s,
                          "posted": posted}}


def test_ab_medians_and_ratios_of_alternating_runs() -> None:
    from bench.ab import figures, summary

    assert figures(_e2e_report(40.0, 200.0, 4.0)) == {
        "invoices_per_s": 40.0, "p95_ms": 200.0, "layer_ms_per_invoice": 20.0,
        "simulators_ms_per_invoice": 8.5, "posted": 200.0}
    runs = {"before": [figures(_e2e_report(r, 200.0, c)) for r, c in
                       ((34.0, 5.7), (37.9, 5.2), (36.5, 5.4))],
            "after": [figures(_e2e_report(r, 198.0, c)) for r, c in
                      ((44.2, 4.35), (48.1, 4.0), (48.5, 3.9))]}
    got = summary(runs)
    assert got["medians"]["before"]["invoices_per_s"] == 36.5
    assert got["medians"]["after"]["layer_ms_per_invoice"] == 20.0
    assert got["after_over_before"]["invoices_per_s"] == round(48.1 / 36.5, 3)
    assert got["after_over_before"]["layer_ms_per_invoice"] == round(20.0 / 27.0, 3)
    assert got["after_over_before"]["simulators_ms_per_invoice"] == 1.0
    assert summary({"before": runs["before"], "after": []})["after_over_before"] == {}


def test_ab_names_an_unknown_revision_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.ab import main

    assert main(["no-such-revision-o2c", "--rounds", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bench.ab: unknown revision 'no-such-revision-o2c'")
    assert len(err.strip().splitlines()) == 1
