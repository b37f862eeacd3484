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

    def parallel(work: dict[str, Batches]) -> None:
        todo = {n: b for n, b in work.items() if n in clients and any(r for _, r in b)}
        with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
            futures = {n: pool.submit(_import, n, clients[n], b) for n, b in todo.items()}
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
    parallel({"crm": crm_batches(business), "tax": tax_batches(business),
              "billing": billing_batches(business, rates), **erp})
    result.timings["master_data"] = time.perf_counter() - t
    say("imported master data")

    t = time.perf_counter()
    invoices = finalized_invoices(_state(_snapshot("billing", clients["billing"]))) \
        if "billing" in clients else []
    erp_customers: dict[str, str] = {}
    if "cloud_erp" in clients:
        partners = _state(_snapshot("cloud_erp", clients["cloud_erp"])).get(
            "business_partners", {})
        erp_customers = {p["SearchTerm1"]: p["BusinessPartner"] for p in partners.values()
                         if p.get("SearchTerm1")}
    parallel(dict(history_batches(business, invoices, erp_customers)))
    result.timings["history"] = time.perf_counter() - t
    say(f"imported history of {len(invoices)} invoices")

    t = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, len(clients))) as pool:
        raw = dict(zip(clients, pool.map(lambda n: _snapshot(n, clients[n]), clients),
                       strict=True))
    result.checksums = {name: hashlib.sha256(data).hexdigest() for name, data in raw.items()}
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
