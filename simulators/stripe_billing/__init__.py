"""Stripe Billing simulator (registry name ``billing``), spoken to with the ``stripe`` SDK."""

from __future__ import annotations

from .app import Config, StripeSimulator

__all__ = ["Config", "StripeSimulator"]
