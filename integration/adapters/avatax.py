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

    @staticmethod
    def _model(doc_type: str, *, company_code: str, customer_code: str, currency: str,
               net_minor: int, on: date, address: dict[str, Any], tax_code: str,
               description: str, exemption_no: str | None) -> dict[str, Any]:
        model: dict[str, Any] = {
            "type": doc_type, "companyCode": company_code,
            "date": on.isoformat(), "customerCode": customer_code, "currencyCode": currency,
            "commit": False,
            "addresses": {"singleLocation": {
                "line1": address.get("line1") or "", "city": address.get("city") or "",
                "region": address.get("region") or "",
                "postalCode": address.get("postal_code") or "",
                "country": address.get("country") or ""}},
            "lines": [{"number": "1", "quantity": 1,
                       "amount": float(to_decimal(net_minor, currency)),
                       "taxCode": tax_code, "description": description}],
        }
        if exemption_no:
            model["exemptionNo"] = exemption_no
        return model

    async def determine_tax(self, *, code: str, company_code: str, customer_code: str,
                            currency: str, net_minor: int, on: date,
                            address: dict[str, Any], tax_code: str,
                            exemption_no: str | None = None) -> dict[str, Any]:
        """A SalesInvoice for the invoice's net amount, uncommitted until posted."""
        model = self._model("SalesInvoice", company_code=company_code,
                            customer_code=customer_code, currency=currency,
                            net_minor=net_minor, on=on, address=address, tax_code=tax_code,
                            description=f"Invoice {code}", exemption_no=exemption_no)
        model["code"] = code
        response = await self.send("POST", "/api/v2/transactions/createoradjust",
                                   json={"createTransactionModel": model})
        return response.json()  # type: ignore[no-any-return]

    async def estimate_tax(self, *, company_code: str, customer_code: str, currency: str,
                           net_minor: int, on: date, address: dict[str, Any], tax_code: str,
                           description: str, exemption_no: str | None = None
                           ) -> dict[str, Any]:
        """A SalesOrder: the tax of an amount for the customer's address (and exemption
        certificates), computed but never persisted (AvaTax's estimate)."""
        model = self._model("SalesOrder", company_code=company_code,
                            customer_code=customer_code, currency=currency,
                            net_minor=net_minor, on=on, address=address, tax_code=tax_code,
                            description=description, exemption_no=exemption_no)
        response = await self.send("POST", "/api/v2/transactions/create", json=model)
        return response.json()  # type: ignore[no-any-return]

    async def commit(self, company_code: str, code: str) -> dict[str, Any]:
        response = await self.send(
            "POST", f"/api/v2/companies/{company_code}/transactions/{code}/commit",
            json={"commit": True})
        return response.json()  # type: ignore[no-any-return]
