"""``harness fuzz``: schemathesis against every simulator and the integration API.

The engine loads each target's served OpenAPI, fills in that target's authentication, runs
schemathesis (examples, coverage, fuzzing and, where the spec has OpenAPI links, stateful
phases) with every default check on, and emits :class:`FuzzEvent` objects. Reporters (console,
JUnit, findings summary) are handlers of those events; the engine never prints.

The same configuration serves the pytest tests in ``tests/fuzz``: :func:`schemathesis_config`
and :func:`prepare_schema` are what a test module calls on a schema it loaded at import time.

Admin operations (``/_sim/*``) are fuzzed too. A few of them change how the simulator answers
every later request (fault rules, restored snapshots, a reset that re-installs configured
faults), so :func:`prepare_schema` registers hooks that put the simulator back into a clean
state right after such a call, and cap the two inputs that would only spend the time budget
(a long-poll ``timeout`` and a ``seed`` ``size``) — see ``_AdminGuard``.
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeGuard

import httpx

import simulators

from . import landscape as ls
from . import layer_auth
from .canonical.secrets import reveal
from .config import HarnessSettings
from .errors import HarnessError, LandscapeError

INTEGRATION = "integration"
TARGETS: tuple[str, ...] = (*simulators.names(), INTEGRATION)
DEFAULT_MAX_EXAMPLES = 50
#: schemathesis' default checks, all on; a target may replace one with a stricter equivalent
#: (see ``_CHECK_EXCEPTIONS``), never drop it.
SOAP_FAULT_CHECK = "soap_fault_conformance"
SOAP_ACCEPTANCE_CHECK = "soap_positive_data_acceptance"
_CHECK_EXCEPTIONS: dict[str, dict[str, str | tuple[str, ...]]] = {
    # SOAP 1.1 (§6.2) and WS-I BP R1126 put every fault on HTTP 500, so a 500 carrying a
    # Client fault is the vendor's correct answer to bad input. `not_a_server_error` is
    # replaced on the SOAP operation by `soap_fault_conformance`: a 5xx passes only with a
    # well-formed SOAP 1.1 Fault whose faultcode is not soap:Server (a crash renders as a
    # soap:Server fault with Code INTERNAL_ERROR and is caught).
    # A text/xml body is a string to JSON Schema, which cannot require a well-formed SOAP
    # envelope: `positive_data_acceptance` is replaced by `soap_positive_data_acceptance`,
    # which accepts a 400 SOAP Client fault only for a body that is not a SOAP 1.1 envelope.
    "legacy_erp": {"not_a_server_error": "legacyErpSoap",
                   "positive_data_acceptance": "legacyErpSoap"},
    "crm": {"not_a_server_error": "soapLogin", "positive_data_acceptance": "soapLogin"},
}
#: A vendor may rightly refuse schema-valid input for a reason JSON Schema cannot state: a
#: SOQL statement that does not parse, a reference to a record that does not exist, an
#: address a country needs more of. Such an operation documents each refusal on the error
#: response in its spec, under this extension: ``[{"match": <regex on the response body>,
#: "why": <reason>}]`` (or ``"header"``: a response header that names the refused part). On
#: those operations (listed here as (METHOD, path regex), kept equal to the
#: served specs by tests/fuzz/test_documented_rejections.py) `positive_data_acceptance` is
#: replaced by `documented_positive_data_acceptance`: schema-valid input is accepted, or
#: refused with a documented status AND a body matching a documented refusal — any other
#: refusal fails as before.
REJECTIONS_EXTENSION = "x-o2c-valid-input-rejections"
DOCUMENTED_ACCEPTANCE_CHECK = "documented_positive_data_acceptance"
_CRM = r"^/services/data/\{version\}"
_S4 = r"^/sap/opu/odata/sap/API_[A-Z0-9_]+/A_[A-Za-z]+"
#: every simulator: an imported record is the vendor's wire shape, judged by its own rules
_IMPORT = ("POST", r"^/_sim/import$")
DOCUMENTED_REJECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "billing": (("DELETE", r"^/v1/(invoices|products|subscriptions)/\{id\}$"),),
    INTEGRATION: (("PUT", r"^/routing$"),),
    "crm": (("GET", _CRM + r"/query(All)?(/|/\{locator\})?$"),
            ("POST", _CRM + r"/sobjects/\{sobject\}/?$"),
            ("PATCH", _CRM + r"/sobjects/\{sobject\}/(\{record_id\}|\{field\}/\{value\})$"),
            ("POST", _CRM + r"/composite$")),
    "tax": (("GET", r"^/api/v2/addresses/resolve$"), ("POST", r"^/api/v2/addresses/resolve$"),
            ("POST", r"^/api/v2/transactions/create(oradjust)?$")),
    "cloud_erp": (("GET", _S4 + r"(/\$count|\(\{key\}\)(/to_[A-Za-z]+)?)?$"),
                  ("POST", _S4 + r"$")),
}
_SEED_SIZE_CAP = 20
# a clock jump bills every period it crosses (a daily subscription over the 10 years the admin
# API allows is thousands of invoices per subscription): fuzz jumps are capped to 35 days, as
# Stripe caps a test clock advance to two billing intervals
_CLOCK_JUMP_CAP_S = 35 * 86_400
_IDEMPOTENCY_KEY_MAX = 255
_AWAIT_TIMEOUT_CAP = 0.2


class FuzzError(HarnessError):
    """A fuzz run could not start (bad target, nothing to fuzz, schema not served)."""


# -- results and events ----------------------------------------------------------------------
@dataclass
class Finding:
    """One failed check on one generated case, with the curl command that reproduces it."""

    target: str
    operation: str
    check: str
    title: str
    message: str
    phase: str
    status_code: int | None
    curl: str
    response: str = ""  # the start of the response body


@dataclass
class OperationResult:
    """One schemathesis scenario: an operation in a phase (or a stateful run)."""

    target: str
    operation: str
    phase: str
    status: str  # passed | failed | skipped | error
    cases: int
    duration_s: float
    findings: list[Finding] = field(default_factory=list)
    message: str = ""


@dataclass
class TargetResult:
    target: str
    url: str
    status: Literal["passed", "failed", "skipped", "error"] = "passed"
    cases: int = 0
    operations: set[str] = field(default_factory=set)
    duration_s: float = 0.0
    results: list[OperationResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skip_reason: str = ""

    @property
    def findings(self) -> list[Finding]:
        return [f for r in self.results for f in r.findings]


@dataclass
class TargetStarted:
    target: str
    url: str


@dataclass
class OperationFinished:
    result: OperationResult


@dataclass
class TargetFinished:
    result: TargetResult


@dataclass
class FuzzRunResult:
    run_id: str
    report_dir: Path
    max_examples: int
    seed: int
    targets: list[TargetResult] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def cases(self) -> int:
        return sum(t.cases for t in self.targets)

    @property
    def findings(self) -> list[Finding]:
        return [f for t in self.targets for f in t.findings]

    @property
    def passed(self) -> bool:
        return all(t.status in ("passed", "skipped") for t in self.targets)


FuzzEvent = TargetStarted | OperationFinished | TargetFinished
Reporter = Callable[[FuzzEvent], None]


# -- authentication per target ---------------------------------------------------------------
def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# A client of one target: ``httpx.Client(base_url=...)`` over the network, or schemathesis'
# in-process ASGI session in tests (a requests.Session). Both offer get/post/put/delete with
# relative URLs and responses with raise_for_status()/json()/headers/cookies.
Client = Any
ClientFactory = Callable[[], AbstractContextManager[Client]]
Fetch = Callable[[Client], dict[str, str]]


def credentials_fetcher(name: str, config: Any) -> Fetch:
    """How to obtain the auth headers of simulator ``name`` from its typed ``Config``.

    Static credentials come straight from the config; the CRM hands out OAuth tokens and the
    cloud ERP wants a CSRF token (and its session cookie) fetched with a GET before writes.
    """
    if name == "billing":
        key = reveal(config.api_keys[0])
        return lambda client: {"Authorization": f"Bearer {key}"}
    if name == "tax":
        account, license_key = next(iter(config.accounts.items()))
        return lambda client: {"Authorization": _basic(account, reveal(license_key))}
    if name == "payments":
        key = reveal(config.api_keys[0])
        return lambda client: {"X-API-Key": key}
    if name == "legacy_erp":
        user, password = next(iter(config.users.items()))
        return lambda client: {"Authorization": _basic(user, reveal(password))}
    if name == "cloud_erp":
        user, secret = next(iter(config.users.items()))
        password = reveal(secret)

        def csrf(client: Client) -> dict[str, str]:
            auth = _basic(user, password)
            r = client.get("/sap/opu/odata/sap/API_BUSINESS_PARTNER/",
                           headers={"Authorization": auth, "x-csrf-token": "Fetch"})
            r.raise_for_status()
            cookie = "; ".join(f"{k}={v}" for k, v in r.cookies.items())
            return {"Authorization": auth, "x-csrf-token": r.headers["x-csrf-token"],
                    "Cookie": cookie}

        return csrf
    if name == "crm":
        form = {"grant_type": "client_credentials", "client_id": config.client_id,
                "client_secret": reveal(config.client_secret)}

        def token(client: Client) -> dict[str, str]:
            r = client.post("/services/oauth2/token", data=form)
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        return token
    if name == INTEGRATION and config is not None:  # scenarios.layer_auth.ClientCredentials
        layer_form = config.form()

        def bearer(client: Client) -> dict[str, str]:
            r = client.post(config.token_url, data=layer_form)
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        return bearer
    return lambda client: {}


class Credentials:
    """The current auth headers of one target; re-fetched after the simulator forgot them."""

    def __init__(self, fetch: Fetch, client_factory: ClientFactory) -> None:
        self._fetch = fetch
        self._client_factory = client_factory
        self._headers: dict[str, str] | None = None

    def headers(self) -> dict[str, str]:
        if self._headers is None:
            with self._client_factory() as client:
                self._headers = self._fetch(client)
        return self._headers

    def invalidate(self) -> None:
        self._headers = None


# -- schemathesis configuration --------------------------------------------------------------
def schemathesis_config(name: str, *, max_examples: int, seed: int,
                        request_timeout: float = 30.0, workers: int = 1,
                        phases: Sequence[str] | None = None) -> Any:
    """The schemathesis configuration of a target: all default checks, fixed seed,
    deterministic generation, no output sanitization (the curl commands must replay)."""
    from schemathesis.config import SchemathesisConfig

    replaced: dict[str, dict[str, Any]] = {}
    for check, operation_ids in _CHECK_EXCEPTIONS.get(name, {}).items():
        for operation_id in (operation_ids,) if isinstance(operation_ids, str) \
                else operation_ids:
            replaced.setdefault(operation_id, {})[check] = {"enabled": False}
    operations: list[dict[str, Any]] = [
        {"include-operation-id": operation_id, "checks": checks}
        for operation_id, checks in replaced.items()]
    operations += [{"include-method": method, "include-path-regex": path,
                    "checks": {"positive_data_acceptance": {"enabled": False}}}
                   for method, path in documented_rejection_operations(name)]
    data: dict[str, Any] = {
        "seed": seed,
        "generation": {"max-examples": max_examples, "deterministic": True,
                       "database": "none"},
        "request-timeout": request_timeout,
        "workers": workers,
        "output": {"sanitization": {"enabled": False}},
        "suppress-health-check": ["all"],
    }
    if operations:
        data["operations"] = operations
    if phases is not None:  # e.g. a CI budget: fewer phases, never fewer checks
        data["phases"] = {p: {"enabled": p in phases}
                          for p in ("examples", "coverage", "fuzzing", "stateful")}
    return SchemathesisConfig.from_dict(data)


@dataclass
class _AdminGuard:
    """Keeps one simulator fuzzable while its admin API is fuzzed.

    After a call that changes how every later request is answered — fault rules set, a
    snapshot restored (arbitrary documents would break later vendor calls: that is the
    snapshot's contract, not a vendor bug), a reset (re-installs the configured faults), a
    clock jump or ``/_sim/crm/sessions/expire`` (end the CRM's sessions) — the simulator goes
    back to a clean state and the credentials are re-fetched. Inputs that only cost time are
    capped before the call: a long-poll ``timeout`` (up to 300 s by contract) and a seed
    ``size`` (up to 100 000).
    """

    admin: ClientFactory
    credentials: Credentials

    def before_call(self, context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        self._fresh_idempotency_key(case)
        if case.path == "/_sim/await":
            # drawn as a number or numeric text, or left out (the default wait is 10 s: 200
            # examples of that alone would be half an hour of waiting for facts that never come)
            query = case.query if isinstance(case.query, dict) else {}
            value = query.get("timeout")
            if value is None or _as_number(value) > _AWAIT_TIMEOUT_CAP:
                query["timeout"] = _AWAIT_TIMEOUT_CAP
                case.query = query
        elif case.path == "/_sim/seed" and isinstance(case.body, dict):
            size = case.body.get("size")
            if _is_number(size) and size > _SEED_SIZE_CAP:
                case.body["size"] = _SEED_SIZE_CAP
        elif case.path == "/_sim/faults" and isinstance(case.body, dict):
            _order_fault_windows(case.body)
        elif case.path in ("/_sim/clock", "/_sim/clock/advance") \
                and isinstance(case.body, dict):
            self._cap_clock_jump(case.body)

    def _cap_clock_jump(self, body: dict[str, Any]) -> None:
        seconds = body.get("seconds")
        if _is_number(seconds) and seconds > _CLOCK_JUMP_CAP_S:
            body["seconds"] = _CLOCK_JUMP_CAP_S
        for key in ("to", "now"):
            value = body.get(key)
            if not _is_number(value):
                continue
            with self.admin() as client:
                now = client.get("/_sim/clock").json()["now"]
            if value > now + _CLOCK_JUMP_CAP_S:
                body[key] = now + _CLOCK_JUMP_CAP_S

    def _fresh_idempotency_key(self, case: Any) -> None:
        """A key the generator drew is reused across cases (``"0"`` over and over); the vendor
        then rightly answers "key reused with other parameters". The contract is one key per
        distinct request, which a schema cannot state, so each call gets a fresh key (a key
        longer than the documented limit stays as drawn: that one must be rejected)."""
        headers = case.headers or {}
        for name, value in list(headers.items()):
            if name.lower() == "idempotency-key" and isinstance(value, str) \
                    and len(value) <= _IDEMPOTENCY_KEY_MAX:
                headers[name] = f"fuzz-{uuid.uuid4().hex}"

    def after_call(self, context: Any, case: Any, response: Any) -> None:
        path, method = case.path, case.method.upper()
        if not path.startswith("/_sim/") or method == "GET":
            return
        if path == "/_sim/snapshot" and response.status_code == 200:
            with self.admin() as client:
                client.post("/_sim/reset").raise_for_status()
        if path in ("/_sim/faults", "/_sim/snapshot", "/_sim/reset"):
            with self.admin() as client:
                client.delete("/_sim/faults").raise_for_status()
        if path in ("/_sim/snapshot", "/_sim/reset", "/_sim/clock/advance",
                    "/_sim/crm/sessions/expire"):
            self.credentials.invalidate()


def _is_positive(case: Any) -> bool:
    """A case drawn to be schema-valid (a negative one keeps its broken shape as drawn)."""
    meta = getattr(case, "meta", None)
    return meta is None or bool(meta.generation.mode.is_positive)


def _form_serializer(ctx: Any, value: Any) -> dict[str, Any]:
    """``application/x-www-form-urlencoded`` on the wire: a positive case of a prepared schema
    goes out with its nested params in bracket notation (:func:`_bracket_form`).

    This is done while serializing, not by rewriting ``case.body`` in a hook: schemathesis
    re-validates a body a hook changed against the schema, and the flat ``items[0][price]``
    keys are not properties of it (``additionalProperties: false``), so every positive case
    with a nested param was re-labelled negative and its rightful 200 reported as "schema-
    violating request accepted". The curl command is built from the same serialization."""
    from schemathesis.transport.requests import urlencoded_serializer

    case = ctx.case
    if isinstance(value, dict) and _guard_of(case) is not None and _is_positive(case):
        value = _bracket_form(value)
    return urlencoded_serializer(ctx, value)  # type: ignore[no-any-return]


def _bracket_form(body: dict[str, Any]) -> dict[str, Any]:
    """A form body's nested params in bracket notation (``items[0][price]=p``), what
    ``style: deepObject`` means on the wire; schemathesis' form encoder does not nest
    (it sent ``items=price``). Lists of scalars stay lists: repeated keys."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{prefix}[{key}]", item)
        elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        else:
            flat[prefix] = value

    for key, value in body.items():
        if isinstance(value, dict | list) and not key.endswith("[]"):
            walk(key, value)
        else:
            flat[key] = value
    return flat


def _order_fault_windows(body: dict[str, Any]) -> None:
    """A fault window must end after it starts (a 422 otherwise), which a JSON Schema cannot
    state across two fields: a drawn pair in the wrong order is swapped, an empty one opened
    (the 422 itself is covered by the kit's tests)."""
    rules = body.get("rules")
    for rule in rules if isinstance(rules, list) else []:
        if not isinstance(rule, dict):
            continue
        start, end = rule.get("start_at"), rule.get("end_at")
        if _is_number(start) and _is_number(end) and end <= start:
            rule["start_at"], rule["end_at"] = (end, start) if end < start else (start, None)


def _as_number(value: object) -> float:
    """``value`` as a number when it is one (or numeric text; the largest of a repeated
    parameter's values), else 0."""
    if isinstance(value, list | tuple):
        return max((_as_number(v) for v in value), default=0.0)
    if _is_number(value):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else 0.0
    except ValueError:
        return 0.0


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def prepare_schema(schema: Any, credentials: Credentials, admin: ClientFactory) -> Any:
    """Register the target's auth provider and the admin guard hooks on ``schema``."""
    guard = _AdminGuard(admin, credentials)

    class _TargetAuth:
        def get(self, case: Any, ctx: Any) -> dict[str, str]:
            return credentials.headers()

        def set(self, case: Any, data: dict[str, str], ctx: Any) -> None:
            case.headers = {**(case.headers or {}), **data}

    # refresh_interval=None: no time-based cache; ``Credentials`` caches and is invalidated
    # by the guard when the simulator forgets its sessions.
    schema.auth(refresh_interval=None)(_TargetAuth)
    _GUARDS[id(schema.raw_schema)] = guard
    _register_global_checks_and_hooks()
    return schema


_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
# schemathesis allows before_call/after_call hooks and checks only globally; they look up the
# guard of the schema a case belongs to, and do nothing for schemas not prepared here
_GUARDS: dict[int, _AdminGuard] = {}
_registered: list[bool] = []


def _guard_of(case: Any) -> _AdminGuard | None:
    # keyed by the raw document: schema.include()/exclude() return clones that share it
    return _GUARDS.get(id(case.operation.schema.raw_schema))


def _tolerate_unparsable_body_urls() -> None:
    """schemathesis (4.32) collects same-origin URLs from every JSON response body and calls
    ``urlsplit`` on any string starting with ``http://``; a string such as ``"http://["`` —
    a generated description the API rightly echoes back — raises ``ValueError: Invalid IPv6
    URL`` inside the engine and ends the whole run with a traceback. Such a string is not a
    URL of the API: it is skipped, as the engine skips any other non-URL string."""
    from schemathesis.engine import observations

    original = observations._same_origin_path
    if getattr(original, "_o2c_tolerant", False):
        return

    def same_origin_path(value: str, origin: tuple[str, str]) -> str | None:
        try:
            return original(value, origin)  # type: ignore[no-any-return]
        except ValueError:
            return None

    same_origin_path._o2c_tolerant = True  # type: ignore[attr-defined]
    observations._same_origin_path = same_origin_path


def _register_global_checks_and_hooks() -> None:
    if _registered:
        return
    import schemathesis

    _tolerate_unparsable_body_urls()

    @schemathesis.hook
    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        guard = _guard_of(case)
        if guard is not None:
            guard.before_call(context, case, kwargs)

    @schemathesis.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        guard = _guard_of(case)
        if guard is not None:
            guard.after_call(context, case, response)

    def soap_fault_conformance(ctx: Any, response: Any, case: Any) -> bool | None:
        """A SOAP operation answering 5xx must send a SOAP 1.1 Fault blaming the client."""
        body = case.operation.definition.raw.get("requestBody", {})
        if "text/xml" not in body.get("content", {}) or response.status_code < 500:
            return None
        from lxml import etree

        try:
            root = etree.fromstring(response.content)
        except etree.XMLSyntaxError as exc:
            raise AssertionError(f"HTTP {response.status_code} without a SOAP envelope: "
                                 f"{exc}") from None
        fault = root.find(f"{{{_SOAP_ENV}}}Body/{{{_SOAP_ENV}}}Fault")
        if root.tag != f"{{{_SOAP_ENV}}}Envelope" or fault is None:
            raise AssertionError(f"HTTP {response.status_code} without a soap:Fault")
        code, text = fault.findtext("faultcode") or "", fault.findtext("faultstring")
        if not code or text is None:
            raise AssertionError("soap:Fault without faultcode/faultstring")
        if code.rpartition(":")[2] == "Server":
            raise AssertionError(f"server fault on HTTP {response.status_code}: {code} "
                                 f"{text!r}")
        return None

    def soap_positive_data_acceptance(ctx: Any, response: Any, case: Any) -> bool | None:
        """Schema-valid input to a SOAP operation is accepted, unless it is not a SOAP 1.1
        envelope at all (then a 400 soap:Client fault is the right answer)."""
        body = case.operation.definition.raw.get("requestBody", {})
        meta = case.meta
        if "text/xml" not in body.get("content", {}) or meta is None \
                or not meta.generation.mode.is_positive:
            return None
        status = response.status_code
        if status < 400 or status >= 500 or status in (401, 403, 404, 409, 429):
            return None
        if status == 400 and not _is_soap_envelope(case.body) \
                and _fault_code(response.content) == "Client":
            return None
        raise AssertionError(f"a schema-valid SOAP request was rejected with HTTP {status}")

    # the transports' own registry: a serializer there returns request kwargs like the
    # built-in one it wraps (``schemathesis.serializer`` expects bytes)
    from schemathesis.transport import register_serializer

    register_serializer(_form_serializer, "application/x-www-form-urlencoded")
    def documented_positive_data_acceptance(ctx: Any, response: Any, case: Any
                                            ) -> bool | None:
        """`positive_data_acceptance`, where a refusal the spec documents passes."""
        rejections = documented_rejections(case.operation.definition.raw)
        meta = case.meta
        if not rejections or meta is None or not meta.generation.mode.is_positive \
                or _is_request_shape_probe(case):
            return None
        status = response.status_code
        if 200 <= status < 400 or status >= 500 or status in (401, 403, 404, 409, 429):
            return None
        text = response.content.decode("utf-8", "replace")
        documented = rejections.get(str(status)) or rejections.get(f"{status // 100}XX") \
            or rejections.get("default") or []
        for rejection in documented:
            if "match" in rejection and re.search(rejection["match"], text):
                return None
            if "header" in rejection and rejection["header"].lower() in \
                    {k.lower() for k in response.headers}:
                return None
        listed = ", ".join(f"{code}: {r.get('match') or r.get('header')}"
                           for code, items in sorted(rejections.items()) for r in items)
        raise AssertionError(f"a schema-valid request was rejected with HTTP {status}, not "
                             f"for a refusal the spec documents ({listed})")

    schemathesis.check(documented_positive_data_acceptance)
    schemathesis.check(soap_fault_conformance)
    schemathesis.check(soap_positive_data_acceptance)
    _registered.append(True)


def documented_rejection_operations(name: str) -> tuple[tuple[str, str], ...]:
    """(METHOD, path regex) of the operations of target ``name`` that document refusals."""
    if name == INTEGRATION:
        return DOCUMENTED_REJECTIONS.get(name, ())
    return (_IMPORT, *DOCUMENTED_REJECTIONS.get(name, ()))


def documented_rejections(operation: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """The refusals of schema-valid input an operation object documents, by status code."""
    out: dict[str, list[dict[str, str]]] = {}
    for code, response in (operation.get("responses") or {}).items():
        items = response.get(REJECTIONS_EXTENSION) if isinstance(response, dict) else None
        if items:
            out[str(code)] = list(items)
    return out


def _is_request_shape_probe(case: Any) -> bool:
    """A coverage-phase probe of the request's shape (no body, wrong method...): what the
    built-in acceptance check skips too."""
    from schemathesis.specs.openapi.checks import is_unexpected_http_status_case

    return bool(is_unexpected_http_status_case(case))


def _is_soap_envelope(body: object) -> bool:
    from lxml import etree

    raw = body.encode() if isinstance(body, str) else body
    if not isinstance(raw, bytes):
        return False
    try:
        root = etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))
    except (etree.XMLSyntaxError, ValueError):
        return False
    return bool(root.tag == f"{{{_SOAP_ENV}}}Envelope"
                and root.find(f"{{{_SOAP_ENV}}}Body") is not None)


def _fault_code(content: bytes) -> str:
    """The local part of a SOAP 1.1 Fault's faultcode, or ""."""
    from lxml import etree

    try:
        root = etree.fromstring(content)
    except (etree.XMLSyntaxError, ValueError):
        return ""
    fault = root.find(f"{{{_SOAP_ENV}}}Body/{{{_SOAP_ENV}}}Fault")
    code = fault.findtext("faultcode") if fault is not None else None
    return (code or "").rpartition(":")[2]


# -- running ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class FuzzTarget:
    name: str
    url: str
    config: Any = None  # the simulator's typed Config (the layer's OAuth2 client for the
    # integration API: scenarios.layer_auth.ClientCredentials, or None)
    verify: str | bool = True


def _operation_results(target: str, event: Any) -> list[OperationResult]:
    from schemathesis.engine import Status

    recorder = event.recorder
    status = {Status.SUCCESS: "passed", Status.FAILURE: "failed", Status.SKIP: "skipped"}.get(
        event.status, "error")
    findings: list[Finding] = []
    for case_id, checks in recorder.checks.items():
        node = recorder.cases.get(case_id)
        interaction = recorder.interactions.get(case_id)
        for check in checks:
            info = check.failure_info
            if info is None:
                continue
            failure = info.failure
            findings.append(Finding(
                target=target,
                operation=node.value.operation.label if node else recorder.label,
                check=check.name,
                title=failure.title,
                message=str(failure.message),
                phase=event.phase.value,
                status_code=(interaction.response.status_code
                             if interaction is not None and interaction.response is not None
                             else None),
                curl=info.code_sample,
                response=_body_excerpt(interaction),
            ))
    return [OperationResult(target=target, operation=recorder.label, phase=event.phase.value,
                            status=status, cases=len(recorder.cases),
                            duration_s=event.elapsed_time, findings=findings,
                            message=event.skip_reason or "")]


def _body_excerpt(interaction: Any, limit: int = 600) -> str:
    if interaction is None or interaction.response is None:
        return ""
    content = interaction.response.content or b""
    text = content[:limit].decode("utf-8", "replace")
    return text + ("…" if len(content) > limit else "")


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per (operation, check, title, status): the first case that showed it."""
    seen: set[tuple[str, str, str, int | None]] = set()
    out = []
    for f in findings:
        key = (f.operation, f.check, f.title, f.status_code)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def fuzz_target(target: FuzzTarget, *, max_examples: int, seed: int,
                emit: Reporter, workers: int = 1) -> TargetResult:
    """Fuzz one running target at ``target.url``; emits events, returns the result."""
    import schemathesis

    result = TargetResult(target.name, target.url)
    emit(TargetStarted(target.name, target.url))
    started = time.perf_counter()

    def client() -> httpx.Client:
        return httpx.Client(base_url=target.url, timeout=60, verify=target.verify)

    fetch = credentials_fetcher(target.name, target.config)
    credentials = Credentials(fetch, client)
    is_simulator = target.name != INTEGRATION
    with ExitStack() as stack:
        if is_simulator:
            stack.enter_context(_clean_simulator(client))
        config = schemathesis_config(target.name, max_examples=max_examples, seed=seed,
                                     workers=workers)
        if isinstance(target.verify, str):
            config.projects.default.tls_verify = target.verify
        try:
            schema = schemathesis.openapi.from_url(f"{target.url}/openapi.json", config=config)
        except Exception as exc:  # the schema itself is broken or not served
            result.status = "error"
            result.errors.append(f"loading {target.url}/openapi.json: {exc}")
            result.duration_s = time.perf_counter() - started
            emit(TargetFinished(result))
            return result
        prepare_schema(schema, credentials, client)
        run_schema(target.name, schema, result, emit)
    result.duration_s = time.perf_counter() - started
    emit(TargetFinished(result))
    return result


def run_schema(name: str, schema: Any, result: TargetResult, emit: Reporter) -> TargetResult:
    """Run schemathesis' engine (every phase its config enables) on a prepared ``schema``,
    adding operation results and findings to ``result``."""
    from schemathesis.engine import events, from_schema

    try:
        _consume(name, from_schema(schema).execute(), result, emit, events)
    except Exception as exc:  # an engine bug must end as a reported error, not a traceback
        result.errors.append(f"schemathesis engine crashed: {type(exc).__name__}: {exc}")
    # a finding reported in one phase often repeats in another; keep each once per target
    kept = {id(f) for f in _dedupe(result.findings)}
    for op in result.results:
        op.findings = [f for f in op.findings if id(f) in kept]
    if result.errors:
        result.status = "error"
    elif result.findings:
        result.status = "failed"
    return result


def _consume(name: str, stream: Iterator[Any], result: TargetResult, emit: Reporter,
             events: Any) -> None:
    for event in stream:
        if isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            for op in _operation_results(name, event):
                op.findings = _dedupe(op.findings)
                result.results.append(op)
                result.cases += op.cases
                if op.phase != "stateful":
                    result.operations.add(op.operation)
                emit(OperationFinished(op))
        elif isinstance(event, events.NonFatalError):
            result.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            result.errors.append(f"fatal: {event.exception}")


@contextmanager
def _clean_simulator(client_factory: ClientFactory) -> Iterator[None]:
    """Fuzz a simulator without its fault rules, then give its state, clock and faults back."""
    with client_factory() as client:
        snapshot = client.get("/_sim/snapshot").raise_for_status().json()
        faults = client.get("/_sim/faults").raise_for_status().json()
        client.delete("/_sim/faults").raise_for_status()
    try:
        yield
    finally:
        with client_factory() as client:
            client.put("/_sim/snapshot", json=snapshot).raise_for_status()
            client.put("/_sim/faults", json={"seed": faults.get("seed", 0),
                                             "rules": faults.get("rules", [])})


def select_targets(names: Sequence[str] | None) -> list[str]:
    if not names:
        return [n for n in TARGETS if n == INTEGRATION or simulators.is_available(n)]
    chosen = []
    for raw in names:
        name = ls.ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if name not in TARGETS:
            raise FuzzError(f"unknown fuzz target {raw!r}", f"choose from: {', '.join(TARGETS)}")
        chosen.append(name)
    return chosen


def _layer_missing() -> str | None:
    """Why this build has no reference layer to fuzz, or None when it has one."""
    try:
        import integration
    except ImportError:
        return "the integration layer is not part of this build"
    if not hasattr(integration, "create_app"):
        return "the integration layer has no create_app yet (issue I1)"
    return None


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _integration_url(settings: HarnessSettings, stack: ExitStack, urls: dict[str, str] | None,
                     ) -> tuple[str | None, str]:
    """The layer to fuzz: the one answering at ``integration.url``, else, when this run
    started its own landscape (``urls``), the reference layer served in-process against it,
    as the gate does; (None, why) when there is none."""
    missing = _layer_missing()
    if missing is not None:
        return None, missing
    url = str(settings.integration.url).rstrip("/")
    if _answers(url):
        return url, ""
    if urls is None:
        return None, (f"the integration API is not running at {url} "
                      "(start it, or set integration.url in harness.toml)")
    import tempfile

    from .check import InProcessLayer

    workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="o2c-fuzz-")))
    layer = InProcessLayer(dict(urls), workdir, layer_auth.served_layer_auth(settings))
    stack.callback(layer.stop)
    return str(layer.url), ""


def run_fuzz(settings: HarnessSettings, *, targets: Sequence[str] | None = None,
             max_examples: int = DEFAULT_MAX_EXAMPLES, seed: int = 0,
             reporters: Sequence[Reporter] = (), workers: int = 1,
             run_id: str | None = None) -> FuzzRunResult:
    """Fuzz the running landscape (``harness up``), or one started in-process for the run."""
    from . import astguard

    # the in-process landscape serves from threads of this process while the stateful phase
    # parses source: CPython gh-106905 (see harness/astguard.py), as in the gate
    astguard.serialize_ast_parse()
    names = select_targets(targets)
    run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run = FuzzRunResult(run_id, settings.report_dir / run_id / "fuzz", max_examples, seed)
    from .fuzz_report import write_reports

    def emit(event: FuzzEvent) -> None:
        for reporter in reporters:
            reporter(event)

    started = time.perf_counter()
    sims = [n for n in names if n != INTEGRATION]
    running = ls.read_state(settings)
    with ExitStack() as stack:
        own: dict[str, str] | None = None  # the landscape this run started, if it did
        if running is not None and all(n in running.urls for n in sims):
            landscape = running
        else:
            if running is not None:
                missing = [n for n in sims if n not in running.urls]
                raise LandscapeError(
                    f"the running landscape does not serve {', '.join(missing)}",
                    "start it with those simulators, or pick targets with --target")
            landscape = stack.enter_context(ls.start_in_process(
                settings, [n for n in select_targets(None) if n != INTEGRATION]
                if INTEGRATION in names else sims))
            own = dict(landscape.urls)
        verify: str | bool = landscape.ca_cert or True
        for name in names:
            if name == INTEGRATION:
                url, reason = _integration_url(settings, stack, own)
                if url is None:
                    result = TargetResult(INTEGRATION, str(settings.integration.url),
                                          status="skipped", skip_reason=reason)
                    emit(TargetStarted(result.target, result.url))
                    emit(TargetFinished(result))
                else:
                    # the harness' OAuth2 client of the layer (S1-A): schemathesis sends
                    # its token, and its ignored_auth check tries each operation without it
                    result = fuzz_target(FuzzTarget(INTEGRATION, url,
                                                    layer_auth.credentials(settings, url)),
                                         max_examples=max_examples, seed=seed, emit=emit,
                                         workers=workers)
            else:
                result = fuzz_target(
                    FuzzTarget(name, landscape.urls[name], settings.simulator(name), verify),
                    max_examples=max_examples, seed=seed, emit=emit, workers=workers)
            run.targets.append(result)
    run.duration_s = time.perf_counter() - started
    write_reports(run)
    return run


__all__ = [
    "DEFAULT_MAX_EXAMPLES",
    "TARGETS",
    "Credentials",
    "Finding",
    "FuzzError",
    "FuzzEvent",
    "FuzzRunResult",
    "FuzzTarget",
    "OperationFinished",
    "OperationResult",
    "TargetFinished",
    "TargetResult",
    "TargetStarted",
    "credentials_fetcher",
    "fuzz_target",
    "prepare_schema",
    "run_fuzz",
    "run_schema",
    "schemathesis_config",
    "select_targets",
]
