"""The reference exchange every server in the benchmark must reproduce.

A benchmark compares like with like only if every server answers the same request with the
same status and body. The reference is captured from our billing simulator when it is
available (create one customer, GET it back by id, and keep one POST answer); otherwise it
comes from ``fixtures/customer.json`` so the machinery still runs against the peers. Peer
stubs, the ceiling app and the ``kit-hello`` app are all generated from it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "sk_test_o2c_harness"  # the billing simulator's default test key
AUTH = f"Bearer {API_KEY}"
FORM = "application/x-www-form-urlencoded"
# What each POST sends: a realistic Stripe customer create, bracket notation included.
POST_FORM = (
    # arrays as `name[]=` (form, explode): the style our served OpenAPI declares, which
    # Prism validates against; the simulator also takes the SDK's `name[0]=`
    "name=Jenny+Rosen&email=jenny.rosen%40example.com&description=bench+customer"
    "&phone=%2B14155550100&preferred_locales[]=en-US"
    "&address[line1]=510+Townsend+St&address[city]=San+Francisco&address[state]=CA"
    "&address[postal_code]=94103&address[country]=US"
    "&metadata[crm_account_id]=001Dn00000bench&metadata[legal_entity]=US01"
)
# Response headers that describe the connection or the moment rather than the answer.
_VOLATILE_HEADERS = {"date", "server", "content-length", "connection", "transfer-encoding",
                     "keep-alive"}


@dataclass
class Exchange:
    """One request and the answer every server must give to it."""

    method: str
    path: str
    status: int
    body: str
    request_body: str = ""
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def body_bytes(self) -> bytes:
        return self.body.encode()


@dataclass
class Reference:
    """The two exchanges of the benchmark and where they came from."""

    source: str  # "billing simulator" or "fixture"
    get: Exchange
    post: Exchange

    def exchanges(self) -> dict[str, Exchange]:
        return {"GET": self.get, "POST": self.post}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())
        return path

    @classmethod
    def load(cls, path: Path) -> Reference:
        raw = json.loads(path.read_text())
        return cls(source=raw["source"], get=Exchange(**raw["get"]), post=Exchange(**raw["post"]))


def _request_headers(method: str) -> dict[str, str]:
    headers = {"Authorization": AUTH}
    if method == "POST":
        headers["Content-Type"] = FORM
    return headers


def fixture_reference() -> Reference:
    """The stand-in used while our simulator is not available: a Stripe customer document."""
    body = json.dumps(json.loads((FIXTURES / "customer.json").read_text()),
                      separators=(",", ":"), ensure_ascii=False)
    cid = json.loads(body)["id"]
    headers = {"content-type": "application/json", "stripe-version": "2024-06-20"}
    return Reference(
        source="fixture",
        get=Exchange("GET", f"/v1/customers/{cid}", 200, body,
                     request_headers=_request_headers("GET"), response_headers=dict(headers)),
        post=Exchange("POST", "/v1/customers", 200, body, request_body=POST_FORM,
                      request_headers=_request_headers("POST"), response_headers=dict(headers)),
    )


def _stable_headers(response: httpx.Response) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()
            if k.lower() not in _VOLATILE_HEADERS}


def _reference(created: httpx.Response, got: httpx.Response, path: str) -> Reference:
    return Reference(
        source="billing simulator",
        get=Exchange("GET", path, got.status_code, got.text,
                     request_headers=_request_headers("GET"),
                     response_headers=_stable_headers(got)),
        post=Exchange("POST", "/v1/customers", created.status_code, created.text,
                      request_body=POST_FORM, request_headers=_request_headers("POST"),
                      response_headers=_stable_headers(created)),
    )


def capture(base_url: str, timeout: float = 10.0) -> Reference:
    """Create one customer on a running billing simulator, GET it, and keep both answers."""
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        created = client.post("/v1/customers", content=POST_FORM,
                              headers=_request_headers("POST"))
        created.raise_for_status()
        path = f"/v1/customers/{created.json()['id']}"
        got = client.get(path, headers=_request_headers("GET"))
        got.raise_for_status()
    return _reference(created, got, path)


async def capture_asgi(app: Any) -> Reference:
    """:func:`capture` against an ASGI app in process (no socket)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        created = await client.post("/v1/customers", content=POST_FORM,
                                    headers=_request_headers("POST"))
        created.raise_for_status()
        path = f"/v1/customers/{created.json()['id']}"
        got = await client.get(path, headers=_request_headers("GET"))
        got.raise_for_status()
    return _reference(created, got, path)


# Fields of a freshly created Stripe object that differ on every create.
_PER_CREATE_FIELDS = {"id", "created", "invoice_prefix"}


def same_answer(expected: Exchange, status: int, body: bytes | str, *,
                fresh_object: bool = False) -> str | None:
    """Why ``status``/``body`` is not the answer ``expected`` describes, or None if it is.

    With ``fresh_object`` (a POST to a stateful server creates a new customer each time),
    per-create fields (id, created, invoice prefix) may differ; everything else must not.
    """
    if status != expected.status:
        return f"status {status}, expected {expected.status}"
    try:
        got: Any = json.loads(body)
    except ValueError:
        return f"body is not JSON: {body[:80]!r}"
    want: Any = json.loads(expected.body)
    if fresh_object and isinstance(got, dict) and isinstance(want, dict):
        got = {k: v for k, v in got.items() if k not in _PER_CREATE_FIELDS}
        want = {k: v for k, v in want.items() if k not in _PER_CREATE_FIELDS}
    if got != want:
        diff = sorted(set(_flat(got).items()) ^ set(_flat(want).items()))[:4]
        return f"body differs: {diff}"
    return None


def _flat(node: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(node, dict):
        out: dict[str, str] = {}
        for k, v in node.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(node, list):
        out = {}
        for i, v in enumerate(node):
            out.update(_flat(v, f"{prefix}[{i}]"))
        return out or {prefix: "[]"}
    return {prefix: json.dumps(node)}
