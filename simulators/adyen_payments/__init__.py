"""Simulated Adyen (registry name ``payments``): Checkout API v71/v72 subset, Management API
webhooks, and HMAC-signed standard notifications, for the official ``Adyen`` SDK."""

from __future__ import annotations

from .app import AdyenSimulator
from .models import Config

__all__ = ["AdyenSimulator", "Config"]
