"""Driving a server with wrk on the load CPU, bounded in time; results as a plain dict."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .reference import Exchange
from .servers import LOAD_CPU, pinned
from .stubs import wrk_script


@dataclass(frozen=True)
class LoadSettings:
    connections: int = 32
    threads: int = 1
    duration_s: float = 5.0
    timeout_s: float = 5.0  # wrk's per-request timeout

    def describe(self) -> str:
        return (f"wrk -t{self.threads} -c{self.connections} -d{self.duration_s:g}s "
                f"--timeout {self.timeout_s:g}s")


def wrk_available() -> str | None:
    return None if shutil.which("wrk") else "wrk not found (apt-get install -y wrk)"


def run_wrk(base_url: str, ex: Exchange, settings: LoadSettings,
            duration_s: float | None = None) -> dict[str, Any]:
    """Run wrk once against ``ex``; requests/s, latency percentiles (ms) and error counts."""
    duration = settings.duration_s if duration_s is None else duration_s
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "exchange.lua"
        script.write_text(wrk_script(ex))
        cmd = pinned(["wrk", f"-t{settings.threads}", f"-c{settings.connections}",
                      f"-d{max(1, round(duration))}s", "--timeout", f"{settings.timeout_s:g}s",
                      "-s", str(script), base_url + ex.path], LOAD_CPU)
        done = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=duration + settings.timeout_s + 30, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    raw = json.loads(line[len("BENCH_JSON "):])
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors",
                                  "status_errors", "timeouts"))
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 3),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": round(raw["mean_us"] / 1000, 3),
        "max_ms": raw["max_us"] / 1000,
        "errors": errors,
        "error_detail": {k: raw[k] for k in ("connect_errors", "read_errors", "write_errors",
                                             "status_errors", "timeouts") if raw[k]},
    }
