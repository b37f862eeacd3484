"""The reconciliation oracle: reads every system of record after a run and checks that the
business holds — every finalized invoice posted exactly once in the right ERP with the right
amounts and tax, every settled payment applied, no orphan or duplicated customers, correlation
ids end to end, and everything not done in the DLQ with a reason.

``reconcile(StateReader(endpoints, since).read(), Expectations(wave_plan, url))``
"""

from __future__ import annotations

from .checks import CHECKS, Breach, CheckOutcome, Expectations, Reconciliation, reconcile
from .state import LandscapeState, StateReader

__all__ = ["CHECKS", "Breach", "CheckOutcome", "Expectations", "LandscapeState",
           "Reconciliation", "StateReader", "reconcile"]
