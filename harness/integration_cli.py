"""``harness integration …``: run the reference integration layer on its own (a Typer sub-app
mounted by ``harness.cli``). ``harness up`` starts it with the simulators already."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import simulators
from simulators._kit import PortInUseError as _KitPortInUse
from simulators._kit import bind, serve_all
from simulators._kit.server import run_async

from . import landscape as ls
from . import layer_tls
from .config import load_settings
from .errors import LandscapeError, PortInUseError

integration_app = typer.Typer(no_args_is_help=True,
                              help="The reference integration layer (the default system "
                                   "under test).")
out = Console()


@integration_app.command("serve")
def serve(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="settings file")] = None,
) -> None:
    """Serve the layer alone on ``integration.url``, wired to the running landscape (or to
    the simulators' configured ports when none is recorded)."""
    try:
        from integration import create_app
    except ImportError:
        raise LandscapeError("the reference integration layer is not part of this build",
                             "point integration.url at your own layer instead") from None
    settings = load_settings(config)
    running = ls.read_state(settings)
    scheme = "https" if settings.tls else "http"
    urls = dict(running.urls) if running else {
        name: f"{scheme}://{settings.host}:{settings.simulator(name).port}"
        for name in simulators.names()}
    layer = ls.layer_settings(ls.integration_settings(settings, urls))
    port = settings.integration.url.port or 8100
    try:
        sock = bind(settings.host, port)
    except _KitPortInUse:
        raise PortInUseError(f"port {port} (integration layer) on {settings.host} is in use",
                             "is `harness up` already serving the layer?") from None
    served = layer_tls.served(settings, "integration", create_app(layer), sock)
    out.print(f"integration layer on {served.url} (simulators: "
              f"{'running landscape' if running else 'configured ports'}); Ctrl-C to stop")
    run_async(serve_all([served], log_level=settings.log_level))
    out.print("stopped")
