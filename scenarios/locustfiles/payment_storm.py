"""Payment storm: month end every few seconds and every customer pays each invoice by card
as soon as it is posted, so gateway notifications arrive in bursts. ``payment-update`` (the
gateway's authorisation → paid in billing and cleared in the ERP) is the latency under
test; ``invoice-posting`` is measured too."""

from __future__ import annotations

from locust import between
from o2c_load import CustomerUser, LoadPlan, install

install(LoadPlan(name="payment-storm", close_every_s=4.0))


class PayingCustomer(CustomerUser):
    wait_time = between(0.1, 0.5)
    pay_share = 1.0
