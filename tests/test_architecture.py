"""The import rules of ARCHITECTURE.md, checked on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> list[tuple[Path, str]]:
    found = []
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.extend((path, alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


def _top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize(("package", "forbidden"), [
    ("simulators", {"integration"}),
    ("integration", {"simulators"}),
])
def test_layers_do_not_cross(package: str, forbidden: set[str]) -> None:
    bad = [(p.relative_to(ROOT), m) for p, m in _imports(package) if _top(m) in forbidden]
    assert bad == []


@pytest.mark.parametrize("package", ["simulators", "integration"])
def test_only_the_canonical_model_is_shared_from_harness(package: str) -> None:
    bad = [(p.relative_to(ROOT), m) for p, m in _imports(package)
           if _top(m) == "harness" and not m.startswith("harness.canonical")]
    assert bad == []


def test_vendor_packages_do_not_import_each_other() -> None:
    vendors = {p.name for p in (ROOT / "simulators").iterdir()
               if p.is_dir() and not p.name.startswith("_") and (p / "__init__.py").exists()}
    bad = []
    for path, module in _imports("simulators"):
        parts = module.split(".")
        if len(parts) > 1 and parts[0] == "simulators" and parts[1] in vendors:
            owner = path.relative_to(ROOT / "simulators").parts[0]
            if parts[1] != owner:
                bad.append((path.relative_to(ROOT), module))
    assert bad == []
