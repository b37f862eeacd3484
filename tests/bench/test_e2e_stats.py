"""The end-to-end benchmark's arithmetic: rates and latencies from simulator facts.

Nothing is served or timed here: facts are built by hand, as the simulators record them
(``wall_at`` = the instant with clock advances taken out).
"""

from __future__ import annotations

import math

from bench.e2e import _percentile, cpu_bound, per_invoice, posting_stats


def _fact(key: str, wall: float, **data: object) -> dict[str, object]:
    return {"kind": "x", "key": key, "at": wall + 86_400, "wall_at": wall, "data": data}


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (_percentile(values, 50), _percentile(values, 95), _percentile(values, 99)) == \
        (50.0, 95.0, 99.0)
    assert _percentile([3.0], 95) == 3.0
    assert _percentile([2.0, 1.0], 50) == 1.0
    assert math.isnan(_percentile([], 50))


def test_rates_and_latencies_come_from_the_facts() -> None:
    cycle = {f"in_{i}": _fact(f"in_{i}", 100.0 + i, number=f"N-{i}") for i in range(4)}
    posted = {  # in_3 not posted (yet)
        "in_0": ("cloud_erp", _fact("N-0", 100.2)),
        "in_1": ("legacy_erp", _fact("N-1", 101.5)),
        "in_2": ("cloud_erp", _fact("N-2", 104.0)),
    }
    stats = posting_stats(cycle, posted, advanced_wall=99.0)
    assert (stats["cycle_invoices_finalized"], stats["posted"]) == (4, 3)
    assert stats["by_erp"] == {"cloud_erp": 2, "legacy_erp": 1}
    assert stats["window_s"] == 5.0 and stats["invoices_per_s"] == 0.6
    assert stats["finalize_to_last_post_s"] == 4.0 and \
        stats["invoices_per_s_from_first_finalized"] == 0.8
    assert stats["posting_latency_ms"]["p50"] == 500.0  # latencies 200, 500, 2000 ms
    assert stats["posting_latency_ms"]["p95"] == 2000.0
    assert stats["posting_latency_ms_by_erp"]["cloud_erp"] == {"p50": 200.0, "p95": 2000.0}
    assert [s["posted_wall"] for s in stats["samples"]] == [100.2, 101.5, 104.0, None]


def test_nothing_posted_is_a_zero_rate_not_an_error() -> None:
    stats = posting_stats({"in_0": _fact("in_0", 1.0)}, {}, advanced_wall=0.0)
    assert stats["posted"] == 0 and stats["invoices_per_s"] == 0.0
    assert math.isnan(stats["posting_latency_ms"]["p95"])


def test_calls_per_invoice_are_the_counters_that_moved() -> None:
    before = {"outbound_requests[200,billing]": 10.0, "webhooks[accepted,billing]": 4.0,
              "outbound_requests[500,tax]": 1.0}
    after = {"outbound_requests[200,billing]": 610.0, "webhooks[accepted,billing]": 404.0,
             "outbound_requests[500,tax]": 1.0, "outbound_requests[201,cloud_erp]": 100.0}
    assert per_invoice(before, after, 200) == {
        "outbound_requests[200,billing]": 3.0, "outbound_requests[201,cloud_erp]": 0.5,
        "webhooks[accepted,billing]": 2.0}
    assert per_invoice(before, after, 0) == {}


def test_the_sql_profile_counts_statements_by_text_and_commits() -> None:
    from sqlalchemy import create_engine, text

    from bench.profiled_layer import SqlCounter

    engine = create_engine("sqlite://")
    counter = SqlCounter()
    with engine.begin() as conn:
        for _ in range(3):
            conn.execute(text("select  1"))
        conn.execute(text("select 2"))
    report = counter.stop()
    with engine.begin() as conn:  # after stop(): not counted
        conn.execute(text("select 1"))
    lines = report.splitlines()
    assert lines[0] == "4 statements, 1 commits"
    assert lines[1].split() == ["3", "select", "1"]


def test_the_cpu_bound_is_what_the_cpu_per_invoice_allows() -> None:
    # 200 invoices: the layer 8.8 s (44 ms each), the simulators 5 s (25 ms each), 2 cores
    bound = cpu_bound(8.8, 5.0, 200, 2)
    assert bound == {"layer_ms": 44.0, "simulators_ms": 25.0,
                     "layer_on_one_core_per_s": 22.7, "all_cores_per_s": 29.0}
    assert cpu_bound(8.8, 5.0, 0, 2) is None
