"""One consistent, realistic business spread over the landscape, from one seed.

``generate_business`` makes the business (pure data, deterministic); ``seed_landscape``
writes it into running or in-process simulators through their admin APIs and returns the
snapshot checksums that ``write_manifest`` records in ``reports/<run-id>/landscape.json``.
"""

from .generate import generate_business
from .model import (
    DEFAULT_LOCALES,
    DEFAULT_SEED_DATE,
    DEFAULT_WAVE_PLAN,
    Business,
    BusinessOptions,
    Customer,
    Dirtiness,
    WaveStep,
)
from .seeding import SeedResult, http_clients, in_process_clients, seed_landscape, write_manifest

__all__ = [
    "DEFAULT_LOCALES", "DEFAULT_SEED_DATE", "DEFAULT_WAVE_PLAN", "Business", "BusinessOptions",
    "Customer", "Dirtiness", "SeedResult", "WaveStep", "generate_business", "http_clients",
    "in_process_clients", "seed_landscape", "write_manifest",
]
