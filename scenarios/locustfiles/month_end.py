"""Month end: customers onboard during the ramp-up, then billing's clock is closed a month
ahead every few seconds (``--o2c-close-every``, default 5 s), so every subscription's cycle
invoice is drafted at once — many invoices held, taxed, finalized and posted in a short
window. Nobody pays here: ``invoice-posting`` is the latency under test."""

from __future__ import annotations

from locust import between
from o2c_load import CustomerUser, LoadPlan, install

install(LoadPlan(name="month-end", close_every_s=5.0))


class Customer(CustomerUser):
    wait_time = between(1.0, 3.0)  # usage reports between closings
    pay_share = 0.0
