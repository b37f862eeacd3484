"""o2c-harness: contract-testing and simulation harness for order-to-cash integrations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("o2c-harness")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+source"

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import HarnessSettings, load_settings
    from .errors import ConfigError, GateError, HarnessError, LandscapeError, PortInUseError

# Re-exports resolved on first use (PEP 562): `harness.canonical`, which the simulators and the
# integration layer import, must not drag in `harness.config` (and through it every simulator
# package) — that made `import simulators._kit` circular and cost every layer start seconds.
_LAZY = {
    "HarnessSettings": "config", "load_settings": "config",
    "ConfigError": "errors", "GateError": "errors", "HarnessError": "errors",
    "LandscapeError": "errors", "PortInUseError": "errors",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

__all__ = [
    "ConfigError",
    "GateError",
    "HarnessError",
    "HarnessSettings",
    "LandscapeError",
    "PortInUseError",
    "__version__",
    "load_settings",
]
