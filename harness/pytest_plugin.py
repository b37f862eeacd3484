"""The ``o2c`` pytest plugin (entry point ``pytest11``), loaded wherever o2c-harness is
installed; ``-p no:o2c`` turns it off.

Fixtures:

- ``landscape`` (session): every available simulator served from threads of this process on
  free 127.0.0.1 ports (a :class:`harness.landscape.Landscape`: ``.urls[name]``); seeded with
  ``--o2c-seed`` when given, the ``--o2c-profile`` fault profile applied when given.
- ``crm_admin``, ``billing_admin``, ``tax_admin``, ``payments_admin``, ``cloud_erp_admin``,
  ``legacy_erp_admin``: an ``httpx.Client`` on that simulator (admin API under ``/_sim/``).
- ``integration_app`` (session): the reference integration layer served on a free port and
  wired to ``landscape`` (``.url``, ``.client()``).
- ``mock_landscape``: :func:`harness.testing.mock_landscape` for one test — the vendors' real
  hosts answered in-process, no sockets.
- ``o2c_seed``, ``o2c_profile``: the values of the options.

Markers: ``contract``, ``fuzz``, ``oracle`` (select with ``-m``).

Nothing heavy is imported until a fixture is used, so the plugin costs a project's own test
run nothing when its fixtures are not requested.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx

    from .landscape import Landscape
    from .testing import MockLandscape

MARKERS = {
    "contract": "Pact contract tests (consumer or provider verification)",
    "fuzz": "schemathesis fuzzing (budgeted)",
    "oracle": "fault-matrix scenarios checked by the reconciliation oracle",
}
SIMULATOR_NAMES = ("crm", "billing", "tax", "payments", "cloud_erp", "legacy_erp")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("o2c", "o2c-harness landscape")
    group.addoption("--o2c-seed", type=int, default=None, dest="o2c_seed",
                    help="seed the `landscape` fixture's simulators with this seed "
                         "(POST /_sim/seed) and seed its fault decisions")
    group.addoption("--o2c-profile", default=None, dest="o2c_profile",
                    help="fault profile applied to every simulator of the `landscape` fixture "
                         "(flaky, slow-erp, rate-limited, outage, webhook-chaos, chaos)")


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


@pytest.fixture(scope="session")
def o2c_seed(request: pytest.FixtureRequest) -> int | None:
    """``--o2c-seed`` (None when not given)."""
    value: int | None = request.config.getoption("o2c_seed")
    return value


@pytest.fixture(scope="session")
def o2c_profile(request: pytest.FixtureRequest) -> str | None:
    """``--o2c-profile`` (None when not given)."""
    value: str | None = request.config.getoption("o2c_profile")
    return value


@pytest.fixture(scope="session")
def landscape(o2c_seed: int | None, o2c_profile: str | None) -> Iterator[Landscape]:
    """Every available simulator on free 127.0.0.1 ports, for the whole session."""
    import httpx

    import simulators

    from . import landscape as ls
    from .config import load_settings

    names = [n for n in simulators.names() if simulators.is_available(n)]
    settings = load_settings(environ={}, tls=False,
                             simulators={n: {"port": 0} for n in simulators.names()})
    with ls.start_in_process(settings, names) as scape:
        for url in scape.urls.values():
            with httpx.Client(base_url=url, timeout=60) as admin:
                if o2c_seed is not None:
                    admin.post("/_sim/seed", json={"seed": o2c_seed, "size": 20}
                               ).raise_for_status()
                if o2c_profile:
                    admin.put("/_sim/faults", json={"profile": o2c_profile,
                                                    "seed": o2c_seed or 0}).raise_for_status()
        yield scape


def _admin_fixture(name: str) -> Callable[..., Iterator[httpx.Client]]:
    def admin(landscape: Landscape) -> Iterator[httpx.Client]:
        import httpx

        if name not in landscape.urls:
            pytest.skip(f"simulator {name} is not part of this build")
        with httpx.Client(base_url=landscape.urls[name], timeout=60) as client:
            yield client

    admin.__name__ = f"{name}_admin"
    admin.__doc__ = f"An httpx client on the {name} simulator of ``landscape`` (``/_sim/``)."
    return pytest.fixture(name=f"{name}_admin")(admin)


crm_admin = _admin_fixture("crm")
billing_admin = _admin_fixture("billing")
tax_admin = _admin_fixture("tax")
payments_admin = _admin_fixture("payments")
cloud_erp_admin = _admin_fixture("cloud_erp")
legacy_erp_admin = _admin_fixture("legacy_erp")


@dataclass(frozen=True)
class IntegrationApp:
    """The reference integration layer served for the session."""

    url: str

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client of the layer, authenticated as the harness (OAuth2 client
        credentials; pass ``auth=None`` for an anonymous one)."""
        import httpx

        kwargs.setdefault("auth", self.auth())
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 60), **kwargs)

    def auth(self) -> httpx.Auth:
        """Bearer tokens of the layer's default client (the harness' test client, the one
        the layer served here accepts)."""
        from integration.auth_settings import HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET
        from scenarios.layer_auth import ClientCredentials, LayerAuth

        return LayerAuth(ClientCredentials(HARNESS_CLIENT_ID, HARNESS_CLIENT_SECRET,
                                           f"{self.url}/oauth/token"), self.url)


@pytest.fixture(scope="session")
def integration_app(landscape: Landscape) -> Iterator[IntegrationApp]:
    """The reference integration layer on a free port, wired to ``landscape``."""
    try:
        from .check import InProcessLayer
    except ImportError as exc:  # pragma: no cover - depends on the build
        pytest.skip(f"the reference integration layer is not part of this build: {exc}")
    with tempfile.TemporaryDirectory(prefix="o2c-layer-") as workdir:
        layer = InProcessLayer(dict(landscape.urls), Path(workdir))
        try:
            yield IntegrationApp(layer.url)
        finally:
            with contextlib.suppress(Exception):
                layer.stop()


@pytest.fixture
def mock_landscape() -> Iterator[MockLandscape]:
    """The vendors' real hosts answered by in-process simulators for this test."""
    from .testing import MockLandscape

    with MockLandscape() as mock:
        yield mock
