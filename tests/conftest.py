"""Helpers shared by every test folder."""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from pathlib import Path

import pytest


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def pick_free_port() -> int:
    """A free 127.0.0.1 port below the kernel's ephemeral range.

    A test that hands a port to a process it starts (or binds it again after a restart)
    leaves it free for a moment. Any other test's bind to port 0, on another xdist worker,
    draws from the ephemeral range and so can never take it in that moment."""
    low = max(_ephemeral_low(), 20_001)
    for port in random.sample(range(20_000, low), k=min(200, low - 20_000)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free 127.0.0.1 port below the ephemeral range")


@pytest.fixture
def free_port() -> Callable[[], int]:
    """``free_port()``: a port for a process the test starts (see :func:`pick_free_port`)."""
    return pick_free_port
