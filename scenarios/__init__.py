"""Business scenarios shared by ``harness check`` (fault matrix + oracle) and the Locust load
tests. Importing this package never imports locust."""

from __future__ import annotations

from .actors import ActorError, Billing, Credentials, Crm, Endpoints, Gateway, Layer
from .definitions import (
    FRANCE_WAVE,
    SCENARIOS,
    WAVE_PLAN,
    Account,
    Scenario,
    ScenarioContext,
    ScenarioRun,
    SettleTimeout,
    WaveEntry,
    WonAccount,
    quiesce,
    wait_until,
)

__all__ = [
    "FRANCE_WAVE", "SCENARIOS", "WAVE_PLAN", "Account", "ActorError", "Billing", "Credentials",
    "Crm", "Endpoints", "Gateway", "Layer", "Scenario", "ScenarioContext", "ScenarioRun",
    "SettleTimeout", "WaveEntry", "WonAccount", "quiesce", "wait_until",
]
