"""Pact provider verification: the engine behind ``harness contracts verify`` and
``can-i-deploy``.

The engine replays the consumers' pacts (``contracts/pacts/*.json``, or a Pact Broker) against
a provider with pact-python's :class:`pact.Verifier`, sets the **provider states** through a
:class:`StateSetup` (HTTP calls to the provider's admin or vendor API; it may return values
the verifier injects into the request, Pact's ``fromProviderState``), answers message
interactions with a :class:`MessageSource`, and emits one :class:`InteractionResult` per
interaction to its reporters (console table, JUnit, ``results.json``). It never prints.

Names: the pact names of the providers (``stripe-billing``, ...) map to the landscape's
simulators in :data:`PROVIDERS`; ``integration-layer`` is the system under test, reached by
its URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from .canonical.redact import redact, redact_xml
from .errors import ContractError

if TYPE_CHECKING:
    from .config import HarnessSettings

# pact name → landscape name (the simulators' registry keys; "layer" is the system under test)
PROVIDERS: dict[str, str] = {
    "salesforce-crm": "crm",
    "stripe-billing": "billing",
    "avalara-tax": "tax",
    "adyen-payments": "payments",
    "s4hana-erp": "cloud_erp",
    "legacy-erp": "legacy_erp",
    "integration-layer": "layer",
}
DEFAULT_PACT_DIR = Path("contracts/pacts")
RESULTS_FILE = "results.json"


class StateSetup(Protocol):
    """Puts a provider into a named state; returns values for ``fromProviderState``
    expressions (``${invoiceId}``) or None."""

    def __call__(self, state: str, params: Mapping[str, Any]) -> Mapping[str, Any] | None: ...


MessageSource = Callable[[str, Mapping[str, Any]], tuple[bytes, Mapping[str, Any]]]
"""(message description, provider-state values) → (body bytes, metadata)."""


@dataclass
class InteractionResult:
    """One interaction of one pact, verified against a provider."""

    provider: str
    consumer: str
    description: str
    status: str  # passed | failed | skipped
    states: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    message: str = ""  # why it failed: mismatches as a readable diff


@dataclass
class PactSource:
    """A pact file and the digest of its content (can-i-deploy compares it)."""

    path: Path
    consumer: str
    provider: str
    digest: str


@dataclass
class ProviderVerification:
    provider: str
    sources: list[str]
    interactions: list[InteractionResult] = field(default_factory=list)
    output: str = ""
    error: str = ""  # a verification that could not run at all

    @property
    def passed(self) -> bool:
        return not self.error and all(i.status != "failed" for i in self.interactions)


@dataclass
class BrokerOptions:
    """Where pacts come from and where results go when a Pact Broker is used."""

    url: str
    token: str | None = None
    username: str | None = None
    password: str | None = None
    provider_version: str | None = None  # results are published only when set
    provider_branch: str | None = None
    consumer_branches: list[str] = field(default_factory=list)  # selectors; empty = main
    include_deployed: bool = True


Reporter = Callable[[InteractionResult], None]


# -- pact files ------------------------------------------------------------------------------
def pact_sources(pact_dir: Path, provider: str | None = None) -> list[PactSource]:
    """The pact files in ``pact_dir`` (optionally for one provider), sorted by name."""
    found = []
    for path in sorted(pact_dir.glob("*.json")):
        raw = path.read_bytes()
        try:
            doc = json.loads(raw)
            consumer, prov = doc["consumer"]["name"], doc["provider"]["name"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ContractError(f"{path} is not a pact file ({exc})",
                                "regenerate it with the consumer tests") from None
        if provider is None or prov == provider:
            found.append(PactSource(path, consumer, prov, hashlib.sha256(raw).hexdigest()))
    return found


def interactions_of(source: PactSource) -> list[dict[str, Any]]:
    doc = json.loads(source.path.read_bytes())
    return list(doc.get("interactions", []))


# -- provider states -------------------------------------------------------------------------
class _StateHandler(BaseHTTPRequestHandler):
    server: _StateHttpServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
            state, action = request.get("state") or "", request.get("action") or "setup"
            values: Mapping[str, Any] | None = None
            if state and action == "setup":
                values = self.server.setup(state, request.get("params") or {})
            body, status = json.dumps(dict(values or {})).encode(), 200
        except Exception as exc:  # the verifier reports it on the interaction
            self.server.failures.append(f"{type(exc).__name__}: {exc}")
            body, status = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode(), 500
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the verifier's own output says what happened


class _StateHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, setup: StateSetup) -> None:
        super().__init__(("127.0.0.1", 0), _StateHandler)
        self.setup = setup
        self.failures: list[str] = []


@contextmanager
def state_server(setup: StateSetup) -> Iterator[tuple[str, list[str]]]:
    """Serve Pact's state-change requests on 127.0.0.1 (a URL handler, so that the setup's
    returned values reach the verifier as provider-state values)."""
    server = _StateHttpServer(setup)
    thread = threading.Thread(target=server.serve_forever, name="pact-states", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/pact-states", server.failures
    finally:
        server.shutdown()
        server.server_close()


# -- verification ----------------------------------------------------------------------------
def _interaction_key(consumer: str, description: str) -> tuple[str, str]:
    return consumer, description


def _mismatch_text(mismatch: Mapping[str, Any]) -> str:
    kind = mismatch.get("type", "mismatch")
    if kind == "BodyMismatch":
        where = mismatch.get("path", "$")
        return (f"body {where}: expected {mismatch.get('expected')!s} "
                f"but got {mismatch.get('actual')!s} — {mismatch.get('mismatch', '')}")
    if kind == "StatusMismatch":
        return f"status: expected {mismatch.get('expected')} but got {mismatch.get('actual')}"
    if kind == "HeaderMismatch":
        return (f"header {mismatch.get('key')}: expected {mismatch.get('expected')!r} but got "
                f"{mismatch.get('actual')!r} — {mismatch.get('mismatch', '')}")
    if kind == "MetadataMismatch":
        return (f"metadata {mismatch.get('key')}: expected {mismatch.get('expected')!r} but "
                f"got {mismatch.get('actual')!r} — {mismatch.get('mismatch', '')}")
    text = mismatch.get("mismatch") or mismatch.get("message") or json.dumps(mismatch)
    return f"{kind}: {text}"


def _error_text(error: Mapping[str, Any]) -> str:
    detail = error.get("mismatch") or {}
    if isinstance(detail, Mapping):
        mismatches = detail.get("mismatches")
        if isinstance(mismatches, list) and mismatches:
            return "\n".join(_mismatch_text(m) for m in mismatches if isinstance(m, Mapping))
        if detail.get("message"):
            return str(detail["message"])
        if detail:
            return json.dumps(detail, sort_keys=True)
    return str(detail or error)


def _parse_results(provider: str, results: Mapping[str, Any],
                   expected: Sequence[tuple[str, str, list[str]]],
                   state_failures: Sequence[str]) -> list[InteractionResult]:
    # an error names its interaction as "Verifying a pact between C and P [Given S] - D"
    raw_errors = [(str(e.get("interaction", "")), _error_text(e))
                  for e in results.get("errors") or []]

    def errors_of(consumer: str, description: str) -> list[str]:
        return [text for name, text in raw_errors
                if name == description or (name.endswith(f" - {description}")
                                           and f" between {consumer} and " in name)]

    by_key: dict[tuple[str, str], InteractionResult] = {}
    for item in results.get("interactionResults") or []:
        consumer, description = str(item.get("consumer", "")), str(item.get("description", ""))
        errors = errors_of(consumer, description)
        ok = item.get("result") == "OK" if "result" in item else not errors
        message = "\n".join(errors) if not ok else ""
        if not ok and not message:
            message = json.dumps(item.get("result"), sort_keys=True)
        duration = _duration(item.get("duration"))
        by_key[_interaction_key(consumer, description)] = InteractionResult(
            provider, consumer, description, "passed" if ok else "failed",
            [str(s.get("name", s)) if isinstance(s, Mapping) else str(s)
             for s in item.get("providerStates") or []], duration, message)
    out = []
    for consumer, description, states in expected:
        found = by_key.pop(_interaction_key(consumer, description), None)
        if found is None:
            # the verifier never ran it (it stopped early, or a state setup failed)
            reason = "\n".join(errors_of(consumer, description) or list(state_failures)) \
                or "not verified"
            found = InteractionResult(provider, consumer, description, "failed", states,
                                      message=reason)
        out.append(found)
    out.extend(by_key.values())
    return out


def _duration(value: Any) -> float:
    text = str(value or "")
    try:
        if text.endswith("ms"):
            return float(text[:-2]) / 1000
        if text.endswith("s"):
            return float(text[:-1])
    except ValueError:
        pass
    return 0.0


def verify_provider(provider: str, *, base_url: str | None,
                    sources: Sequence[PactSource] = (), broker: BrokerOptions | None = None,
                    states: StateSetup | None = None, messages: MessageSource | None = None,
                    headers: Mapping[str, str] | None = None,
                    reporters: Sequence[Reporter] = ()) -> ProviderVerification:
    """Verify ``provider`` (at ``base_url``; message-only pacts need none) against local pact
    files or a broker's pacts. Emits every interaction's result to ``reporters``."""
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    from pact import Verifier  # imported late: it loads the Pact FFI library

    names = [str(s.path) for s in sources] if broker is None else [broker.url]
    result = ProviderVerification(provider, names)
    expected = [(s.consumer, str(i.get("description", "")),
                 [str(p.get("name", "")) for p in i.get("providerStates") or []])
                for s in sources for i in interactions_of(s)]
    # the verifier checks the transport's host against its own: take it from the URL
    # (default 127.0.0.1: "localhost" may resolve to IPv6 where nothing listens)
    host = urlsplit(base_url).hostname if base_url else None
    verifier = Verifier(provider, host=host or "127.0.0.1").set_coloured_output(enabled=False)
    verifier.set_error_on_empty_pact(enabled=True)
    if base_url:
        verifier.add_transport(url=base_url)
        if base_url.startswith("https://"):
            verifier.disable_ssl_verification()  # the landscape's local CA (harness up --tls)
    for name, value in (headers or {}).items():
        verifier.add_custom_header(name, value)
    if broker is None:
        for source in sources:
            verifier.add_source(source.path)
    else:
        _broker_source(verifier, broker)

    setup: StateSetup = states or _no_states
    last_values: dict[str, Any] = {}

    def remembering(state: str, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
        values = setup(state, params)
        last_values.update(values or {})
        return values

    if messages is not None:
        from pact.types import Message

        def produce(name: str, metadata: dict[str, Any] | None) -> Message:
            body, meta = messages(name, dict(last_values))
            return Message(contents=body, metadata=dict(meta),
                           content_type=str(meta.get("contentType", "application/json")))

        verifier.message_handler(produce)
    with state_server(remembering) as (state_url, state_failures):
        verifier.state_handler(state_url, teardown=False, body=True)
        try:
            verifier.verify()
        except Exception as exc:  # a failed verification raises a bare error: read results
            raw = _results(verifier)
            if not raw.get("interactionResults"):
                # it could not even start (no pacts, broker refused...): the reason is in
                # the verifier's output, not in the exception
                reasons = [line.strip() for line in verifier.output(strip_ansi=True)
                           .splitlines() if "Failed" in line or "error" in line.lower()]
                result.error = "; ".join(reasons) or f"{type(exc).__name__}: {exc}"
        raw = _results(verifier)
        result.output = verifier.output(strip_ansi=True)
        result.interactions = _parse_results(provider, raw, expected, state_failures)
    if not result.interactions and not result.error:
        result.error = "no interactions were verified"
    for interaction in result.interactions:
        for reporter in reporters:
            reporter(interaction)
    return result


def _results(verifier: Any) -> dict[str, Any]:
    try:
        return dict(verifier.results)
    except Exception:  # no results yet (it failed before running)
        return {}


def _no_states(state: str, params: Mapping[str, Any]) -> Mapping[str, Any] | None:
    raise ContractError(f"provider state {state!r} has no setup",
                        "give verify_provider a StateSetup that knows it")


def _broker_source(verifier: Any, broker: BrokerOptions) -> None:
    auth: dict[str, Any] = {"use_env": False}
    if broker.token:
        auth["token"] = broker.token
    elif broker.username:
        auth["username"], auth["password"] = broker.username, broker.password
    selectors = verifier.broker_source(broker.url, selector=True, **auth)
    for branch in broker.consumer_branches:
        selectors.consumer_version(branch=branch)
    if not broker.consumer_branches:
        selectors.consumer_version(main_branch=True)
    if broker.include_deployed:
        selectors.consumer_version(deployed_or_released=True)
    if broker.provider_branch:
        selectors.provider_branch(broker.provider_branch)
    selectors.build()
    if broker.provider_version:
        verifier.set_publish_options(broker.provider_version, branch=broker.provider_branch)


# -- a run over several providers, with reports -----------------------------------------------
@dataclass
class ContractRun:
    run_id: str
    report_dir: Path
    verifications: list[ProviderVerification] = field(default_factory=list)
    pacts: list[PactSource] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verifications)

    @property
    def interactions(self) -> list[InteractionResult]:
        return [i for v in self.verifications for i in v.interactions]


def new_run(report_root: Path) -> ContractRun:
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return ContractRun(run_id, report_root / run_id / "contracts")


def write_reports(run: ContractRun) -> None:
    """``junit.xml`` (a suite per provider, a case per interaction) and ``results.json`` (what
    the local can-i-deploy reads) in ``run.report_dir``."""
    run.report_dir.mkdir(parents=True, exist_ok=True)
    suites = ET.Element("testsuites", name="contracts")
    for v in run.verifications:
        failed = sum(i.status == "failed" for i in v.interactions) + bool(v.error)
        suite = ET.SubElement(suites, "testsuite", name=f"contracts.{v.provider}",
                              tests=str(len(v.interactions) + bool(v.error)),
                              failures=str(failed),
                              skipped=str(sum(i.status == "skipped" for i in v.interactions)))
        if v.error:
            case = ET.SubElement(suite, "testcase", classname=f"contracts.{v.provider}",
                                 name="verification")
            ET.SubElement(case, "failure", message=v.error[:200]).text = v.error
        for i in v.interactions:
            case = ET.SubElement(suite, "testcase",
                                 classname=f"contracts.{v.provider}.{i.consumer}",
                                 name=i.description, time=f"{i.duration_s:.3f}")
            if i.status == "failed":
                ET.SubElement(case, "failure",
                              message=(i.message.splitlines() or ["failed"])[0][:200]
                              ).text = i.message
            elif i.status == "skipped":
                ET.SubElement(case, "skipped", message=i.message)
        if v.output:
            ET.SubElement(suite, "system-out").text = v.output
    ET.indent(suites)
    ET.ElementTree(redact_xml(suites)).write(run.report_dir / "junit.xml", encoding="utf-8",
                                 xml_declaration=True)
    doc = {"run_id": run.run_id, "passed": run.passed,
           "pacts": [{"path": str(p.path), "consumer": p.consumer, "provider": p.provider,
                      "digest": p.digest} for p in run.pacts],
           "verifications": [{"provider": v.provider, "sources": v.sources, "error": v.error,
                              "passed": v.passed,
                              "interactions": [asdict(i) for i in v.interactions]}
                             for v in run.verifications]}
    (run.report_dir / RESULTS_FILE).write_text(json.dumps(redact(doc), indent=2) + "\n")


# -- can-i-deploy from local results ---------------------------------------------------------
@dataclass
class DeployCheck:
    """One consumer ↔ provider pair of the matrix for a can-i-deploy question."""

    consumer: str
    provider: str
    verdict: str  # verified | failed | unknown
    reason: str


@dataclass
class DeployDecision:
    pacticipant: str
    deployable: bool
    reason: str
    checks: list[DeployCheck] = field(default_factory=list)


def latest_results(report_root: Path) -> Path | None:
    """The newest ``results.json`` under ``reports/*/contracts/``."""
    found = sorted(report_root.glob(f"*/contracts/{RESULTS_FILE}"),
                   key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def can_i_deploy_local(pacticipant: str, pact_dir: Path, results_file: Path | None) -> \
        DeployDecision:
    """Whether ``pacticipant`` can be deployed, by the local pacts and the last verification:
    every pact it is part of (as consumer or provider) must have been verified, passing, on
    exactly the pact content that is in ``pact_dir`` now."""
    pacts = [p for p in pact_sources(pact_dir) if pacticipant in (p.consumer, p.provider)]
    if not pacts:
        return DeployDecision(pacticipant, False,
                              f"no pact in {pact_dir} names {pacticipant!r}")
    statuses: dict[tuple[str, str], set[str]] = {}
    digests: dict[tuple[str, str], str] = {}
    run_id = "none"
    if results_file is not None and results_file.exists():
        doc = json.loads(results_file.read_text())
        run_id = str(doc.get("run_id"))
        digests = {(p["consumer"], p["provider"]): p["digest"] for p in doc.get("pacts", [])}
        for v in doc.get("verifications", []):
            for i in v.get("interactions", []):
                statuses.setdefault((i["consumer"], i["provider"]), set()).add(i["status"])
    checks = []
    for p in pacts:
        seen = statuses.get((p.consumer, p.provider))
        if seen is None:
            checks.append(DeployCheck(p.consumer, p.provider, "unknown",
                                      "never verified"))
        elif digests.get((p.consumer, p.provider)) != p.digest:
            checks.append(DeployCheck(p.consumer, p.provider, "unknown",
                                      "the pact changed since it was verified"))
        elif "failed" in seen:
            checks.append(DeployCheck(p.consumer, p.provider, "failed",
                                      f"verification failed in run {run_id}"))
        elif seen != {"passed"}:
            checks.append(DeployCheck(p.consumer, p.provider, "unknown",
                                      f"not verified (skipped) in run {run_id}"))
        else:
            checks.append(DeployCheck(p.consumer, p.provider, "verified",
                                      f"verified in run {run_id}"))
    bad = [c for c in checks if c.verdict != "verified"]
    reason = "all required verification results are published and successful" if not bad \
        else "; ".join(f"{c.consumer} → {c.provider}: {c.reason}" for c in bad)
    return DeployDecision(pacticipant, not bad, reason, checks)


# -- a whole run: which providers, where they run, reports ------------------------------------
def skipped(provider: str, sources: Sequence[PactSource], reason: str) -> ProviderVerification:
    """Every interaction of ``sources`` reported as skipped (never as passed)."""
    result = ProviderVerification(provider, [str(s.path) for s in sources])
    result.interactions = [
        InteractionResult(provider, s.consumer, str(i.get("description", "")), "skipped",
                          [str(p.get("name", "")) for p in i.get("providerStates") or []],
                          message=reason)
        for s in sources for i in interactions_of(s)]
    return result


def run_verification(settings: HarnessSettings, *, provider: str | None = None,
                     pact_dir: Path = DEFAULT_PACT_DIR, broker: BrokerOptions | None = None,
                     reporters: Sequence[Reporter] = (),
                     on_provider: Callable[[ProviderVerification], None] | None = None) -> \
        ContractRun:
    """Verify every provider with pacts (or ``provider``): simulators on the running landscape
    (``harness up``) or started in-process for the run; the integration layer at
    ``settings.integration.url`` when it answers. Writes the run's reports."""
    from . import landscape as ls
    from .contract_states import STATES, IntegrationStates

    if provider is not None and provider not in PROVIDERS:
        raise ContractError(f"unknown provider {provider!r}",
                            f"one of {', '.join(sorted(PROVIDERS))}")
    run = new_run(settings.report_dir)
    if broker is None:
        run.pacts = pact_sources(pact_dir, provider)
        if not run.pacts:
            raise ContractError(f"no pact files in {pact_dir}"
                                + (f" for {provider}" if provider else ""),
                                "generate them: python -m pytest tests/contracts/consumers")
        wanted = sorted({p.provider for p in run.pacts})
    else:
        wanted = [provider] if provider else sorted(PROVIDERS)
    unknown = [w for w in wanted if w not in PROVIDERS]
    if unknown:
        raise ContractError(f"pacts name provider(s) this harness cannot run: {unknown}")

    def sources_of(name: str) -> list[PactSource]:
        return [p for p in run.pacts if p.provider == name]

    def record(result: ProviderVerification) -> None:
        run.verifications.append(result)
        if on_provider is not None:
            on_provider(result)

    running = ls.read_state(settings)
    sim_names = [PROVIDERS[w] for w in wanted if PROVIDERS[w] != "layer"]
    missing = [n for n in sim_names if running is None or n not in running.urls]
    with ls.start_in_process(settings, missing) if missing else _no_landscape() as started:
        urls = {**(running.urls if running else {}), **(started.urls if started else {})}
        for name in wanted:
            key = PROVIDERS[name]
            if key == "layer":
                record(_verify_layer(settings, name, sources_of(name), broker, running,
                                     reporters, IntegrationStates))
                continue
            states = STATES[name](urls[key])
            try:
                record(verify_provider(name, base_url=urls[key], sources=sources_of(name),
                                       broker=broker, states=states, reporters=reporters))
            finally:
                states.close()
    write_reports(run)
    return run


@contextmanager
def _no_landscape() -> Iterator[None]:
    yield None


def _verify_layer(settings: HarnessSettings, name: str, sources: list[PactSource],
                  broker: BrokerOptions | None, running: Any, reporters: Sequence[Reporter],
                  states_class: Any) -> ProviderVerification:
    import httpx

    from . import layer_auth

    url = str(settings.integration.url).rstrip("/")
    reason = ""
    if running is None:
        reason = ("the integration layer's provider states drive the landscape it is wired "
                  "to: start it with `harness up --detach` and point the layer at it")
    else:
        try:
            httpx.get(f"{url}/health", timeout=3,
                      verify=layer_auth.verify_of(settings)).raise_for_status()
        except httpx.HTTPError as exc:
            reason = f"the integration layer does not answer at {url} ({exc})"
    headers: dict[str, str] = {}
    refused = ""
    if not reason:
        try:  # the verifier replays the consumers' requests with the harness' bearer token
            headers = layer_auth.bearer_headers(settings, url)
        except httpx.HTTPError as exc:
            reason = refused = (f"the layer refused the harness' OAuth2 client ({exc}); "
                                "check integration.client_id and client_secret")
    if reason:
        result = skipped(name, sources, reason)
        if (broker is not None and not sources) or refused:
            result.error = reason
        for interaction in result.interactions:
            for reporter in reporters:
                reporter(interaction)
        return result
    states = states_class(url, dict(running.urls), auth=layer_auth.auth(settings, url),
                          verify=layer_auth.verify_of(settings))

    def messages(description: str, values: Mapping[str, Any]) -> tuple[bytes, Mapping[str, Any]]:
        event_type = next((w for w in description.split() if w.count(".") == 1), description)
        return json.dumps(states.event(event_type)).encode(), {"contentType": "application/json"}

    try:
        return verify_provider(name, base_url=url, sources=sources, broker=broker,
                               states=states, messages=messages, reporters=reporters,
                               headers=headers)
    finally:
        states.close()


__all__ = [
    "DEFAULT_PACT_DIR", "PROVIDERS", "BrokerOptions", "ContractRun", "DeployCheck",
    "DeployDecision", "InteractionResult", "MessageSource", "PactSource",
    "ProviderVerification", "StateSetup", "can_i_deploy_local", "latest_results", "new_run",
    "pact_sources", "run_verification", "skipped", "state_server", "verify_provider",
    "write_reports",
]
