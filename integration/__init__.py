"""The reference integration layer: the default system under test of o2c-harness.

``create_app(settings)`` returns its FastAPI app; ``Settings`` defaults match the local
landscape started by ``harness up``.
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

__all__ = ["Settings", "create_app"]
