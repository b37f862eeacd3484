"""Every package imports on its own, first, in a fresh interpreter (no circular imports).

pytest hides an import cycle: its plugins import `harness` before any test module does, so a
package that only imports when something else came first passes every other test.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import simulators

FIRST_IMPORTS = [
    "simulators._kit",
    "integration",
    *(module for module, _cls, _port, _dialect in simulators.REGISTRY.values()),
]


@pytest.mark.parametrize("module", FIRST_IMPORTS)
def test_imports_first_in_a_fresh_interpreter(module):
    done = subprocess.run([sys.executable, "-c", f"import {module}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_harness_canonical_does_not_load_the_harness_config():
    # the simulators and the layer import harness.canonical; it must stay light
    code = ("import sys, harness.canonical; "
            "print('harness.config' in sys.modules, 'simulators' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]
