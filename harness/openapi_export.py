"""The served OpenAPI of every simulator and of the integration API, committed in
``contracts/openapi/<name>.json`` (``harness openapi`` writes them, ``--check`` fails on
drift). Pact and schemathesis read the served documents as the truth; the committed copies
let a reviewer see a wire change in a diff, and a consumer generate a client without
running anything.

Each simulator's document is fetched from its app exactly as served (``GET /openapi.json``
over ASGI, default config); the integration API's comes from its public ``openapi.spec()``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import simulators
from simulators._kit import build_app

from .errors import HarnessError

DEFAULT_DIR = Path("contracts") / "openapi"
INTEGRATION = "integration"


def render(document: dict[str, Any]) -> str:
    """The committed form: sorted keys, two-space indent, a final newline (as
    ``python -m integration.openapi`` writes)."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def simulator_spec(name: str) -> dict[str, Any]:
    """``GET /openapi.json`` of simulator ``name`` with its default config, over ASGI."""
    app = build_app(simulators.simulator_class(name)(simulators.config_class(name)()))

    async def fetch() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            response = await client.get("/openapi.json")
            response.raise_for_status()
            return dict(response.json())

    return asyncio.run(fetch())


def integration_spec() -> dict[str, Any] | None:
    """The integration API's document, or None when this build has no reference layer."""
    try:
        from integration.openapi import spec
    except ImportError:
        return None
    return spec()


def specs(names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """name → OpenAPI document, for ``names`` (default: every available simulator and the
    integration API)."""
    wanted = names or [*[n for n in simulators.names() if simulators.is_available(n)],
                       INTEGRATION]
    out: dict[str, dict[str, Any]] = {}
    for name in wanted:
        if name == INTEGRATION:
            document = integration_spec()
            if document is not None:
                out[name] = document
        elif name in simulators.names():
            out[name] = simulator_spec(name)
        else:
            raise HarnessError(f"unknown OpenAPI target {name!r}",
                               f"choose from: {', '.join([*simulators.names(), INTEGRATION])}")
    return out


@dataclass(frozen=True)
class Exported:
    name: str
    path: Path
    changed: bool  # the committed file differed from (or lacked) the served document


def export(directory: Path = DEFAULT_DIR, names: list[str] | None = None, *,
           check: bool = False) -> list[Exported]:
    """Write each document to ``directory/<name>.json`` (or, with ``check``, only compare)."""
    results: list[Exported] = []
    for name, document in specs(names).items():
        path = directory / f"{name}.json"
        text = render(document)
        changed = not path.is_file() or path.read_text(encoding="utf-8") != text
        if changed and not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        results.append(Exported(name, path, changed))
    return results


__all__ = ["DEFAULT_DIR", "Exported", "export", "render", "simulator_spec", "specs"]
