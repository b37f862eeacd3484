"""Writing one business into the simulators, through their admin APIs only.

Each simulator is an ``httpx.Client`` on its base URL: a running landscape's URL, or an
in-process app (``in_process_clients``). Seeding freezes every simulator's clock at the seed
date, resets it, imports the business in three phases (see :mod:`.records`), takes each
simulator's snapshot (their SHA-256 checksums make the manifest), then lets the clocks run on
from the seed date unless asked to keep them frozen.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from ..errors import LandscapeError
from .generate import generate_business
from .model import Business, BusinessOptions
from .records import (
    Batches,
    billing_batches,
    catalog_batches,
    crm_batches,
    erp_batches,
    finalized_invoices,
    history_batches,
    tax_batches,
    tax_rate_ids,
    with_document_numbers,
)

CHUNK = 5_000  # records per import request
Progress = Callable[[str], None]


@dataclass
class SeedResult:
    """What a seeding did: the business, counts imported per simulator, snapshot checksums."""

    business: Business
    imported: dict[str, dict[str, int]] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def landscape_checksum(self) -> str:
        """One checksum over every simulator's snapshot checksum (name order)."""
        joined = "\n".join(f"{name}:{self.checksums[name]}" for name in sorted(self.checksums))
        return hashlib.sha256(joined.encode()).hexdigest()

    def manifest(self) -> dict[str, Any]:
        b = self.business
        defects: dict[str, int] = {}
        for c in b.customers:
            for d in c.defects:
                defects[d] = defects.get(d, 0) + 1
        return {
            "format": 1,
            "options": b.options.describe(),
            "seed_ts": b.seed_ts,
            "business": {
                "legal_entities": b.entities,
                "customers": len(b.customers),
                "won": sum(c.won for c in b.customers),
                "in_billing": sum(c.in_billing for c in b.customers),
                "in_erp": sum(c.erp_at is not None for c in b.customers),
                "clean": sum(c.clean for c in b.customers),
                "defects": dict(sorted(defects.items())),
            },
            "imported": self.imported,
            "checksums": dict(sorted(self.checksums.items())),
            "landscape_checksum": self.landscape_checksum,
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
        }


def write_manifest(result: SeedResult, report_dir: Path, run_id: str) -> Path:
    """``<report_dir>/<run_id>/landscape.json``: so a run can say what data it ran on."""
    folder = report_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "landscape.json"
    path.write_text(json.dumps({"run_id": run_id, **result.manifest()}, indent=2,
                               ensure_ascii=False))
    return path


# -- the admin API, as a client ---------------------------------------------------------------
def _check(name: str, response: httpx.Response, what: str) -> httpx.Response:
    if response.status_code != 200:
        where = response.headers.get("x-sim-import-failed-at")
        raise LandscapeError(
            f"{name}: {what} failed with HTTP {response.status_code}"
            f"{f' at {where}' if where else ''}: {response.text[:300]}",
            "check that the simulator runs this build (`harness status`)")
    return response


def _import(name: str, client: httpx.Client, batches: Batches) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, records in batches:
        for start in range(0, len(records), CHUNK):
            chunk = records[start:start + CHUNK]
            body = orjson.dumps({"kind": kind, "records": chunk})
            r = _check(name, client.post("/_sim/import", content=body,
                                         headers={"content-type": "application/json"}),
                       f"importing {kind}")
            for key, n in r.json()["imported"].items():
                counts[key] = counts.get(key, 0) + n
    return counts


def _snapshot(name: str, client: httpx.Client) -> bytes:
    return _check(name, client.get("/_sim/snapshot"), "reading the snapshot").content


def _facts(name: str, clients: Mapping[str, httpx.Client], kind: str) -> list[dict[str, Any]]:
    if name not in clients:
        return []
    r = _check(name, clients[name].get("/_sim/facts", params={"kind": kind, "limit": 100_000}),
               f"reading {kind} facts")
    data: list[dict[str, Any]] = r.json()["data"]
    if len(data) >= 100_000:
        raise LandscapeError(f"{name}: more than 100000 {kind} facts", "seed fewer customers")
    return data


def _state(raw: bytes) -> dict[str, dict[str, Any]]:
    return orjson.loads(raw)["state"]  # type: ignore[no-any-return]


def seed_landscape(clients: Mapping[str, httpx.Client], options: BusinessOptions, *,
                   freeze_clock: bool = False, progress: Progress | None = None) -> SeedResult:
    """Generate the business of ``options`` and write it into the simulators of ``clients``
    (name → client; any subset of the landscape). Same options → identical snapshots."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    business = generate_business(options)
    result = SeedResult(business)
    result.timings["generate"] = time.perf_counter() - started
    say(f"generated {len(business.customers)} customers")

    def merge(name: str, counts: dict[str, int]) -> None:
        mine = result.imported.setdefault(name, {})
        for key, n in counts.items():
            mine[key] = mine.get(key, 0) + n

    def timed_import(phase: str, name: str, batches: Batches) -> dict[str, int]:
        t0 = time.perf_counter()
        counts = _import(name, clients[name], batches)
        result.timings[f"{phase}:{name}"] = time.perf_counter() - t0
        return counts

    def parallel(phase: str, work: dict[str, Batches]) -> None:
        todo = {n: b for n, b in work.items() if n in clients and any(r for _, r in b)}
        with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
            futures = {n: pool.submit(timed_import, phase, n, b) for n, b in todo.items()}
            for name, future in futures.items():
                merge(name, future.result())

    t = time.perf_counter()
    for name, client in clients.items():
        _check(name, client.put("/_sim/clock", json={"now": business.seed_ts, "frozen": True}),
               "freezing the clock")
        _check(name, client.post("/_sim/reset"), "reset")
    result.timings["reset"] = time.perf_counter() - t

    t = time.perf_counter()
    rates: dict[str, str] = {}
    if "billing" in clients:
        merge("billing", _import("billing", clients["billing"], catalog_batches(business)))
        rates = tax_rate_ids(_state(_snapshot("billing", clients["billing"])))
    erp = erp_batches(business)
    parallel("master_data", {"crm": crm_batches(business), "tax": tax_batches(business),
              "billing": billing_batches(business, rates), **erp})
    result.timings["master_data"] = time.perf_counter() - t
    say("imported master data")

    t = time.perf_counter()
    invoices = finalized_invoices(_facts("billing", clients, "customer.created"),
                                  _facts("billing", clients, "invoice.finalized"))
    # the ERP numbers its partners; its facts are keyed by number and by search term
    erp_customers = {f["key"]: f["data"]["BusinessPartner"]
                     for f in _facts("cloud_erp", clients, "business_partner.created")
                     if f["key"] != f["data"]["BusinessPartner"]}
    history = history_batches(business, invoices, erp_customers)
    parallel("postings", history.postings)
    posted = {f["key"]: f["data"]["DocumentNumber"]
              for f in _facts("legacy_erp", clients, "invoice.posted")}
    clearings = dict(history.clearings)
    if "legacy_erp" in clearings:
        clearings["legacy_erp"] = with_document_numbers(clearings["legacy_erp"], posted)
    parallel("clearings", clearings)
    result.timings["history"] = time.perf_counter() - t
    say(f"imported history of {len(invoices)} invoices")

    t = time.perf_counter()
    # the SHA-256 of each GET /_sim/snapshot, computed where the snapshot is
    result.checksums = {name: _check(name, client.get("/_sim/snapshot/digest"),
                                     "reading the snapshot digest").json()["sha256"]
                        for name, client in clients.items()}
    if not freeze_clock:
        for name, client in clients.items():
            _check(name, client.put("/_sim/clock", json={"now": business.seed_ts,
                                                          "frozen": False}), "starting the clock")
    result.timings["snapshots"] = time.perf_counter() - t
    result.timings["total"] = time.perf_counter() - started
    return result


# -- where the simulators are ------------------------------------------------------------------
@contextmanager
def http_clients(urls: Mapping[str, str], verify: str | bool = True,
                 timeout: float = 600.0) -> Iterator[dict[str, httpx.Client]]:
    """One client per running simulator (``<state_dir>/landscape.json`` URLs)."""
    with ExitStack() as stack:
        yield {name: stack.enter_context(httpx.Client(base_url=url, verify=verify,
                                                      timeout=timeout))
               for name, url in urls.items()}


@contextmanager
def in_process_clients(names: Sequence[str] | None = None,
                       configs: Mapping[str, Any] | None = None
                       ) -> Iterator[dict[str, httpx.Client]]:
    """Fresh in-process simulators (memory stores, no sockets, no background ticker): for
    tests, and for building states to snapshot."""
    from starlette.testclient import TestClient

    import simulators
    from simulators._kit import build_app

    chosen = [n for n in (names or simulators.names()) if simulators.is_available(n)]
    with ExitStack() as stack:
        clients: dict[str, httpx.Client] = {}
        for name in chosen:
            cls = simulators.simulator_class(name)
            config = (configs or {}).get(name)
            app = build_app(cls(config) if config is not None else cls())
            # not entered: no lifespan, so no ticker interleaves with the seeding
            client = TestClient(app, raise_server_exceptions=True)
            stack.callback(client.close)
            clients[name] = client
        yield clients
