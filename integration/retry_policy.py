"""Which failures the layer retries on its own and which go to the dead-letter queue.

- **transient**: timeouts, connection failures, 5xx, 408/425/429 (``Retry-After`` honoured by
  :class:`integration.adapters.http.RetryPolicy`). When the policy's attempts run out the work
  is *parked* (an exception record) and a sweep tries it again — never forgotten.
- **in doubt**: a non-idempotent request whose answer was lost: looked up before any retry.
- **permanent**: the vendor refused the request for good (4xx validation, business rule):
  retried unchanged it fails the same way, so it goes to the DLQ with the reason, the payload
  and the correlation id, for someone to fix the data and replay it.
"""

from __future__ import annotations

from typing import Literal

import httpx

from .adapters.http import InDoubt, TransientError, VendorError, is_transient_status

Failure = Literal["transient", "in_doubt", "permanent"]

# exception kinds (``records.exception``) that are permanent, and what a replay re-runs:
# every flow files its vendor refusals under a ``*_rejected`` kind, never retried unchanged
PERMANENT_KINDS: dict[str, str] = {
    "erp_posting_rejected": "erp.post_invoice",
    "tax_address_rejected": "customer.onboard",
    "billing_customer_rejected": "customer.onboard",
    "erp_customer_rejected": "customer.onboard",
    "payment_rejected": "payment.apply",
}
# parked transient failures a sweep retries by itself (kind → operation)
PARKED_KINDS: dict[str, str] = {
    "tax_commit_failed": "tax.commit",
}


def classify(exc: BaseException) -> Failure:
    """Transient, in doubt or permanent, for an adapter error (or a raw transport error)."""
    if isinstance(exc, InDoubt):
        return "in_doubt"
    if isinstance(exc, TransientError | httpx.TransportError):
        return "transient"
    if isinstance(exc, VendorError):
        return "transient" if is_transient_status(exc.status) else "permanent"
    return "permanent"


def failure_kind(exc: BaseException, transient_kind: str, rejected_kind: str) -> str:
    """The exception kind a flow files: ``rejected_kind`` (the DLQ) for a permanent failure,
    ``transient_kind`` (retried by a sweep) otherwise."""
    return rejected_kind if classify(exc) == "permanent" else transient_kind


def operation_for(kind: str) -> str | None:
    """The replay operation of a DLQ-bound exception kind (None: not a dead letter)."""
    return PERMANENT_KINDS.get(kind)


__all__ = ["PARKED_KINDS", "PERMANENT_KINDS", "Failure", "classify", "failure_kind",
           "operation_for"]
