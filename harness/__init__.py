"""o2c-harness: contract-testing and simulation harness for order-to-cash integrations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("o2c-harness")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+source"

from .config import HarnessSettings, load_settings
from .errors import ConfigError, GateError, HarnessError, LandscapeError, PortInUseError

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
