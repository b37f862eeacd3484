"""``harness contracts …``: verify, publish, can-i-deploy (a Typer sub-app mounted by
``harness.cli``). Console output here; the engine (``harness.contracts``) only emits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .config import load_settings
from .contracts import (
    DEFAULT_PACT_DIR,
    PROVIDERS,
    BrokerOptions,
    DeployDecision,
    InteractionResult,
    ProviderVerification,
    can_i_deploy_local,
    latest_results,
    pact_sources,
    run_verification,
)
from .errors import ContractError

contracts_app = typer.Typer(no_args_is_help=True,
                            help="Pact contracts: verify providers, publish pacts, can-i-deploy.")
out = Console()

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="settings file")]
PactDirOpt = Annotated[Path, typer.Option("--pact-dir", help="local pact files")]
BrokerOpt = Annotated[str | None, typer.Option(
    "--broker-url", envvar="PACT_BROKER_BASE_URL", help="Pact Broker base URL")]
TokenOpt = Annotated[str | None, typer.Option("--broker-token", envvar="PACT_BROKER_TOKEN",
                                              help="bearer token of the broker")]
UserOpt = Annotated[str | None, typer.Option("--broker-username",
                                             envvar="PACT_BROKER_USERNAME")]
PasswordOpt = Annotated[str | None, typer.Option("--broker-password",
                                                 envvar="PACT_BROKER_PASSWORD")]
MARKS = {"passed": "[green]PASS[/]", "failed": "[red]FAIL[/]", "skipped": "[yellow]SKIP[/]"}


def _print_provider(result: ProviderVerification) -> None:
    table = Table("consumer", "interaction", "provider states", "result", "why",
                  title=f"{result.provider}", title_justify="left", show_lines=False)
    for i in result.interactions:
        why = (i.message.splitlines() or [""])[0] if i.status != "passed" else ""
        table.add_row(i.consumer, i.description, "; ".join(i.states) or "-",
                      MARKS.get(i.status, i.status), why[:120])
    if result.error:
        table.add_row("-", "(verification)", "-", MARKS["failed"], result.error[:120])
    out.print(table)
    for i in result.interactions:
        if i.status == "failed" and len(i.message.splitlines()) > 1:
            out.print(f"[red]{result.provider} ← {i.consumer}: {i.description}[/]\n"
                      f"{i.message}", highlight=False)


@contracts_app.command("verify")
def verify(
    config: ConfigOpt = None,
    provider: Annotated[str | None, typer.Option(
        "--provider", help=f"one of {', '.join(sorted(PROVIDERS))} (default: every provider "
                           "with pacts)")] = None,
    pact_dir: PactDirOpt = DEFAULT_PACT_DIR,
    broker_url: BrokerOpt = None,
    broker_token: TokenOpt = None,
    broker_username: UserOpt = None,
    broker_password: PasswordOpt = None,
    provider_version: Annotated[str | None, typer.Option(
        "--provider-version", help="publish results to the broker under this version")] = None,
    provider_branch: Annotated[str | None, typer.Option("--provider-branch")] = None,
    consumer_branch: Annotated[list[str] | None, typer.Option(
        "--consumer-branch", help="consumer version selector (repeatable; default: each "
                                  "consumer's main branch + deployed/released)")] = None,
) -> None:
    """Verify providers against their consumers' pacts; a table per provider, JUnit and
    results.json in reports/<run-id>/contracts/. Exit 1 when an interaction fails."""
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    settings = load_settings(config)
    broker = None
    if broker_url:
        broker = BrokerOptions(url=broker_url, token=broker_token, username=broker_username,
                               password=broker_password, provider_version=provider_version,
                               provider_branch=provider_branch,
                               consumer_branches=list(consumer_branch or []))
    elif provider_version or consumer_branch:
        raise ContractError("--provider-version and --consumer-branch need --broker-url",
                            "results are published to, and selectors sent to, a broker")
    run = run_verification(settings, provider=provider, pact_dir=pact_dir, broker=broker,
                           on_provider=_print_provider)
    counts = {s: sum(i.status == s for i in run.interactions)
              for s in ("passed", "failed", "skipped")}
    verdict = "[green]contracts verified[/]" if run.passed else "[red]contracts broken[/]"
    out.print(f"{verdict}: {counts['passed']} passed, {counts['failed']} failed, "
              f"{counts['skipped']} skipped — {run.report_dir / 'junit.xml'}")
    raise typer.Exit(0 if run.passed else 1)


@contracts_app.command("publish")
def publish(
    consumer_version: Annotated[str, typer.Option("--consumer-version",
                                                  help="version of the consumers")],
    broker_url: Annotated[str, typer.Option("--broker-url", envvar="PACT_BROKER_BASE_URL")],
    pact_dir: PactDirOpt = DEFAULT_PACT_DIR,
    branch: Annotated[str | None, typer.Option("--branch")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="repeatable")] = None,
    broker_token: TokenOpt = None,
    broker_username: UserOpt = None,
    broker_password: PasswordOpt = None,
) -> None:
    """Publish the local pact files to a Pact Broker."""
    from .pact_broker import PactBroker

    sources = pact_sources(pact_dir)
    if not sources:
        raise ContractError(f"no pact files in {pact_dir}",
                            "generate them: python -m pytest tests/contracts/consumers")
    with PactBroker(broker_url, token=broker_token, username=broker_username,
                    password=broker_password) as broker:
        published = broker.publish(sources, consumer_version, branch=branch, tags=tag)
    for p in published:
        out.print(f"published {p.consumer} → {p.provider} {p.version}: {p.url}",
                  highlight=False)


@contracts_app.command("can-i-deploy")
def can_i_deploy(
    pacticipant: Annotated[str, typer.Argument(help="consumer or provider name")],
    version: Annotated[str | None, typer.Option("--version", help="with --broker-url")] = None,
    to_environment: Annotated[str | None, typer.Option("--to-environment")] = None,
    to_tag: Annotated[str | None, typer.Option("--to")] = None,
    config: ConfigOpt = None,
    pact_dir: PactDirOpt = DEFAULT_PACT_DIR,
    results: Annotated[Path | None, typer.Option(
        "--results", help="results.json of a run (default: the newest under reports/)")] = None,
    broker_url: BrokerOpt = None,
    broker_token: TokenOpt = None,
    broker_username: UserOpt = None,
    broker_password: PasswordOpt = None,
) -> None:
    """Can PACTICIPANT be deployed without breaking a consumer? The broker's matrix when
    --broker-url is given, else the local pacts and the last local verification. Exit 1 if
    not."""
    decision: DeployDecision
    if broker_url:
        from .pact_broker import PactBroker

        if not version:
            raise ContractError("--version is required with --broker-url",
                                "the broker's matrix is per pacticipant version")
        with PactBroker(broker_url, token=broker_token, username=broker_username,
                        password=broker_password) as broker:
            decision = broker.can_i_deploy(pacticipant, version, environment=to_environment,
                                           tag=to_tag)
    else:
        settings = load_settings(config)
        decision = can_i_deploy_local(pacticipant, pact_dir,
                                      results or latest_results(settings.report_dir))
    table = Table("consumer", "provider", "verdict", "detail")
    for c in decision.checks:
        table.add_row(c.consumer, c.provider, c.verdict, c.reason)
    out.print(table)
    verdict = "[green]yes[/]" if decision.deployable else "[red]no[/]"
    out.print(f"can I deploy {pacticipant}? {verdict} — {decision.reason}")
    raise typer.Exit(0 if decision.deployable else 1)


__all__ = ["InteractionResult", "contracts_app"]
