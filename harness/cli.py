"""The ``harness`` command line. Every user mistake ends in one line plus a hint, exit code 2."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

import simulators
from simulators._kit import ensure_server_cert, serve_all
from simulators._kit.server import run_async

from . import __version__
from . import landscape as ls
from .config import HarnessSettings, load_settings
from .contracts_cli import contracts_app
from .errors import ConfigError, HarnessError, LandscapeError
from .integration_cli import integration_app

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Simulate an order-to-cash landscape and test an integration layer "
                       "against it.")
ca_app = typer.Typer(no_args_is_help=True, help="The local certificate authority for --tls.")
app.add_typer(ca_app, name="ca")
app.add_typer(contracts_app, name="contracts")
app.add_typer(integration_app, name="integration")
out = Console()
err = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="settings file "
                                                "(default: ./harness.toml when present)")]
OnlyOpt = Annotated[str | None, typer.Option("--only", help="comma-separated simulators, "
                                             "e.g. billing,crm")]


def _split(value: str | None) -> list[str] | None:
    return [v for v in (value or "").split(",") if v.strip()] or None


def _port_overrides(ports: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in ports:
        name, sep, port = item.partition("=")
        name = ls.ALIASES.get(name.strip(), name.strip())
        if not sep or name not in simulators.names() or not port.strip().isdigit():
            raise ConfigError(f"bad --port {item!r}",
                              f"use NAME=PORT with NAME one of {', '.join(simulators.names())}")
        result.setdefault("simulators", {}).setdefault(name, {})["port"] = int(port)
    return result


def _settings(config: Path | None, **flags: Any) -> HarnessSettings:
    overrides = {k: v for k, v in flags.items() if v is not None}
    return load_settings(config, **overrides)


@app.command()
def version() -> None:
    """Print the harness version."""
    out.print(f"o2c-harness {__version__}")


@app.command()
def up(
    config: ConfigOpt = None,
    only: OnlyOpt = None,
    detach: Annotated[bool, typer.Option("--detach", "-d", help="run in the background")] = False,
    tls: Annotated[bool | None, typer.Option("--tls/--no-tls", help="serve HTTPS with the "
                                             "harness CA")] = None,
    persist: Annotated[bool, typer.Option("--persist", help="keep state in SQLite files under "
                                          "the state dir, so it survives a restart")] = False,
    port: Annotated[list[str] | None, typer.Option("--port", help="NAME=PORT, repeatable")] = None,
) -> None:
    """Start the simulators (and the reference integration layer unless
    ``[integration] serve = false``) on their ports; foreground, Ctrl-C stops them cleanly."""
    flags = _port_overrides(port or [])
    settings = _settings(config, tls=tls, **flags)
    names = ls.select(settings, _split(only))
    if not names:
        raise LandscapeError("no simulator to start", "enable one in harness.toml or use --only")
    if persist:
        updates: dict[str, Any] = {}
        for name in names:
            if settings.simulator(name).store == "memory":
                db = settings.state_dir / "state" / f"{name}.db"
                updates.setdefault("simulators", {}).setdefault(name, {})["store"] = \
                    f"sqlite:///{db}"
        settings = _settings(config, tls=tls, **_merge(flags, updates))
    if detach:
        argv = [a for a in sys.argv[1:] if a not in ("--detach", "-d")]
        landscape = ls.detach(settings, argv, names)
        _print_urls(landscape)
        out.print(f"running in the background (pid {landscape.pid}); stop with `harness down`")
        return
    served = ls.bind_all(settings, names)
    layer = ls.bind_integration(settings, served)  # the reference layer, when configured
    landscape = ls.Landscape(urls={s.name: s.url for s in served}, pid=os.getpid(),
                             ca_cert=str(served[0].tls.ca_cert) if served[0].tls else None)
    ls.write_state(settings, landscape)
    _print_urls(landscape)
    if layer:
        out.print(f"integration layer: {layer[0].url} (webhooks registered with the vendors)")
    out.print("Ctrl-C to stop")
    try:
        run_async(serve_all([*served, *layer], log_level=settings.log_level))
    finally:
        if (current := ls.read_state(settings)) is not None and current.pid == os.getpid():
            ls.state_path(settings).unlink(missing_ok=True)
    out.print("stopped")


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = dict(a)
    for key, value in b.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _print_urls(landscape: ls.Landscape) -> None:
    table = Table("simulator", "dialect", "url")
    for name, url in landscape.urls.items():
        table.add_row(name, simulators.REGISTRY[name][3], url)
    out.print(table)
    if landscape.ca_cert:
        out.print(f"TLS: trust {landscape.ca_cert} (SSL_CERT_FILE / REQUESTS_CA_BUNDLE)")


def _running(settings: HarnessSettings) -> ls.Landscape:
    landscape = ls.read_state(settings)
    if landscape is None:
        raise LandscapeError(f"no landscape is running (no {ls.state_path(settings)})",
                             "start one with `harness up --detach`")
    return landscape


@app.command()
def down(config: ConfigOpt = None) -> None:
    """Stop a landscape started with ``harness up --detach``."""
    settings = _settings(config)
    stopped = ls.stop(settings)
    if stopped is None:
        raise LandscapeError("no landscape is running", "nothing to stop")
    out.print(f"stopped landscape (pid {stopped.pid})")


@app.command()
def status(config: ConfigOpt = None) -> None:
    """Show the running landscape and each simulator's health."""
    settings = _settings(config)
    landscape = ls.read_state(settings)
    table = Table("simulator", "dialect", "url", "state")
    for name in simulators.names():
        url = landscape.urls.get(name) if landscape else None
        if not simulators.is_available(name):
            state = "not in this build"
        elif url is None:
            state = "stopped"
        else:
            h = ls.health(url, landscape.ca_cert or True if landscape else True)
            state = f"ok ({h['store']} store)" if h else "not answering"
        table.add_row(name, simulators.REGISTRY[name][3], url or "-", state)
    out.print(table)
    if landscape is None:
        out.print("no landscape running; start one with `harness up --detach`")
        raise typer.Exit(3)


@app.command()
def seed(
    config: ConfigOpt = None,
    only: OnlyOpt = None,
    seed_value: Annotated[int, typer.Option("--seed", help="random seed")] = 42,
    size: Annotated[int, typer.Option("--size", min=0, max=100_000,
                                      help="records per simulator")] = 50,
    locales: Annotated[str, typer.Option("--locales")] = "en_US,de_DE,fr_FR,en_GB",
    dirtiness: Annotated[float, typer.Option("--dirtiness", min=0.0, max=1.0)] = 0.0,
    customers: Annotated[int | None, typer.Option(
        "--customers", min=0, max=50_000, help="one consistent business of N customers over "
        "the whole landscape (instead of independent data per simulator)")] = None,
    dirty: Annotated[list[str] | None, typer.Option(
        "--dirty", help="KNOB=P overriding --dirtiness for one knob, repeatable")] = None,
    seed_date: Annotated[str | None, typer.Option(
        "--seed-date", help="YYYY-MM-DD the history leads up to (default 2026-01-01)")] = None,
    history_months: Annotated[int, typer.Option("--history-months", min=1, max=60)] = 6,
    wave_plan: Annotated[str | None, typer.Option(
        "--wave-plan", help="ENTITY=ERP[@YYYY-MM-DD],... e.g. DE01=cloud_erp,US01=legacy_erp")
    ] = None,
    freeze_clock: Annotated[bool, typer.Option(
        "--freeze-clock", help="keep the clocks frozen at the seed date afterwards")] = False,
) -> None:
    """Seed every running simulator with realistic data through its admin API."""
    settings = _settings(config)
    landscape = _running(settings)
    names = [n for n in ls.select(settings, _split(only)) if n in landscape.urls]
    if customers is not None:
        from .business.command import build_options, run_seed

        options = build_options(seed=seed_value, customers=customers,
                                locales=_split(locales) or [], dirtiness=dirtiness,
                                dirty=dirty or [], seed_date=seed_date,
                                history_months=history_months, wave_plan=wave_plan)
        run = run_seed({n: landscape.urls[n] for n in names}, landscape.ca_cert or True,
                       options, settings.report_dir, freeze_clock=freeze_clock,
                       progress=lambda msg: err.print(msg, highlight=False))
        table = Table("simulator", "imported", "snapshot sha256")
        for name in names:
            imported = run.result.imported.get(name, {})
            table.add_row(name, ", ".join(f"{v} {k}" for k, v in imported.items()) or "-",
                          run.result.checksums.get(name, "-")[:16])
        out.print(table)
        out.print(f"landscape {run.result.landscape_checksum[:16]} in "
                  f"{run.result.timings['total']:.1f}s; manifest {run.manifest}")
        if settings.integration.serve:
            err.print("note: seeding reset the simulators, so a reference layer served by "
                      "`harness up` lost its webhook registrations and acts on the seeded data "
                      "from now on; seed before starting the layer (integration.serve = false "
                      "for a landscape of simulators only)", highlight=False)
        return
    body = {"seed": seed_value, "size": size, "locales": _split(locales) or [],
            "dirtiness": dirtiness}
    table = Table("simulator", "created")
    for name in names:
        r = httpx.post(f"{landscape.urls[name]}/_sim/seed", json=body, timeout=120,
                       verify=landscape.ca_cert or True)
        if r.status_code != 200:
            detail = r.json().get("error", {}).get("message", r.text[:200])
            raise LandscapeError(f"seeding {name} failed: {detail}", "check --locales/--size")
        created = r.json()["created"]
        table.add_row(name, ", ".join(f"{v} {k}" for k, v in created.items()) or "-")
    out.print(table)


@ca_app.command("path")
def ca_path(config: ConfigOpt = None) -> None:
    """Print the CA certificate path (created on first use) for SSL_CERT_FILE."""
    settings = _settings(config)
    out.print(str(ensure_server_cert(settings.ca_dir).ca_cert.resolve()), soft_wrap=True)


@app.command("config")
def show_config(config: ConfigOpt = None) -> None:
    """Print the effective settings (all layers applied) as JSON."""
    settings = _settings(config)
    out.print_json(settings.model_dump_json())


@app.command()
def gate(
    config: ConfigOpt = None,
    only: OnlyOpt = None,
    quick: Annotated[bool, typer.Option("--quick", help="smallest budget: fuzz 5 examples, "
                                        "one clean fault cell, 8 s of load")] = False,
    full: Annotated[bool, typer.Option("--full", help="largest budget: fuzz every simulator "
                                       "too, 16 fault cells, 60 s of mixed load")] = False,
    targets: Annotated[str | None, typer.Option(
        "--targets", help="comma-separated simulators to run and verify (default: all)")] = None,
    sut_url: Annotated[str | None, typer.Option(
        "--sut-url", help="the system under test (default: the reference integration layer, "
                          "started for the run)")] = None,
    skip: Annotated[str | None, typer.Option(
        "--skip", help="comma-separated stages not to run: contracts,fuzz,fault-matrix,load")
    ] = None,
    seed_value: Annotated[int, typer.Option("--seed", help="seed of data and generation")] = 42,
) -> None:
    """Run the pre-deployment gate on the embedded defaults: landscape and system under test,
    seed, contracts, fuzz, fault matrix, load with SLAs, report; one exit code, JUnit."""
    import os

    from .gate import GateOptions, run_gate
    from .gate_console import console_reporter, verdict

    if quick and full:
        raise ConfigError("--quick and --full exclude each other", "pick one budget")
    skipped = tuple(_split(skip) or ())
    unknown = [s for s in skipped if s not in ("contracts", "fuzz", "fault-matrix", "load")]
    if unknown:
        raise ConfigError(f"--skip: unknown stage(s) {', '.join(unknown)}",
                          "choose from contracts, fuzz, fault-matrix, load")
    settings = _settings(config)
    options = GateOptions(budget="quick" if quick else "full" if full else "default",
                          targets=tuple(_split(targets) or _split(only) or ()) or None,
                          sut_url=sut_url, seed=seed_value, skip=skipped)
    live = out.is_terminal and os.environ.get("CI", "").lower() not in ("true", "1", "yes")
    # a duplicate of stdout: the gate sends what its engines print to engines.log by
    # redirecting file descriptors 1 and 2 while they run; the progress stays on screen
    try:
        screen = Console(file=os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1),
                         force_terminal=out.is_terminal or None)
    except (OSError, ValueError):  # no real stdout (e.g. a test runner's buffer)
        screen = out
    reporter = console_reporter(screen, live)
    try:
        result = run_gate(settings, options=options, reporters=[reporter])
    finally:
        close = getattr(reporter, "close", None)
        if close is not None:
            close()
    verdict(screen, result)
    raise typer.Exit(0 if result.passed else 1)


@app.command()
def fuzz(
    config: ConfigOpt = None,
    target: Annotated[list[str] | None, typer.Option(
        "--target", "-t", help="simulator name or 'integration'; repeatable or comma-separated "
                               "(default: every target)")] = None,
    max_examples: Annotated[int, typer.Option("--max-examples", min=1, max=100_000,
                                              help="generated examples per operation")] = 50,
    seed_value: Annotated[int, typer.Option("--seed", help="generation seed")] = 0,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                         help="concurrent workers per target")] = 1,
) -> None:
    """Fuzz every simulator (and the integration API) with schemathesis, all checks on.

    Uses the landscape started with `harness up`, or starts one in-process for the run.
    Writes junit.xml, findings.json and findings.md into reports/<run-id>/fuzz/.
    """
    from .fuzz import OperationFinished, TargetFinished, run_fuzz

    settings = _settings(config)
    names = [n for t in target or [] for n in _split(t) or []]

    def render(event: object) -> None:
        if isinstance(event, OperationFinished) and event.result.findings:
            r = event.result
            out.print(f"  [red]FAIL[/] {r.target} {r.operation} ({r.phase}): "
                      + "; ".join(sorted({f.title for f in r.findings})), highlight=False)
        elif isinstance(event, TargetFinished):
            t = event.result
            mark = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]",
                    "skipped": "[yellow]SKIP[/]", "error": "[red]ERROR[/]"}[t.status]
            detail = t.skip_reason or "; ".join(t.errors[:2]) or \
                f"{len(t.operations)} operations, {t.cases} cases, {len(t.findings)} findings"
            out.print(f"{mark} {t.target} ({t.duration_s:.1f}s) — {detail}", highlight=False)

    result = run_fuzz(settings, targets=names or None, max_examples=max_examples,
                      seed=seed_value, reporters=[render], workers=workers)
    verdict = "[green]no findings[/]" if result.passed else \
        f"[red]{len(result.findings)} finding(s)[/]"
    out.print(f"{verdict} — {result.cases} cases in {result.duration_s:.1f}s; report in "
              f"{result.report_dir}", highlight=False)
    raise typer.Exit(0 if result.passed else 1)


@app.command("openapi")
def openapi_cmd(
    target: Annotated[list[str] | None, typer.Option(
        "--target", "-t", help="simulator name or 'integration'; repeatable or comma-separated "
                               "(default: every one)")] = None,
    directory: Annotated[Path, typer.Option("--dir", help="where the documents live")] =
        Path("contracts") / "openapi",
    check_only: Annotated[bool, typer.Option("--check", help="write nothing; exit 1 when a "
                                                             "committed document drifted")] =
        False,
) -> None:
    """Export the served OpenAPI of every simulator and the integration API to
    contracts/openapi/<name>.json (--check: fail when a committed copy drifted)."""
    from .openapi_export import export

    names = [n for t in target or [] for n in _split(t) or []]
    results = export(directory, names or None, check=check_only)
    for r in results:
        state = ("[red]drifted[/]" if check_only else "[yellow]written[/]") if r.changed \
            else "[green]up to date[/]"
        out.print(f"{r.name:<12} {r.path}  {state}", highlight=False)
    drifted = [r.name for r in results if r.changed]
    if check_only and drifted:
        err.print(f"error: the committed OpenAPI of {', '.join(drifted)} differs from what is "
                  f"served\nhint: run `harness openapi` and commit {directory}", highlight=False)
        raise typer.Exit(1)


@app.command()
def check(
    config: ConfigOpt = None,
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="scenario, or a comma-"
                                          "separated list")] = "month-end",
    profile: Annotated[str, typer.Option("--profile", "-p", help="fault profile, or a comma-"
                                         "separated list")] = "none",
    matrix: Annotated[bool, typer.Option("--matrix", help="every scenario x every "
                                         "profile")] = False,
    seed_value: Annotated[int, typer.Option("--seed", help="fault and data seed")] = 7,
    size: Annotated[int, typer.Option("--size", min=1, max=200, help="customers per "
                                      "scenario")] = 4,
    settle: Annotated[float, typer.Option("--settle-timeout", min=1.0, help="seconds each "
                                          "wait of a scenario may take")] = 60.0,
    layer_process: Annotated[bool, typer.Option("--layer-process", help="run the integration "
                                                "layer as a process (always for crash)")] = False,
) -> None:
    """Run scenario(s) under fault profile(s) and reconcile the systems of record.

    Prints a table per cell; exits 1 on any breach. Writes matrix.json, junit.xml and
    matrix.md into reports/<run-id>/check/.
    """
    import scenarios as scenario_defs

    from .check import PROFILES, CellFinished, CellStarted, CheckOptions, run_check

    settings = _settings(config)
    names = list(scenario_defs.SCENARIOS) if matrix else _split(scenario) or []
    profiles = list(PROFILES) if matrix else _split(profile) or []

    def render(event: object) -> None:
        if isinstance(event, CellStarted):
            out.print(f"[bold]{event.scenario}[/] x [bold]{event.profile}[/] …", highlight=False)
            return
        if not isinstance(event, CellFinished):
            return
        cell = event.result
        mark = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]",
                "error": "[red]ERROR[/]"}[cell.status]
        out.print(f"{mark} {cell.scenario} x {cell.profile} ({cell.duration_s:.1f}s)"
                  + (f" — {cell.error}" if cell.error else ""), highlight=False)
        for note in cell.notes:
            out.print(f"  note: {note}", highlight=False)
        if cell.reconciliation is None:
            return
        table = Table("check", "examined", "breaches", "what it checks")
        for o in cell.reconciliation.outcomes:
            table.add_row(o.check, str(o.examined),
                          f"[red]{len(o.breaches)}[/]" if o.breaches else "0", o.description)
        out.print(table)
        breaches = cell.reconciliation.breaches
        for b in breaches[:20]:
            out.print(f"  [red]breach[/] {b.check} [bold]{b.key}[/]: {b.message}"
                      + (f" — timeline {b.timeline}" if b.timeline else ""),
                      highlight=False, soft_wrap=True)
        if len(breaches) > 20:
            out.print(f"  … {len(breaches) - 20} more in matrix.json", highlight=False)

    result = run_check(settings, names, profiles, CheckOptions(
        size=size, seed=seed_value, settle_timeout_s=settle, layer_as_process=layer_process),
        reporters=[render])
    failed = [c for c in result.cells if c.status != "passed"]
    verdict = "[green]no breach[/]" if result.passed else \
        f"[red]{len(failed)} of {len(result.cells)} cell(s) failed[/]"
    out.print(f"{verdict} — {len(result.cells)} cell(s) in {result.duration_s:.0f}s; report in "
              f"{result.report_dir}", highlight=False)
    raise typer.Exit(0 if result.passed else 1)


@app.command()
def load(
    config: ConfigOpt = None,
    scenario: Annotated[str, typer.Option("--scenario", "-s", help="onboarding, month-end, "
                                          "payment-storm, mixed or migration-wave")] = "month-end",
    users: Annotated[int, typer.Option("--users", "-u", min=1, max=100_000,
                                       help="peak concurrent Locust users")] = 10,
    spawn_rate: Annotated[float, typer.Option("--spawn-rate", "-r", min=0.01,
                                              help="users started per second")] = 5.0,
    run_time: Annotated[str, typer.Option("--run-time", "-t", help="e.g. 60s, 5m")] = "60s",
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, max=64, help="Locust "
                                         "processes on this machine (--processes)")] = 1,
    expect_workers: Annotated[int, typer.Option(
        "--expect-workers", min=0, max=1000, help="run as master and wait for this many "
        "workers started on other machines (prints their command)")] = 0,
    master_bind_host: Annotated[str, typer.Option(
        "--master-bind-host", help="interface the master listens on for remote workers")] =
        "127.0.0.1",
    master_port: Annotated[int, typer.Option("--master-port", min=1, max=65535)] = 5557,
    web: Annotated[bool, typer.Option("--web", help="serve Locust's web UI (127.0.0.1) "
                                      "during the run; it stays 30 s after the end")] = False,
    web_port: Annotated[int, typer.Option("--web-port", min=1, max=65535)] = 8089,
    running: Annotated[bool, typer.Option("--running", help="use the landscape of `harness up "
                                          "--detach` and integration.url instead of "
                                          "starting one")] = False,
    layer_process: Annotated[bool, typer.Option(
        "--layer-process", help="run the reference integration layer as its own process "
        "(a core to itself) instead of a thread beside the simulators")] = False,
    seed_value: Annotated[int, typer.Option("--seed", help="data seed")] = 7,
    business_timeout: Annotated[float, typer.Option(
        "--business-timeout", min=1.0, help="seconds a posting or payment may take before "
        "it counts as failed")] = 30.0,
    close_every: Annotated[float, typer.Option(
        "--close-every", min=0.0, help="seconds between month-end closings (0: the "
        "scenario's default)")] = 0.0,
    wave_at: Annotated[float, typer.Option("--wave-at", min=0.0, help="migration-wave: "
                                           "seconds into the run (0: half-way)")] = 0.0,
    entities: Annotated[str | None, typer.Option(
        "--entities", help="legal entities of the customers, e.g. US01,DE01")] = None,
) -> None:
    """Run a Locust scenario and enforce the SLAs of [sla] in harness.toml.

    Locust runs in a subprocess against a landscape started here (simulators and the
    reference integration layer on free ports) or, with --running, the one already up.
    Business latencies (invoice-posting, payment-update) come from the simulators' own
    timestamps. Writes Locust's CSV/HTML and load.json into reports/<run-id>/load/; exits 1
    with one line per breached SLA.
    """
    from .load import (
        LandscapeReady,
        LoadOptions,
        LocustFinished,
        LocustStarted,
        parse_duration,
        remote_worker_command,
        run_load,
    )

    settings = _settings(config)
    try:
        seconds = parse_duration(run_time)
    except ValueError as exc:
        raise ConfigError(str(exc), "pass --run-time like 60s, 5m or 1h30m") from None
    options = LoadOptions(
        scenario=scenario, users=users, spawn_rate=spawn_rate, run_time_s=seconds,
        workers=workers, expect_workers=expect_workers, master_bind_host=master_bind_host,
        master_port=master_port, web=web, web_port=web_port, running=running,
        layer_process=layer_process,
        seed=seed_value, business_timeout_s=business_timeout, close_every_s=close_every,
        wave_at_s=wave_at, entities=tuple(_split(entities) or ()))

    def render(event: object) -> None:
        if isinstance(event, LandscapeReady):
            where = "started here" if event.started_here else "already running"
            out.print(f"landscape ({where}): integration layer {event.urls['integration']}",
                      highlight=False)
            if expect_workers:
                out.print("start each remote worker with:\n  " + remote_worker_command(
                    options, event.urls, master_bind_host), highlight=False, soft_wrap=True)
        elif isinstance(event, LocustStarted):
            ui = f"; web UI http://127.0.0.1:{web_port}" if web else ""
            out.print(f"locust: {scenario}, {users} users, {run_time}{ui}; log {event.log}",
                      highlight=False)
        elif isinstance(event, LocustFinished):
            out.print(f"locust finished in {event.duration_s:.0f}s", highlight=False)

    result = run_load(settings, options, reporters=[render])
    table = Table("latency / endpoint", "count", "failed", "p50 ms", "p95 ms", "p99 ms",
                  "max ms", "per s")
    rows = [{"name": k, **v} for k, v in result.summary["business"].items()]
    rows += [e for e in result.summary["endpoints"] if e["type"] != "business"]
    for row in rows:
        def ms(key: str, row: dict[str, Any] = row) -> str:
            return "-" if row.get(key) is None else f"{row[key]:,.0f}"
        table.add_row(str(row["name"]), str(row["count"]), str(row["failures"]), ms("p50_ms"),
                      ms("p95_ms"), ms("p99_ms"), ms("max_ms"), f"{row['throughput_per_s']:g}")
    out.print(table)
    for check in result.checks:
        if not check.passed:
            err.print(f"[red]SLA breached:[/] {check.reason}", highlight=False, soft_wrap=True)
    verdict = "[green]SLAs met[/]" if result.passed and result.checks else \
        "[yellow]no SLA set (\\[sla] in harness.toml)[/]" if not result.checks else \
        f"[red]{len(result.breaches)} SLA breach(es)[/]"
    out.print(f"{verdict} — report in {result.out_dir}", highlight=False)
    raise typer.Exit(0 if result.passed else 1)

def main() -> None:
    try:
        app()
    except HarnessError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        if exc.hint:
            err.print(f"hint: {exc.hint}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
