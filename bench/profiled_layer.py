"""The reference layer under pyinstrument: ``python -m bench.profiled_layer PORT OUT.txt``.

uvicorn serving ``integration:create_app`` (settings from the ``O2C_*`` environment, as
``bench.e2e`` sets them) with a wall-clock sampling profile of the whole process, written as
text when the server stops (SIGINT/SIGTERM). For finding where the layer's time goes under
the e2e load, not for its figures (sampling costs CPU).
"""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    port, out = int(sys.argv[1]), Path(sys.argv[2])
    import uvicorn
    from pyinstrument import Profiler

    import integration  # noqa: F401  (imports before the profile: they are not the question)

    profiler = Profiler(interval=0.001, async_mode="disabled")
    profiler.start()
    try:
        uvicorn.run("integration:create_app", factory=True, host="127.0.0.1", port=port,
                    log_level="warning")
    finally:
        profiler.stop()
        out.write_text(profiler.output_text(unicode=False, color=False, show_all=False)
                       + "\n\nFlat (self time per function):\n"
                       + profiler.output_text(unicode=False, color=False, flat=True))


if __name__ == "__main__":
    main()
