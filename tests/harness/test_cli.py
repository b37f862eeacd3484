"""The CLI end to end, in subprocesses, on free ports (never the defaults, which a developer's
own landscape may hold)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from simulators._kit.testing import wait_for

AUTH = {"Authorization": "Bearer sk_test_o2c_harness"}


def harness(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_sim/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    harness("down", cwd=tmp_path)  # never leave a detached landscape behind


def test_version(workdir: Path) -> None:
    result = harness("version", cwd=workdir)
    assert result.returncode == 0
    assert result.stdout.startswith("o2c-harness ")


def test_foreground_up_serves_and_ctrl_c_stops_cleanly(workdir: Path,
                                                       free_port: Callable[[], int]) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    proc = subprocess.Popen([sys.executable, "-m", "harness", "up", "--only", "billing",
                             "--port", f"billing={port}"], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: healthy(url))
        assert json.loads((workdir / ".harness" / "landscape.json").read_text())["urls"] == {
            "billing": url}
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped" in out
    assert not (workdir / ".harness" / "landscape.json").exists()


def test_port_in_use_names_port_process_and_fix(workdir: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        result = harness("up", "--only", "billing", "--port", f"billing={port}", cwd=workdir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"port {port} (billing)" in result.stderr
    assert "pid" in result.stderr
    assert "HARNESS_SIMULATORS__BILLING__PORT" in result.stderr


def test_bad_flags_are_one_line_errors(workdir: Path) -> None:
    for args, fragment in [
        (("up", "--only", "nosuch"), "unknown simulator 'nosuch'"),
        (("up", "--port", "billing=abc"), "bad --port"),
        (("status",), "no landscape running"),
        (("down",), "no landscape is running"),
    ]:
        result = harness(*args, cwd=workdir)
        assert result.returncode != 0
        assert fragment in result.stdout + result.stderr
        assert "Traceback" not in result.stderr


def test_detach_status_seed_down_and_state_survives_restart(workdir: Path,
                                                            free_port: Callable[[], int]) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    up = ["up", "--only", "billing", "--port", f"billing={port}", "--persist", "--detach"]
    result = harness(*up, cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert healthy(url)
    status = harness("status", cwd=workdir)
    assert status.returncode == 0
    assert "ok (sqlite store)" in status.stdout
    seeded = harness("seed", "--size", "5", "--only", "billing", cwd=workdir)
    assert seeded.returncode == 0, seeded.stderr
    created = httpx.post(f"{url}/v1/customers", data={"email": "durable@example.com"},
                         headers=AUTH).json()
    assert harness("down", cwd=workdir).returncode == 0
    assert not healthy(url)
    assert harness(*up, cwd=workdir).returncode == 0
    again = httpx.get(f"{url}/v1/customers/{created['id']}", headers=AUTH)
    assert again.status_code == 200
    assert again.json()["email"] == "durable@example.com"
    assert harness("down", cwd=workdir).returncode == 0


def test_ca_path_creates_a_ca_once(workdir: Path) -> None:
    first = harness("ca", "path", cwd=workdir)
    assert first.returncode == 0
    path = Path(first.stdout.strip())
    assert path.is_file() and "BEGIN CERTIFICATE" in path.read_text()
    assert harness("ca", "path", cwd=workdir).stdout.strip() == str(path)


def test_tls_landscape_is_trusted_with_the_harness_ca(workdir: Path,
                                                      free_port: Callable[[], int]) -> None:
    port = free_port()
    result = harness("up", "--only", "billing", "--port", f"billing={port}", "--tls",
                     "--detach", cwd=workdir)
    assert result.returncode == 0, result.stderr
    ca = harness("ca", "path", cwd=workdir).stdout.strip()
    for host in ("127.0.0.1", "localhost"):
        r = httpx.get(f"https://{host}:{port}/_sim/health", verify=ca)
        assert r.json()["status"] == "ok"
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"https://127.0.0.1:{port}/_sim/health")  # not trusted without the CA
