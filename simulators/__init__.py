"""Simulated vendor systems, one sub-package each, all built on ``simulators._kit``.

Only this registry and each package's ``Simulator``/``Config`` are public: the harness starts
simulators through it and talks to them over HTTP.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._kit import Simulator, SimulatorConfig

# name → (module, Simulator class, default port, dialect)
REGISTRY: dict[str, tuple[str, str, int, str]] = {
    "crm": ("simulators.salesforce_crm", "SalesforceSimulator", 8101, "Salesforce REST"),
    "billing": ("simulators.stripe_billing", "StripeSimulator", 8102, "Stripe API"),
    "tax": ("simulators.avalara_tax", "AvalaraSimulator", 8103, "AvaTax REST v2"),
    "payments": ("simulators.adyen_payments", "AdyenSimulator", 8104, "Adyen Checkout"),
    "cloud_erp": ("simulators.s4hana_erp", "S4HanaSimulator", 8105, "SAP S/4HANA OData v2"),
    "legacy_erp": ("simulators.legacy_erp", "LegacyErpSimulator", 8106, "SOAP 1.1"),
}


def names() -> list[str]:
    return list(REGISTRY)


def is_available(name: str) -> bool:
    """Whether the simulator's package is present in this build (and exports its class)."""
    module, cls, _, _ = REGISTRY[name]
    if importlib.util.find_spec(module) is None:
        return False
    return hasattr(importlib.import_module(module), cls)


def simulator_class(name: str) -> type[Simulator]:
    module, cls, _, _ = REGISTRY[name]
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def config_class(name: str) -> type[SimulatorConfig]:
    return simulator_class(name).config_class


def default_port(name: str) -> int:
    return REGISTRY[name][2]


__all__ = ["REGISTRY", "config_class", "default_port", "is_available", "names", "simulator_class"]
