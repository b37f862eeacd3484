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
