"""Developer sessions: `nox -l` lists them, `nox -s tests lint typecheck` runs the checks."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session(python="3.11")
def tests(session: nox.Session) -> None:
    """The test suite, in parallel (the README's test command)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", "-n", "auto", *session.posargs)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff over the whole tree."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "harness", "simulators", "integration", "tests", "noxfile.py")


@nox.session(python="3.11")
def typecheck(session: nox.Session) -> None:
    """mypy --strict on the harness package."""
    session.install("-e", ".[dev]")
    session.run("mypy", "harness")


@nox.session(python="3.11")
def fuzz(session: nox.Session) -> None:
    """schemathesis against every simulator and the integration API: the committed OpenAPI
    checked for drift, then the CI-budget pytest tests (`-m fuzz`).

    `nox -s fuzz -- --full` runs `harness fuzz --max-examples 200` instead (every phase,
    reports in reports/<run-id>/fuzz/)."""
    session.install("-e", ".[dev]")
    session.run("harness", "openapi", "--check")  # the committed specs are what is served
    if "--full" in session.posargs:
        rest = [a for a in session.posargs if a != "--full"]
        session.run("harness", "fuzz", "--max-examples", "200", *rest)
    else:
        session.run("python", "-m", "pytest", "-m", "fuzz", "-n", "auto", "tests/fuzz",
                    *session.posargs)


@nox.session(python="3.11")
def gate(session: nox.Session) -> None:
    """`harness gate` on the embedded defaults: landscape + reference layer, seed, contracts,
    fuzz, a fault-matrix cell, a short load with SLAs; reports/<run-id>/report.html.

    Extra arguments go to the gate: `nox -s gate -- --quick`, `-- --full`,
    `-- --sut-url http://my-layer:8100`, `-- --skip fuzz,load`."""
    session.install("-e", ".[dev]")
    session.run("harness", "gate", *session.posargs, env={"CI": "true"})


@nox.session(python="3.11")
def oracle(session: nox.Session) -> None:
    """Fault-matrix cells judged by the reconciliation oracle: onboarding and month-end under
    the flaky and outage profiles (`nox -s oracle -- --matrix` runs every cell)."""
    session.install("-e", ".")
    if "--matrix" in session.posargs:
        session.run("harness", "check", *session.posargs)
        return
    for scenario in ("onboarding", "month-end"):
        for profile in ("flaky", "outage"):
            session.run("harness", "check", "--scenario", scenario, "--profile", profile,
                        *session.posargs)


@nox.session(python="3.11")
def report(session: nox.Session) -> None:
    """The gate report's tests, the headless-Chromium rendering included (skipped without a
    `chromium` on PATH: `apt-get install chromium`)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", "tests/harness/test_report_html.py",
                "tests/harness/test_gate.py", *session.posargs)


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Ours vs WireMock, Mountebank, Prism and the Python ceiling on 127.0.0.1 (ratios).

    Installs its peers into bench/.cache (npm) and wrk from Debian when absent; extra
    arguments go to `python -m bench.peers` (e.g. `nox -s bench -- --quick`).
    """
    session.install("-e", ".[bench]")
    session.run("python", "-m", "bench.peers", *session.posargs)


@nox.session(name="bench-e2e", python="3.11")
def bench_e2e(session: nox.Session) -> None:
    """Invoices posted per second and posting latency through the reference layer (month
    end on N customers, bounded); extra arguments go to `python -m bench.e2e`
    (e.g. `nox -s bench-e2e -- --customers 500 --time-cap 120`)."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "bench.e2e", *session.posargs)


@nox.session(name="bench-ab", python="3.11")
def bench_ab(session: nox.Session) -> None:
    """The end-to-end benchmark before (a git revision) and after (this checkout), runs
    alternating, medians and ratios in one run; arguments go to `python -m bench.ab`
    (e.g. `nox -s bench-ab -- 755d053 --rounds 3`)."""
    if not session.posargs:
        session.error("name the 'before' revision: nox -s bench-ab -- <rev> [--rounds N]")
    session.install("-e", ".[bench]")
    session.run("python", "-m", "bench.ab", *session.posargs)


@nox.session(name="bench-locust", python="3.11")
def bench_locust(session: nox.Session) -> None:
    """The harness's own Locust user time per request against the bare ceiling app, next to
    wrk's; extra arguments go to `python -m bench.locust_overhead`."""
    session.install("-e", ".[bench]")
    session.run("python", "-m", "bench.locust_overhead", *session.posargs)


@nox.session(python="3.11")
def scenarios(session: nox.Session) -> None:
    """Short Locust runs of every load scenario with the SLAs of harness.toml; extra
    arguments go to each `harness load` (e.g. `nox -s scenarios -- --users 20`)."""
    session.install("-e", ".")
    for name in ("onboarding", "month-end", "payment-storm", "mixed", "migration-wave"):
        session.run("harness", "load", "--scenario", name, "--users", "8", "--spawn-rate",
                    "4", "--run-time", "20s", *session.posargs)


@nox.session(python="3.11")
def contracts(session: nox.Session) -> None:
    """Pact: regenerate the consumer pacts (contracts/pacts/), verify every provider against
    them (tests), then `harness contracts verify` on an in-process landscape (table + JUnit in
    reports/<run-id>/contracts/). Fails if regenerating changed a committed pact."""
    session.install("-e", ".[dev]")
    session.env["PACT_DO_NOT_TRACK"] = "true"
    session.run("python", "-m", "pytest", "-n", "auto", "tests/contracts", *session.posargs)
    session.run("git", "diff", "--exit-code", "--stat", "contracts/pacts", external=True)
    session.run("harness", "contracts", "verify", external=False)
