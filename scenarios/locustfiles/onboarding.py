"""Onboarding: a sales team closes deals; each customer is onboarded and subscribed through the
layer's domain API. Its first invoice (billing finalizes it at subscription) is posted to the
ERP of its legal entity: ``invoice-posting`` is measured on those."""

from __future__ import annotations

from locust import between
from o2c_load import LoadPlan, OnboardingUser, install

install(LoadPlan(name="onboarding"))


class SalesTeam(OnboardingUser):
    wait_time = between(0.5, 1.5)
