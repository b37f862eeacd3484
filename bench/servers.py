"""Starting and stopping the benchmark's servers, each as its own process group on CPU 0.

Every server is a child of the benchmark in a new session, so stopping one signals exactly
the process group it started and nothing else. A server that cannot be set up or does not
answer the reference GET in time is skipped with the reason and the tail of its log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .reference import Reference
from .stubs import fixture_spec, mountebank_config, prism_spec, wiremock_mappings

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
NODE_DIR = CACHE / "node"
# The versions PERF-NOTES measured; pinned so runs stay comparable over time.
NODE_PACKAGES = {"wiremock": "3.13.2", "mountebank": "2.9.1", "@stoplight/prism-cli": "5.14.2"}
SERVER_CPU = "0"
LOAD_CPU = "1"


class Skip(Exception):
    """A server that cannot run here; the message says why."""


def pinning_possible() -> bool:
    return shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2


def pinned(cmd: list[str], cpu: str) -> list[str]:
    return ["taskset", "-c", cpu, *cmd] if pinning_possible() else cmd


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- installing the peers --------------------------------------------------------------------
def _installed_version(package: str) -> str | None:
    manifest = NODE_DIR / "node_modules" / package / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text()).get("version"))


def ensure_node_packages(timeout_s: float = 600) -> dict[str, str]:
    """Install the pinned npm packages into ``bench/.cache/node``; package → problem."""
    problems: dict[str, str] = {}
    if shutil.which("npm") is None or shutil.which("node") is None:
        return {p: "node/npm not found on PATH" for p in NODE_PACKAGES}
    missing = [p for p, v in NODE_PACKAGES.items() if _installed_version(p) != v]
    if not missing:
        return problems
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    for package in missing:  # one at a time, so one failing package skips only its peer
        spec = f"{package}@{NODE_PACKAGES[package]}"
        print(f"  installing {spec} into {NODE_DIR.relative_to(ROOT)} ...", flush=True)
        try:
            done = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                 "--prefix", str(NODE_DIR), spec],
                capture_output=True, text=True, timeout=timeout_s, check=False,
            )
        except subprocess.TimeoutExpired:
            problems[package] = f"npm install {spec} took over {timeout_s:.0f} s"
            continue
        if done.returncode != 0:
            problems[package] = f"npm install {spec} failed: {done.stderr.strip()[-300:]}"
    return problems


# -- what each server is ---------------------------------------------------------------------
@dataclass
class Target:
    """One server of the benchmark: how to start it, and with which settings."""

    name: str
    role: str  # ours | overhead | ceiling | peer
    settings: str
    warmup_s: float
    stateful: bool = False
    version: str = ""
    setup_s: float = 60.0  # how long it may take to answer the first request


@dataclass
class Running:
    target: Target
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def python_command(app: str, port: int, ref_path: Path) -> list[str]:
    return [sys.executable, "-m", "bench.apps", app, "--port", str(port),
            "--reference", str(ref_path)]


def wiremock_command(workdir: Path, port: int, ref: Reference) -> list[str]:
    if shutil.which("java") is None:
        raise Skip("java not found on PATH")
    jars = sorted((NODE_DIR / "node_modules" / "wiremock").glob("build/wiremock-standalone-*.jar"))
    if not jars:
        raise Skip("the npm package wiremock has no standalone jar in bench/.cache/node")
    root = workdir / "wiremock"
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    (root / "__files").mkdir(exist_ok=True)
    for i, mapping in enumerate(wiremock_mappings(ref)):
        (root / "mappings" / f"customer-{i}.json").write_text(json.dumps(mapping))
    return ["java", "-jar", str(jars[-1]), "--port", str(port), "--bind-address", "127.0.0.1",
            "--no-request-journal", "--disable-banner", "--root-dir", str(root)]


def mountebank_command(workdir: Path, port: int, ref: Reference) -> list[str]:
    mb = NODE_DIR / "node_modules" / "mountebank" / "bin" / "mb"
    if not mb.exists():
        raise Skip("mountebank is not installed in bench/.cache/node")
    config = workdir / "mountebank.json"
    config.write_text(json.dumps(mountebank_config(ref, port)))
    admin = free_port()
    return ["node", str(mb), "start", "--port", str(admin), "--host", "127.0.0.1",
            "--configfile", str(config), "--noParse", "--loglevel", "warn", "--nologfile",
            "--localOnly", "--pidfile", str(workdir / "mb.pid")]


def prism_command(workdir: Path, port: int, ref: Reference, spec: dict[str, Any] | None
                  ) -> list[str]:
    cli = NODE_DIR / "node_modules" / "@stoplight" / "prism-cli" / "dist" / "index.js"
    if not cli.exists():
        raise Skip("@stoplight/prism-cli is not installed in bench/.cache/node")
    document = workdir / "prism-openapi.json"
    document.write_text(json.dumps(prism_spec(spec, ref) if spec else fixture_spec(ref)))
    return ["node", str(cli), "mock", str(document), "-h", "127.0.0.1", "-p", str(port),
            "-v", "silent"]


def _ready(running: Running, ref: Reference, deadline: float) -> None:
    ex = ref.get
    last = "no connection"
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            raise Skip(f"exited with {running.proc.returncode}: {_tail(running.log)}")
        try:
            # any HTTP answer means it serves; whether it is the right one is checked later
            # (a stateful server answers 404 until the reference customer exists)
            httpx.get(running.url + ex.path, headers=ex.request_headers, timeout=2.0)
            return
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise Skip(f"no answer to the reference GET within {running.target.setup_s:.0f} s "
               f"({last}); {_tail(running.log)}")


def _tail(log: Path, n: int = 400) -> str:
    try:
        text = log.read_text(errors="replace").strip()
    except OSError:
        return "(no log)"
    return ("log: " + text[-n:]) if text else "(empty log)"


def start(target: Target, cmd: list[str], workdir: Path, port: int, ref: Reference) -> Running:
    """Start ``cmd`` on the server CPU and wait until it answers the reference GET."""
    log = workdir / f"{target.name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(pinned(cmd, SERVER_CPU), cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    running = Running(target, port, proc, log)
    try:
        _ready(running, ref, time.monotonic() + target.setup_s)
    except BaseException:
        stop(running)
        raise
    return running


def stop(running: Running) -> None:
    """Stop the process group this benchmark started for ``running`` (and only that)."""
    proc = running.proc
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def versions() -> dict[str, str]:
    """Versions of everything measured, for the result file."""
    import platform

    import starlette
    import uvicorn

    out = {"python": platform.python_version(), "uvicorn": uvicorn.__version__,
           "starlette": starlette.__version__}
    for package in NODE_PACKAGES:
        out[package] = _installed_version(package) or "absent"
    for name, cmd in {"node": ["node", "--version"], "java": ["java", "-version"],
                      "wrk": ["wrk", "-v"]}.items():
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
            text = (done.stdout + done.stderr).strip().splitlines()
            out[name] = text[0] if text else "?"
        except (OSError, subprocess.TimeoutExpired):
            out[name] = "absent"
    try:
        import uvloop

        out["uvloop"] = str(getattr(uvloop, "__version__", "unknown"))
    except ImportError:
        out["uvloop"] = "absent"
    try:
        import httptools

        out["httptools"] = httptools.__version__
    except ImportError:
        out["httptools"] = "absent"
    return out
