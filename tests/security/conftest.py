"""Shared by the security tests: one whole ``harness gate`` run per session, grepped by
``test_pii`` (PII) and ``test_secrets`` (credentials)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

import simulators

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def gate_run(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """One whole ``harness gate --quick`` (every stage: landscape, seed, smoke, the reference
    layer, contracts, fuzz, a fault-matrix cell, load) in a subprocess; the layer logs at info
    (``O2C_LOG_LEVEL``); stdout and stderr to files. ~1.5 minutes on 2 cores: the acceptance
    run of issue 15, run once per session and shared by every test that greps it (xdist
    workers share it through a file lock in their common base directory)."""
    root = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):  # an xdist worker: the workers' common parent
        root = root.parent
    work = root / "security-gate-run"
    with FileLock(str(root / "security-gate-run.lock")):
        if not (work / "exit_code").exists():
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            _run_gate(work)
    return work


def _run_gate(work: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "O2C_"))}
    env.update({"CI": "true", "HARNESS_REPORT_DIR": str(work / "reports"),
                "HARNESS_STATE_DIR": str(work / "state"), "HARNESS_LOG_LEVEL": "info",
                "O2C_LOG_LEVEL": "info",
                **{f"HARNESS_SIMULATORS__{n.upper()}__PORT": "0" for n in simulators.names()}})
    with (work / "stdout.log").open("wb") as out, (work / "stderr.log").open("wb") as err:
        proc = subprocess.run([sys.executable, "-m", "harness", "gate", "--quick"], cwd=ROOT,
                              env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                              timeout=900, check=False)
    (work / "exit_code").write_text(str(proc.returncode))
