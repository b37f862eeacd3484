"""Tax adapter in AvaTax REST v2's dialect: HTTP Basic ``accountId:licenseKey``, address
resolution, ``createoradjust`` keyed by the billing invoice id (so a repeat adjusts the same
document instead of creating a second), commit; AvaTax's error body."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from .http import Adapter, VendorError
from .money import to_decimal


class AvaTax(Adapter):
    system = "tax"

    def vendor_error(self, response: httpx.Response) -> VendorError:
        try:
            err = response.json().get("error", {})
        except ValueError:
            err = {}
        return VendorError(self.system, response.status_code,
                           err.get("code") or str(response.status_code),
                           err.get("message") or response.text[:300], err)

    async def resolve_address(self, address: dict[str, Any]) -> dict[str, Any]:
        body = {"line1": address.get("line1") or "", "city": address.get("city") or "",
                "region": address.get("region") or "",
                "postalCode": address.get("postal_code") or "",
                "country": address.get("country") or "", "textCase": "Mixed"}
        response = await self.send("POST", "/api/v2/addresses/resolve", json=body)
        return response.json()  # type: ignore[no-any-return]

    async def determine_tax(self, *, code: str, company_code: str, customer_code: str,
                            currency: str, net_minor: int, on: date,
                            address: dict[str, Any], tax_code: str,
                            exemption_no: str | None = None) -> dict[str, Any]:
        """A SalesInvoice for the invoice's net amount, uncommitted until posted."""
        model: dict[str, Any] = {
            "type": "SalesInvoice", "code": code, "companyCode": company_code,
            "date": on.isoformat(), "customerCode": customer_code, "currencyCode": currency,
            "commit": False,
            "addresses": {"singleLocation": {
                "line1": address.get("line1") or "", "city": address.get("city") or "",
                "region": address.get("region") or "",
                "postalCode": address.get("postal_code") or "",
                "country": address.get("country") or ""}},
            "lines": [{"number": "1", "quantity": 1,
                       "amount": float(to_decimal(net_minor, currency)),
                       "taxCode": tax_code, "description": f"Invoice {code}"}],
        }
        if exemption_no:
            model["exemptionNo"] = exemption_no
        response = await self.send("POST", "/api/v2/transactions/createoradjust",
                                   json={"createTransactionModel": model})
        return response.json()  # type: ignore[no-any-return]

    async def commit(self, company_code: str, code: str) -> dict[str, Any]:
        response = await self.send(
            "POST", f"/api/v2/companies/{company_code}/transactions/{code}/commit",
            json={"commit": True})
        return response.json()  # type: ignore[no-any-return]
