"""The canonical order-to-cash model shared by the harness, the simulators and the reference
integration layer: records, identity rules, survivorship and allowed state transitions.
"""

from __future__ import annotations

from ._base import Canonical, Erp, System, currency_exponent
from .events import CustomerOnboarded, Event, InvoicePosted, PaymentApplied
from .identity import IdentityKey, normalise_name, normalise_tax_id, same_customer
from .models import (
    Address,
    BillingAccount,
    Customer,
    Invoice,
    Payment,
    Subscription,
    TaxProfile,
    UsageRecord,
)
from .states import (
    INVOICE_TRANSITIONS,
    ONBOARDING_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    SUBSCRIPTION_TRANSITIONS,
    IllegalTransition,
    InvoiceStatus,
    OnboardingStatus,
    PaymentStatus,
    SubscriptionStatus,
    can_transition,
    transition,
)
from .survivorship import SURVIVORSHIP, merge, survive, winner

__all__ = [
    "INVOICE_TRANSITIONS", "ONBOARDING_TRANSITIONS", "PAYMENT_TRANSITIONS",
    "SUBSCRIPTION_TRANSITIONS",
    "SURVIVORSHIP", "Address", "BillingAccount", "Canonical", "Customer", "CustomerOnboarded",
    "Erp", "Event", "IdentityKey", "IllegalTransition", "Invoice", "InvoicePosted",
    "InvoiceStatus", "OnboardingStatus", "Payment", "PaymentApplied", "PaymentStatus",
    "Subscription", "SubscriptionStatus", "System", "TaxProfile", "UsageRecord",
    "can_transition", "currency_exponent", "merge", "normalise_name", "normalise_tax_id",
    "same_customer", "survive", "transition", "winner",
]
