"""Simulated SAP S/4HANA Cloud: OData v2 business partner, journal entry and incoming payment
services that the ``pyodata`` client drives unchanged (registry name ``cloud_erp``)."""

from __future__ import annotations

from .app import S4HanaSimulator
from .config import CompanyCode, Config

__all__ = ["CompanyCode", "Config", "S4HanaSimulator"]
