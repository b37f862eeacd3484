"""Allowed state transitions of the canonical records, one table per lifecycle.

The integration layer moves records only through :func:`transition`; anything else is a bug
or an out-of-order message and raises :class:`IllegalTransition`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar


class SubscriptionStatus(StrEnum):
    PENDING = "pending"          # requested, not yet created in billing
    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"                  # billing drafted it; nothing decided yet
    HELD = "held"                    # waiting for tax and/or the ERP customer
    TAX_DETERMINED = "tax_determined"  # tax added in billing; ready to finalize
    FINALIZED = "finalized"          # billing finalized it; ERP posting pending
    POSTED = "posted"                # posted in the ERP; tax committed
    PAID = "paid"                    # payment applied in billing and cleared in the ERP
    VOID = "void"


class PaymentStatus(StrEnum):
    RECEIVED = "received"    # gateway says the money is captured/authorised
    BUFFERED = "buffered"    # its invoice is not posted yet: applied after posting
    APPLIED = "applied"      # paid in billing and cleared in the ERP
    FAILED = "failed"        # the gateway reported failure; nothing to apply


class OnboardingStatus(StrEnum):
    RECEIVED = "received"
    BILLING_CREATED = "billing_created"
    ONBOARDED = "onboarded"  # billing customer, tax profile and ERP customer all exist


SUBSCRIPTION_TRANSITIONS: dict[SubscriptionStatus, frozenset[SubscriptionStatus]] = {
    SubscriptionStatus.PENDING: frozenset({SubscriptionStatus.ACTIVE,
                                           SubscriptionStatus.CANCELED}),
    SubscriptionStatus.ACTIVE: frozenset({SubscriptionStatus.PAST_DUE,
                                          SubscriptionStatus.CANCELED}),
    SubscriptionStatus.PAST_DUE: frozenset({SubscriptionStatus.ACTIVE,
                                            SubscriptionStatus.CANCELED}),
    SubscriptionStatus.CANCELED: frozenset(),
}

INVOICE_TRANSITIONS: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.HELD, InvoiceStatus.TAX_DETERMINED,
                                    InvoiceStatus.FINALIZED, InvoiceStatus.VOID}),
    InvoiceStatus.HELD: frozenset({InvoiceStatus.TAX_DETERMINED, InvoiceStatus.FINALIZED,
                                   InvoiceStatus.VOID}),
    InvoiceStatus.TAX_DETERMINED: frozenset({InvoiceStatus.FINALIZED, InvoiceStatus.VOID}),
    # billing may finalize on its own (first invoice of a subscription): posting still follows
    InvoiceStatus.FINALIZED: frozenset({InvoiceStatus.POSTED, InvoiceStatus.VOID}),
    InvoiceStatus.POSTED: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}

PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    PaymentStatus.RECEIVED: frozenset({PaymentStatus.BUFFERED, PaymentStatus.APPLIED,
                                       PaymentStatus.FAILED}),
    PaymentStatus.BUFFERED: frozenset({PaymentStatus.APPLIED, PaymentStatus.FAILED}),
    PaymentStatus.APPLIED: frozenset(),
    PaymentStatus.FAILED: frozenset(),
}

ONBOARDING_TRANSITIONS: dict[OnboardingStatus, frozenset[OnboardingStatus]] = {
    OnboardingStatus.RECEIVED: frozenset({OnboardingStatus.BILLING_CREATED,
                                          OnboardingStatus.ONBOARDED}),
    OnboardingStatus.BILLING_CREATED: frozenset({OnboardingStatus.ONBOARDED}),
    OnboardingStatus.ONBOARDED: frozenset(),
}

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(ValueError):
    """A record was asked to move to a state its lifecycle does not allow from where it is."""

    def __init__(self, kind: str, current: str, target: str) -> None:
        super().__init__(f"{kind}: {current} → {target} is not an allowed transition")
        self.kind = kind
        self.current = current
        self.target = target


def can_transition(table: dict[S, frozenset[S]], current: S, target: S) -> bool:
    """Whether ``current → target`` is allowed (staying put is always allowed)."""
    return current == target or target in table[current]


def transition(table: dict[S, frozenset[S]], current: S, target: S, kind: str = "record") -> S:
    """``target`` when the move is allowed, else :class:`IllegalTransition`."""
    if not can_transition(table, current, target):
        raise IllegalTransition(kind, current.value, target.value)
    return target


def is_at_or_after(order: list[S], current: S, milestone: S) -> bool:
    """Whether ``current`` is ``milestone`` or a later state in the linear ``order``."""
    return current in order and order.index(current) >= order.index(milestone)


INVOICE_ORDER: list[InvoiceStatus] = [InvoiceStatus.DRAFT, InvoiceStatus.HELD,
                                      InvoiceStatus.TAX_DETERMINED, InvoiceStatus.FINALIZED,
                                      InvoiceStatus.POSTED, InvoiceStatus.PAID]
