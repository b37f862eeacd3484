"""Month end: customers onboard during the ramp-up, then billing's clock is closed a month
ahead every few seconds (``--o2c-close-every``, default 5 s), so every subscription's cycle
invoice is drafted at once — many invoices held, taxed, finalized and posted in a short
window. Half of the invoices are paid by card as they post (``payment-update``), the way
receipts trickle in while the run is still posting."""

from __future__ import annotations

from locust import between
from o2c_load import CustomerUser, LoadPlan, install

install(LoadPlan(name="month-end", close_every_s=5.0))


class Customer(CustomerUser):
    wait_time = between(1.0, 3.0)  # usage reports between closings
    pay_share = 0.5
