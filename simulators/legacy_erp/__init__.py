"""Legacy on-prem ERP simulator: SOAP 1.1 ``LegacyErp`` (CreateCustomer, GetCustomer,
PostInvoice, ApplyPayment, GetOpenItems) with a served WSDL, for the ``zeep`` client."""

from __future__ import annotations

from .app import LegacyErpSimulator
from .models import BatchWindow, Config

__all__ = ["BatchWindow", "Config", "LegacyErpSimulator"]
