"""Export the canonical model's JSON Schemas to ``contracts/schemas/``.

``python -m harness.canonical.export [DIR]`` writes one ``<Model>.json`` per model; the
drift test compares the committed files with :func:`schemas`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .events import EVENT_MODELS
from .models import ALL_MODELS

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "contracts" / "schemas"


def schemas() -> dict[str, dict[str, Any]]:
    """File name → JSON Schema (validation mode) of every canonical model and event."""
    out: dict[str, dict[str, Any]] = {}
    for model in (*ALL_MODELS, *EVENT_MODELS):
        schema = model.model_json_schema(mode="serialization")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://o2c-harness.dev/schemas/{model.__name__}.json"
        out[f"{model.__name__}.json"] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(directory: Path = DEFAULT_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = directory / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for path in export(Path(args[0]) if args else DEFAULT_DIR):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
