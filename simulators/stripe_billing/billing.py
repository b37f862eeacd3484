"""Billing behaviour of the Stripe backend, composed from its parts: subscriptions and
cycles (``subscriptions``), invoice items and invoices (``invoices``), credit notes
(``credit_notes``)."""

from __future__ import annotations

from .credit_notes import CreditNotesMixin
from .invoices import InvoicesMixin
from .subscriptions import SubscriptionsMixin


class BillingMixin(SubscriptionsMixin, InvoicesMixin, CreditNotesMixin):
    """Mixed into :class:`~.models.StripeBackend`."""


__all__ = ["BillingMixin"]
