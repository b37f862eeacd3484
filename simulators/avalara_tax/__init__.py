"""Simulated Avalara AvaTax REST v2 (registry name ``tax``); the official ``avalara`` SDK
works against it unchanged: ``AvataxClient(..., environment=<simulator url>)``."""

from __future__ import annotations

from .app import AvalaraSimulator, Config

__all__ = ["AvalaraSimulator", "Config"]
