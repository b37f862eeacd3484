"""Migration wave under load: customers of every legal entity are invoiced each month end and
pay; half-way through the run (``--o2c-wave-at``) the migration team moves France from the
legacy ERP to the cloud ERP with ``PUT /routing``, effective from billing's now. Invoices
finalized before the cut-over must post to the legacy ERP, later ones to the cloud ERP —
a posting anywhere else is an ``invoice-posting`` failure."""

from __future__ import annotations

from locust import between
from o2c_load import FRANCE_WAVE, CustomerUser, LoadPlan, install

install(LoadPlan(name="migration-wave", close_every_s=5.0, wave=FRANCE_WAVE))


class Customer(CustomerUser):
    wait_time = between(0.5, 1.5)
    pay_share = 0.5
