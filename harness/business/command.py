"""``harness seed --customers N``: option parsing and the run, for the CLI to call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from ..errors import ConfigError
from .model import DEFAULT_WAVE_PLAN, BusinessOptions, Dirtiness, ErpName, WaveStep
from .seeding import Progress, SeedResult, http_clients, seed_landscape, write_manifest


def parse_dirty(items: Sequence[str]) -> dict[str, float]:
    """``knob=p`` items (``--dirty long_name=0.3``) → overrides of the uniform dirtiness."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"bad --dirty {item!r}", "use KNOB=PROBABILITY, e.g. "
                              "--dirty long_name=0.3")
    return out


def parse_wave_plan(text: str | None) -> tuple[WaveStep, ...]:
    """``US01=legacy_erp,DE01=cloud_erp,FR01=cloud_erp@2025-10-01`` (entity=erp[@from])."""
    if not text:
        return DEFAULT_WAVE_PLAN
    steps = []
    erps = get_args(ErpName)
    for item in text.split(","):
        entity, sep, rest = item.strip().partition("=")
        erp, _, day = rest.partition("@")
        try:
            effective = dt.date.fromisoformat(day) if day else dt.date(2000, 1, 1)
        except ValueError:
            sep = ""
        if not sep or erp not in erps:
            raise ConfigError(f"bad --wave-plan entry {item!r}",
                              f"use ENTITY=ERP[@YYYY-MM-DD] with ERP one of {', '.join(erps)}")
        steps.append(WaveStep(entity.strip().upper(), erp, effective))  # type: ignore[arg-type]
    return tuple(steps)


@dataclass
class SeedRun:
    result: SeedResult
    manifest: Path


def build_options(*, seed: int, customers: int, locales: Sequence[str], dirtiness: float,
                  dirty: Sequence[str], seed_date: str | None, history_months: int,
                  wave_plan: str | None) -> BusinessOptions:
    try:
        day = dt.date.fromisoformat(seed_date) if seed_date else BusinessOptions.seed_date
        knobs = Dirtiness.uniform(dirtiness).with_overrides(parse_dirty(dirty))
    except ValueError as exc:
        raise ConfigError(str(exc), "see `harness seed --help`") from None
    return BusinessOptions(seed=seed, customers=customers, locales=tuple(locales),
                           dirtiness=knobs, seed_date=day, history_months=history_months,
                           wave_plan=parse_wave_plan(wave_plan))


def run_seed(urls: dict[str, str], verify: str | bool, options: BusinessOptions,
             report_dir: Path, run_id: str | None = None, *, freeze_clock: bool = False,
             progress: Progress | None = None) -> SeedRun:
    """Seed the running simulators at ``urls`` and write the manifest."""
    try:
        with http_clients(urls, verify) as clients:
            result = seed_landscape(clients, options, freeze_clock=freeze_clock,
                                    progress=progress)
    except ValueError as exc:  # e.g. an unsupported locale
        raise ConfigError(str(exc), "check --locales") from None
    run_id = run_id or dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return SeedRun(result, write_manifest(result, report_dir, run_id))
