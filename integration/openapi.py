"""Export the integration API's OpenAPI to ``contracts/openapi/integration.json``.

``python -m integration.openapi [PATH]``; the drift test compares the committed file with
:func:`spec`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .app import create_app
from .settings import Settings

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "contracts" / "openapi" / "integration.json"


def spec() -> dict[str, Any]:
    """The OpenAPI document of the app (defaults; nothing is started or connected)."""
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    return app.openapi()


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(path: Path = DEFAULT_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(spec()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(export(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH))
