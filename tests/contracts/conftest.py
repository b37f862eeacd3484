from __future__ import annotations

import os

# pact-python reports usage unless told not to; these tests run offline
os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
