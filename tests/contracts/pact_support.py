"""Helpers shared by the consumer tests (write pacts) and the provider tests (verify them).

Pact files live in ``contracts/pacts/`` and are committed. Under pytest-xdist a consumer test
may rewrite a pact while a provider test of another worker reads it: both go through one file
lock, and provider tests verify a copy taken under it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import httpx
from filelock import FileLock

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")

from pact import generate, match
from pact.match.matcher import GenericMatcher

from integration.adapters.http import RetryPolicy
from integration.settings import RetrySettings

PACT_DIR = Path(__file__).resolve().parents[2] / "contracts" / "pacts"
LOCK = FileLock(Path(tempfile.gettempdir()) / "o2c-harness-pacts.lock")


def write_pact(pact: Any) -> Path:
    """Write ``pact`` over its committed file (overwrite: never merge with a stale one)."""
    with LOCK:
        PACT_DIR.mkdir(parents=True, exist_ok=True)
        pact.write_file(PACT_DIR, overwrite=True)
    return PACT_DIR / f"{pact.consumer}-{pact.provider}.json"


def copy_pacts(dest: Path, provider: str | None = None) -> Path:
    """The committed pacts (optionally one provider's) copied under the lock into ``dest``."""
    import json

    dest.mkdir(parents=True, exist_ok=True)
    with LOCK:
        for path in sorted(PACT_DIR.glob("*.json")):
            if provider is None or json.loads(path.read_text())["provider"]["name"] == provider:
                shutil.copy(path, dest / path.name)
    return dest


def from_state(example: str, expression: str, regex: str | None = None) -> Any:
    """A value the provider's state setup supplies (Pact's ``fromProviderState``): the
    consumer test sees ``example``; the verifier substitutes ``${name}`` from the state."""
    extra = {"regex": regex} if regex else {}
    return GenericMatcher("regex" if regex else "type", example,
                          generator=generate.provider_state(expression), extra_fields=extra)


def fast_policy() -> RetryPolicy:
    """No retries: a mismatch answered by the mock server (500) must fail the test at once."""
    return RetryPolicy(RetrySettings(attempts=1, wait_initial_s=0, wait_max_s=0,
                                     wait_jitter_s=0))


__all__ = ["PACT_DIR", "OriginRouter", "copy_pacts", "fast_policy", "from_state", "match",
           "write_pact"]


class OriginRouter(httpx.AsyncBaseTransport):
    """Sends requests for ``origin`` (a URL the pact gives as an example, e.g. the CRM's
    ``instance_url``) to the Pact mock server instead; everything else goes through as is.
    (The FFI's MockServerURL generator panics in pact_models 1.3, so the example cannot be
    rewritten to the mock server's URL by Pact itself.)"""

    def __init__(self, origin: str, mock_url: str) -> None:
        self.origin = httpx.URL(origin)
        self.mock = httpx.URL(mock_url)
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if (url.scheme, url.host, url.port) == (self.origin.scheme, self.origin.host,
                                                 self.origin.port):
            request.url = url.copy_with(scheme=self.mock.scheme, host=self.mock.host,
                                        port=self.mock.port)
            request.headers["Host"] = self.mock.netloc.decode()
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()
