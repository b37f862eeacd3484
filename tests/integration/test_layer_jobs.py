"""The layer's background jobs (webhook work) run in a bounded pool, in arrival order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from integration.services import Services
from integration.settings import Settings


def test_jobs_past_the_bound_wait_and_start_in_arrival_order(tmp_path: Path) -> None:
    services = Services(Settings(database_url=f"sqlite:///{tmp_path / 'layer.db'}",
                                 job_concurrency=2))
    started: list[int] = []
    running = peak = 0

    async def scenario() -> list[int]:
        release = asyncio.Event()

        def job(i: int) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                nonlocal running, peak
                started.append(i)
                running += 1
                peak = max(peak, running)
                await release.wait()
                running -= 1
            return run

        try:
            for i in range(6):
                services.spawn(f"job-{i}", job(i))
            await asyncio.sleep(0.05)
            waiting_while_two_run = list(started)
            gauges = {name: services.metrics.registry.get_sample_value(name)
                      for name in ("o2c_jobs_running", "o2c_jobs_waiting")}
            assert gauges == {"o2c_jobs_running": 2, "o2c_jobs_waiting": 4}
            release.set()
            await services.drain(timeout=5)
            return waiting_while_two_run
        finally:
            await services.aclose()

    first = asyncio.run(scenario())
    assert first == [0, 1]  # two at once; the other four wait
    assert started == [0, 1, 2, 3, 4, 5]  # and start in the order they came
    assert peak == 2
    assert services.metrics.registry.get_sample_value("o2c_jobs_running") == 0


def test_a_failed_job_frees_its_slot(tmp_path: Path) -> None:
    services = Services(Settings(database_url=f"sqlite:///{tmp_path / 'layer.db'}",
                                 job_concurrency=1))
    services.db.migrate()
    done: list[str] = []

    async def scenario() -> None:
        async def fails() -> None:
            raise RuntimeError("boom")

        async def works() -> None:
            done.append("second")

        try:
            services.spawn("fails", fails)
            services.spawn("works", works)
            await services.drain(timeout=5)
        finally:
            await services.aclose()

    asyncio.run(scenario())
    assert done == ["second"]


@pytest.mark.parametrize("bad", [0, -1])
def test_job_concurrency_must_be_positive(bad: int) -> None:
    with pytest.raises(ValidationError, match="job_concurrency"):
        Settings(job_concurrency=bad)
