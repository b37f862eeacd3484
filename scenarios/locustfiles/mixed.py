"""Mixed steady state: deals keep closing (a quarter of the users onboard new customers), the
book closes a month every 10 s, half of the invoices are paid, usage is reported throughout."""

from __future__ import annotations

from locust import between
from o2c_load import CustomerUser, LoadPlan, OnboardingUser, install

install(LoadPlan(name="mixed", close_every_s=10.0))


class SalesTeam(OnboardingUser):
    weight = 1
    wait_time = between(1.0, 3.0)


class Customer(CustomerUser):
    weight = 3
    wait_time = between(0.5, 2.0)
    pay_share = 0.5
