"""Data residency (issue 15): each vendor endpoint in the settings declares where it is
hosted (``region``); the policy (``residency``) says which endpoint regions may receive the
data of a customer of a region (by its country, and by its legal entity). The layer checks
*before* it sends anything:

- ``POST /customers``: the customer's data goes to tax (address resolution), billing and the
  ERP the wave plan routes its legal entity to — each must be allowed;
- ``PUT /routing``: a wave plan that would route a legal entity's postings to an ERP outside
  the regions allowed for it is refused as a whole.

A refusal is a 409 problem and an ``audit_log`` row (``residency.refused``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .settings import Settings

#: the systems onboarding sends a customer's master data to (besides the routed ERP)
ONBOARDING_SYSTEMS = ("tax", "billing")


@dataclass(frozen=True)
class Violation:
    subject: str  # what the data is about: "customer <crm id>", "legal entity FR01"
    data_region: str
    system: str
    endpoint_region: str

    def message(self) -> str:
        return (f"data of {self.subject} ({self.data_region} region) may not go to "
                f"{self.system}, hosted in region {self.endpoint_region!r}")


class ResidencyViolation(Exception):
    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.message())
        self.violation = violation


def endpoint_region(settings: Settings, system: str) -> str:
    section = getattr(settings, system)
    return str(section.region)


def check(settings: Settings, subject: str, data_regions: Iterable[str | None],
          systems: Iterable[str]) -> None:
    """Raise :class:`ResidencyViolation` for the first system the data may not go to."""
    policy = settings.residency
    regions = [r for r in dict.fromkeys(data_regions) if r is not None]
    for system in systems:
        where = endpoint_region(settings, system)
        for region in regions:
            if not policy.allows(region, where):
                raise ResidencyViolation(Violation(subject, region, system, where))


def check_customer(settings: Settings, crm_account_id: str, country: str, legal_entity: str,
                   erp: str | None) -> None:
    policy = settings.residency
    systems = [*ONBOARDING_SYSTEMS, *([erp] if erp else [])]
    check(settings, f"customer {crm_account_id}",
          [policy.region_of_country(country), policy.region_of_legal_entity(legal_entity)],
          systems)


def check_route(settings: Settings, legal_entity: str, erp: str) -> None:
    check(settings, f"legal entity {legal_entity}",
          [settings.residency.region_of_legal_entity(legal_entity)], [erp])


__all__ = ["ResidencyViolation", "Violation", "check", "check_customer", "check_route",
           "endpoint_region"]
