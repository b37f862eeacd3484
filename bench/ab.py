"""Before and after in one run: ``python -m bench.ab REV`` runs the end-to-end benchmark on a
git worktree of ``REV`` and on this checkout, alternating, and reports the medians and their
ratios.

The machines this runs on are shared virtual machines whose speed drifts by tens of percent
within an hour: the same code gave 40 and 34 invoices/s an hour apart. Two runs far apart
compare the hosts as much as the code. Alternating (REV, this, this, REV, ...) puts each
pair of runs on the same host, and the medians of ``--rounds`` pairs are the figures.

Each run is a ``python -m bench.e2e`` child process started in its tree (the child imports
that tree's ``bench``, ``integration`` and ``simulators``; the installed dependencies are
shared), with the same ``--customers`` and ``--time-cap`` and the same environment (so
``O2C_JOB_CONCURRENCY=8`` applies to both). Results land in ``reports/bench/ab-<run-id>/``;
the worktree is removed at the end. Loopback only, bounded by the runs' own caps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUN_CAP_S = 900.0  # one e2e run: start-up, set-up and the month end, each bounded


class AbError(Exception):
    """Something a user can fix (a revision git does not know, a run that failed)."""


FIGURES = ("invoices_per_s", "p95_ms", "layer_ms_per_invoice", "simulators_ms_per_invoice")


def figures(report: dict[str, Any]) -> dict[str, float]:
    """What one e2e ``result.json`` says about throughput and cost."""
    m = report["month_end"]
    posted = m.get("posted") or 0
    return {
        "invoices_per_s": float(m["invoices_per_s"]),
        "p95_ms": float(m["posting_latency_ms"]["p95"]),
        "layer_ms_per_invoice": round(1000 * float(m["layer_cpu_s"]) / posted, 2)
        if posted else float("nan"),
        "simulators_ms_per_invoice": round(1000 * float(m["simulators_cpu_s"]) / posted, 2)
        if posted else float("nan"),
        "posted": float(posted),
    }


def summary(runs: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Medians per side and the ratios after / before (``runs``: side → figures per run)."""
    medians = {side: {key: round(statistics.median(r[key] for r in rows), 2)
                      for key in FIGURES}
               for side, rows in runs.items() if rows}
    ratios: dict[str, float | None] = {}
    if "before" in medians and "after" in medians:
        for key in FIGURES:
            before = medians["before"][key]
            ratios[key] = round(medians["after"][key] / before, 3) if before else None
    return {"medians": medians, "after_over_before": ratios}


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=False, timeout=120)
    if done.returncode != 0:
        raise AbError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def _run_e2e(tree: Path, out: Path, customers: int, time_cap_s: float) -> dict[str, float]:
    cmd = [sys.executable, "-m", "bench.e2e", "--customers", str(customers),
           "--time-cap", f"{time_cap_s:g}", "--out", str(out)]
    try:
        done = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, check=False,
                              timeout=RUN_CAP_S)
    except subprocess.TimeoutExpired as exc:
        raise AbError(f"bench.e2e in {tree} took more than {RUN_CAP_S:.0f} s") from exc
    result = out / "result.json"
    if done.returncode != 0 or not result.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise AbError(f"bench.e2e in {tree} failed ({done.returncode}): {' | '.join(tail)}")
    return figures(json.loads(result.read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rev", help="the 'before' revision (a commit, tag or branch)")
    parser.add_argument("--rounds", type=int, default=3, help="pairs of runs (1-10)")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--time-cap", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench")
    args = parser.parse_args(argv)
    if not 1 <= args.rounds <= 10:
        parser.error("--rounds must be between 1 and 10")
    try:
        return _ab(args)
    except AbError as err:
        print(f"bench.ab: {err}", file=sys.stderr)
        return 2


def _ab(args: argparse.Namespace) -> int:
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{args.rev}^{{commit}}")
    except AbError:
        raise AbError(f"unknown revision {args.rev!r}: git finds no commit by that name "
                      "(try a hash from git log)") from None
    here = _git("rev-parse", "--short", "HEAD") + ("+changes" if _git("status", "--porcelain")
                                                     else "")
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out / f"ab-{run_id}"
    out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        tree = Path(tmp) / "before"
        _git("worktree", "add", "--detach", "--force", str(tree), commit)
        try:
            if not (tree / "bench" / "e2e.py").exists():
                raise AbError(f"{args.rev} has no bench/e2e.py to run")
            print(f"bench.ab {run_id}: before = {args.rev} ({commit[:10]}), after = {here}; "
                  f"{args.rounds} rounds of {args.customers} invoices", flush=True)
            for i in range(args.rounds):
                order = ("before", "after") if i % 2 == 0 else ("after", "before")
                for side in order:
                    where = tree if side == "before" else ROOT
                    got = _run_e2e(where, out / f"{side}-{i + 1}", args.customers,
                                   args.time_cap)
                    runs[side].append(got)
                    print(f"  round {i + 1} {side:6s}: {got['invoices_per_s']:6.1f} invoices/s"
                          f"  p95 {got['p95_ms']:6.1f} ms  layer "
                          f"{got['layer_ms_per_invoice']:5.1f} ms/invoice  simulators "
                          f"{got['simulators_ms_per_invoice']:5.1f}", flush=True)
        finally:
            _git("worktree", "remove", "--force", str(tree))
    result = {"run_id": run_id, "before": {"rev": args.rev, "commit": commit},
              "after": here, "rounds": args.rounds, "runs": runs, **summary(runs)}
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    for side, med in result["medians"].items():
        print(f"median {side:6s}: {med['invoices_per_s']:6.1f} invoices/s  p95 "
              f"{med['p95_ms']:6.1f} ms  layer {med['layer_ms_per_invoice']:5.1f} ms/invoice  "
              f"simulators {med['simulators_ms_per_invoice']:5.1f}")
    shown = "  ".join(f"{k} {v:.3f}" for k, v in result["after_over_before"].items()
                      if v is not None)
    print(f"after / before: {shown}")
    print(f"written: {out / 'result.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
