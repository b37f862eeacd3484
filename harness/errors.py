"""The harness's error tree. Users see ``message`` and ``hint`` on one line each, never a
traceback, for mistakes that are theirs (bad config, busy port, nothing running).

HarnessError
├── ConfigError        bad harness.toml / HARNESS_* / flag value, unknown key
├── LandscapeError     simulators cannot start, are not running, or do not answer
│   └── PortInUseError a configured port is taken
├── GateError          a gate stage could not run
├── ContractError      pacts cannot be read, verified, published or queried
└── LoadError          a load run could not run or produced no results
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of every error the harness reports to a user."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nhint: {self.hint}"


class ConfigError(HarnessError):
    """The configuration is invalid."""


class LandscapeError(HarnessError):
    """The simulated landscape cannot be started or reached."""


class PortInUseError(LandscapeError):
    """A port the landscape needs is already taken."""


class GateError(HarnessError):
    """A stage of ``harness gate`` could not run."""


class ContractError(HarnessError):
    """Pacts cannot be read, verified, published, or the broker cannot be queried."""


class LoadError(HarnessError):
    """``harness load`` could not run Locust, or Locust produced no results."""
