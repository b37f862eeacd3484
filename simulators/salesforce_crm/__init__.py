"""Simulated Salesforce CRM: the REST API subset ``simple-salesforce`` needs, in Salesforce's
own dialect (OAuth2 token, sObject CRUD and upsert, SOQL, composite, limits, change events).
"""

from __future__ import annotations

from .app import SalesforceSimulator
from .models import Config

__all__ = ["Config", "SalesforceSimulator"]
