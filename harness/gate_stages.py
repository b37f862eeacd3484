"""The engine-backed stages of ``harness gate``: each calls another engine's public function
(contracts, fuzz, check, load), turns its result into :class:`~harness.gate.CaseResult`
events and keeps the details the report shows in ``result.details[<stage>]``.

An engine that is not importable in this build makes its stage ``skipped`` with the reason.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from . import astguard, layer_auth
from . import landscape as ls
from .config import HarnessSettings, LatencySla, SlaSettings

if TYPE_CHECKING:
    from .contracts import ProviderVerification
    from .gate import GateOptions, Sut, _Run

MAX_TIMELINES = 10
# the gate's SLAs when harness.toml sets none: generous (a loaded 2-core CI runner), so a
# breach means the layer stalls, not that the machine is busy
GATE_DEFAULT_SLA = SlaSettings(invoice_posting=LatencySla(p95_ms=10_000),
                               payment_update=LatencySla(p95_ms=10_000), error_rate=0.02)
HISTOGRAM_BUCKETS_MS = (50, 100, 250, 500, 1000, 2000, 5000, 10000, 30000)


@contextlib.contextmanager
def engine_output(run: _Run) -> Iterator[None]:
    """Send what the engines and the in-process layer print (Pact verifier output, the
    layer's error logs while it is fuzzed) to ``<report>/engines.log``, not the console:
    file descriptors 1 and 2 are redirected for the block (reporters write to a duplicate of
    the original stdout, see ``harness.cli``)."""
    run.result.report_dir.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with (run.result.report_dir / "engines.log").open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def _selected(run: _Run, stage: str) -> bool:
    if stage in run.result.options.skip:
        run.skip(stage, "not selected (--skip)")
        return False
    return True


def engine_settings(settings: HarnessSettings, workdir: Path, scape: ls.Landscape,
                    sut: str | None) -> HarnessSettings:
    """Settings under which the engines see the gate's landscape as a running one (a private
    state dir) and the system under test as ``integration.url``."""
    update: dict[str, Any] = {"state_dir": workdir / "state"}
    if sut is not None:
        update["integration"] = settings.integration.model_copy(update={"url": sut})
    engine = settings.model_copy(update=update)
    ls.write_state(engine, ls.Landscape(dict(scape.urls), pid=os.getpid(),
                                        ca_cert=scape.ca_cert))
    return engine


def _engine(name: str) -> Any:
    """A stage engine by module name; ImportError when this build lacks it (import_module
    consults sys.modules, so a test can mark an engine missing even after it was imported)."""
    return importlib.import_module(f"harness.{name}")


# -- contracts -------------------------------------------------------------------------------
def contracts(run: _Run, engine: HarnessSettings, names: list[str], sut: str | None) -> None:
    if not _selected(run, "contracts"):
        return
    try:
        ct = _engine("contracts")
    except ImportError as exc:
        run.skip("contracts", f"Pact verification is not part of this build ({exc})")
        return
    with run.stage("contracts", "Pact verification of every provider"):
        wanted = [p for p, key in ct.PROVIDERS.items() if key in names
                  or (key == "layer" and sut is not None)]
        # the system under test first: the simulators' provider states reset their state,
        # which drops what the system under test registered there (webhook endpoints)
        wanted.sort(key=lambda p: (ct.PROVIDERS[p] != "layer", p))
        with_pacts = {s.provider for s in ct.pact_sources(ct.DEFAULT_PACT_DIR)}
        verifications: list[ProviderVerification] = []
        moved = run.result.report_dir / "contracts"
        for name in wanted:
            if name not in with_pacts:
                continue
            with engine_output(run):
                verification = ct.run_verification(engine, provider=name)
            verifications.extend(verification.verifications)
            with contextlib.suppress(OSError):  # keep the gate's artefacts in one folder
                moved.mkdir(parents=True, exist_ok=True)
                shutil.move(str(verification.report_dir), moved / name)
                with contextlib.suppress(OSError):
                    verification.report_dir.parent.rmdir()
        if not verifications:
            run.emit(_case("contracts", "contracts", "skipped", 0.0,
                           "no pact names a selected provider"))
            return
        matrix: list[dict[str, Any]] = []
        for provider in verifications:
            counts: dict[tuple[str, str], Counter[str]] = {}
            for i in provider.interactions:
                counts.setdefault((i.consumer, i.provider), Counter())[i.status] += 1
            for (consumer, prov), count in sorted(counts.items()):
                matrix.append({"consumer": consumer, "provider": prov,
                               "passed": count["passed"], "failed": count["failed"],
                               "skipped": count["skipped"]})
            failed = [i for i in provider.interactions if i.status == "failed"]
            skipped = [i for i in provider.interactions if i.status == "skipped"]
            duration = sum(i.duration_s for i in provider.interactions)
            if provider.error or failed:
                lines = [provider.error] if provider.error else []
                lines += [f"{i.consumer} → {i.provider}: {i.description}: "
                          f"{i.message.strip()[:400]}" for i in failed[:5]]
                run.emit(_case("contracts", provider.provider, "failed", duration,
                               f"{len(failed)} of {len(provider.interactions)} interactions "
                               f"broken — " + " | ".join(lines)))
            elif skipped and len(skipped) == len(provider.interactions):
                run.emit(_case("contracts", provider.provider, "skipped", duration,
                               skipped[0].message))
            else:
                run.emit(_case("contracts", provider.provider, "passed", duration,
                               f"{len(provider.interactions) - len(skipped)} interactions "
                               f"verified" + (f", {len(skipped)} skipped" if skipped else "")))
        run.result.details["contracts"] = {"matrix": matrix, "report": str(moved)}


# -- fuzz ------------------------------------------------------------------------------------
def fuzz(run: _Run, engine: HarnessSettings, names: list[str], sut: str | None,
         options: GateOptions, run_id: str) -> None:
    if not _selected(run, "fuzz"):
        return
    try:
        fz = _engine("fuzz")
    except ImportError as exc:
        run.skip("fuzz", f"schemathesis fuzzing is not part of this build ({exc})")
        return
    plan = options.plan
    targets = ([fz.INTEGRATION] if sut is not None else []) + \
        ([n for n in names if n in fz.TARGETS] if plan.fuzz_simulators else [])
    if not targets:
        run.skip("fuzz", "no system under test to fuzz (its start failed or was skipped)")
        return
    with run.stage("fuzz", f"schemathesis, {plan.fuzz_examples} examples per operation"):
        astguard.serialize_ast_parse()  # CPython gh-106905: see harness/astguard.py
        with engine_output(run):
            result = fz.run_fuzz(engine, targets=targets, max_examples=plan.fuzz_examples,
                                 seed=options.seed, run_id=run_id)
        known = load_baseline(options.fuzz_baseline)
        findings: list[dict[str, Any]] = []
        for target in result.targets:
            mine = [{"target": f.target, "operation": f.operation, "check": f.check,
                     "title": f.title, "message": f.message[:2000],
                     "status_code": f.status_code, "curl": f.curl,
                     "known": _signature(f.target, f.operation, f.check) in known}
                    for f in target.findings]
            findings += mine
            new = [f for f in mine if not f["known"]]
            errors = "; ".join(astguard.explain(e) for e in target.errors[:2])
            # schemathesis' stateful phase crashing inside CPython (gh-106905, see astguard)
            # is reported on the line but does not fail a target that was fuzzed; any other
            # engine error does
            engine_bug = bool(target.errors) and target.cases > 0 and all(
                astguard.SIGNATURE in e for e in target.errors)
            if target.status == "skipped":
                run.emit(_case("fuzz", target.target, "skipped", target.duration_s,
                               target.skip_reason))
            elif new or (errors and not engine_bug) or (target.status != "passed"
                                                        and not mine and not errors):
                first = f"; first: {new[0]['operation']}: {new[0]['title']} " \
                        f"(HTTP {new[0]['status_code']})" if new else ""
                run.emit(_case("fuzz", target.target, "failed", target.duration_s,
                               f"{len(new)} new finding(s){first}"
                               + (f"; {errors}" if errors else "")))
            else:
                baseline = f", {len(mine)} known (in {options.fuzz_baseline})" if mine else ""
                crashed = f"; engine error, not a finding: {errors[:300]}" if errors else ""
                run.emit(_case("fuzz", target.target, "passed", target.duration_s,
                               f"{target.cases} cases on {len(target.operations)} operations, "
                               f"no new finding{baseline}{crashed}"))
        run.result.details["fuzz"] = {"cases": result.cases, "max_examples": plan.fuzz_examples,
                                      "baseline": str(options.fuzz_baseline or ""),
                                      "findings": findings, "report": str(result.report_dir)}


def _signature(target: str, operation: str, check: str) -> str:
    # no status code: the same defect answers with different codes as the state changes
    return f"{target} {operation} {check}"


def load_baseline(path: Path | None) -> set[str]:
    """Signatures of the known fuzz findings (``target operation check``) listed in the
    baseline file: reported, but they do not fail the gate. Absent file: none known."""
    if path is None or not path.is_file():
        return set()
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {_signature(f["target"], f["operation"], f["check"])
            for f in doc.get("findings", [])}


# -- fault matrix ----------------------------------------------------------------------------
def fault_matrix(run: _Run, settings: HarnessSettings, options: GateOptions,
                 run_id: str) -> None:
    if not _selected(run, "fault-matrix"):
        return
    if options.sut_url:
        run.skip("fault-matrix", "the cells start the reference layer on fresh landscapes; "
                                 "an external system under test is checked by contracts, "
                                 "fuzz and load")
        return
    try:
        ck = _engine("check")
    except ImportError as exc:
        run.skip("fault-matrix", f"the reconciliation oracle is not part of this build ({exc})")
        return
    plan = options.plan
    with run.stage("fault-matrix", f"{len(plan.cell_scenarios) * len(plan.cell_profiles)} "
                                   f"cell(s)"):
        with engine_output(run):
            result = ck.run_check(settings, list(plan.cell_scenarios),
                                  list(plan.cell_profiles),
                                  ck.CheckOptions(size=plan.cell_size, seed=7), run_id=run_id)
        cells = []
        for cell in result.cells:
            breaches = [{"check": o.check, "key": b.key, "message": b.message,
                         "timeline": b.timeline}
                        for o in (cell.reconciliation.outcomes if cell.reconciliation else [])
                        for b in o.breaches]
            cells.append({"scenario": cell.scenario, "profile": cell.profile,
                          "status": cell.status, "duration_s": round(cell.duration_s, 3),
                          "breaches": breaches, "error": cell.error})
            name = f"{cell.scenario} x {cell.profile}"
            if cell.status == "passed":
                examined = sum(o.examined for o in cell.reconciliation.outcomes) \
                    if cell.reconciliation else 0
                run.emit(_case("fault-matrix", name, "passed", cell.duration_s,
                               f"reconciled: {examined} records examined, no breach"))
            else:
                why = cell.error or "; ".join(f"{b['check']}: {b['key']}: {b['message']}"
                                              for b in breaches[:3])
                run.emit(_case("fault-matrix", name, "failed", cell.duration_s,
                               f"{len(breaches)} breach(es): {why}"))
        run.result.details["fault_matrix"] = {"cells": cells, "report": str(result.report_dir)}


# -- load ------------------------------------------------------------------------------------
def load(run: _Run, engine: HarnessSettings, urls: dict[str, str], sut: Sut | None,
         options: GateOptions, run_id: str) -> None:
    if not _selected(run, "load"):
        return
    try:
        ld = _engine("load")
    except ImportError as exc:
        run.skip("load", f"the Locust SLA run is not part of this build ({exc})")
        return
    if sut is None:
        run.skip("load", "no system under test to load (its start failed or was skipped)")
        return
    plan = options.plan
    with run.stage("load", f"{plan.load_scenario}, {plan.load_users} users, "
                           f"{plan.load_run_time_s:g}s"):
        # the earlier stages reset simulators (provider states, fuzzing), which dropped the
        # reference layer's webhook endpoints: a fresh layer registers them again
        url = sut.restart() if sut.restart else sut.url
        load_options = ld.LoadOptions(scenario=plan.load_scenario, users=plan.load_users,
                                      spawn_rate=float(plan.load_users),
                                      run_time_s=plan.load_run_time_s, run_id=run_id,
                                      seed=options.seed)
        configured = engine.sla.invoice_posting.thresholds() or \
            engine.sla.payment_update.thresholds() or engine.sla.error_rate is not None
        if not configured:
            engine = engine.model_copy(update={"sla": GATE_DEFAULT_SLA})
        with engine_output(run):
            result = ld.run_load(engine, load_options,
                                 landscape={**urls, "integration": url})
        for check in result.checks:
            actual = "n/a" if check.actual is None else f"{check.actual:g}"
            origin = "" if configured else " (gate default; set [sla] in harness.toml)"
            run.emit(_case("load", check.sla, "passed" if check.passed else "failed", 0.0,
                           (check.reason or f"{actual} <= {check.threshold:g}") + origin))
        if not result.checks:
            run.emit(_case("load", "slas", "passed", 0.0, "no SLA thresholds set in [sla]"))
        samples = ld.read_samples(result.out_dir / "samples")
        run.result.details["load"] = {
            "scenario": plan.load_scenario, "users": plan.load_users,
            "run_time_s": plan.load_run_time_s,
            "business": result.summary.get("business", {}),
            "totals": result.summary.get("totals", {}),
            "endpoints": [{k: e.get(k) for k in ("type", "name", "count", "failures",
                                                  "p50_ms", "p95_ms", "p99_ms")}
                          for e in result.summary.get("endpoints", [])],
            "slas": [c.as_json() for c in result.checks],
            "histograms": histograms(samples),
            "throughput": throughput(samples),
            "report": str(result.out_dir),
        }
        failing = sorted({s["key"] for s in samples if s.get("error") and s.get("key")})
        run.result.details["timelines"] = timelines(url, failing[:MAX_TIMELINES], "load",
                                                    layer_auth.auth(engine, url),
                                                    layer_auth.verify_of(engine))


def histograms(samples: list[dict[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """Per business latency: count of successful samples per bucket (upper bound in ms)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for sample in samples:
        if sample.get("error"):
            continue
        buckets = out.setdefault(sample["latency"], [{"le_ms": b, "count": 0}
                                                     for b in HISTOGRAM_BUCKETS_MS]
                                 + [{"le_ms": None, "count": 0}])
        value = float(sample["latency_ms"])
        for bucket in buckets:
            if bucket["le_ms"] is None or value <= bucket["le_ms"]:
                bucket["count"] += 1
                break
    return out


def throughput(samples: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Completed business events per second since the first one (all latencies together)."""
    ends = sorted(float(s["end_wall"]) for s in samples if s.get("end_wall"))
    if not ends:
        return []
    first = ends[0]
    per_second: Counter[int] = Counter(int(e - first) for e in ends)
    return [{"t_s": t, "events": per_second.get(t, 0)} for t in range(max(per_second) + 1)]


def timelines(sut: str, keys: list[str], source: str, auth: httpx.Auth | None = None,
              verify: Any = True) -> list[dict[str, Any]]:
    """The system under test's timeline of each failing business key (what it knows)."""
    out: list[dict[str, Any]] = []
    with httpx.Client(base_url=sut, timeout=10, auth=auth, verify=verify) as client:
        for key in keys:
            entry: dict[str, Any] = {"key": key, "source": source,
                                     "url": f"{sut}/timeline/{key}", "steps": []}
            try:
                answer = client.get(f"/timeline/{key}")
                if answer.status_code == 200:
                    entry["steps"] = [{k: s.get(k) for k in ("at", "system", "step", "detail")}
                                      for s in answer.json().get("steps", [])]
                else:
                    entry["error"] = f"HTTP {answer.status_code}"
            except (httpx.HTTPError, ValueError) as exc:
                entry["error"] = str(exc) or type(exc).__name__
            out.append(entry)
    return out


def _case(stage: str, name: str, status: str, duration: float, message: str) -> Any:
    from .gate import CaseResult

    return CaseResult(stage, name, status, duration, message)
