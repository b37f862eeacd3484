"""Work around CPython gh-106905 while fuzzing (3.11.0-3.11.7, 3.12.0-3.12.1).

On those versions the AST constructor tracks its recursion depth in interpreter-global
state. When the GIL is released during ``ast.parse`` (a garbage collection running a
finalizer), another thread's ``ast.parse`` resets that depth and the first one fails with
``SystemError: AST constructor recursion depth mismatch``. The gate serves simulators and the
layer in threads of its own process and every logged traceback parses source (3.11's caret
anchors), so schemathesis' stateful phase — hypothesis hashes the state machine with
``inspect.getsource``, which parses the module — crashed at random. Fixed upstream in 3.11.8 /
3.12.2 (python/cpython#113476, #113472).

:func:`serialize_ast_parse` puts one process-wide re-entrant lock around ``ast.parse`` (what
``inspect`` and ``traceback`` call) on the affected versions only; elsewhere it does nothing.
"""

from __future__ import annotations

import ast
import sys
import threading
from typing import Any

#: the versions with the race (fixed in 3.11.8 and 3.12.2)
AFFECTED = (((3, 11, 0) <= sys.version_info[:3] < (3, 11, 8))
            or ((3, 12, 0) <= sys.version_info[:3] < (3, 12, 2)))
#: how the crash reads in an engine error, for reporting it as what it is
SIGNATURE = "AST constructor recursion depth mismatch"
_LOCK = threading.RLock()


def serialize_ast_parse() -> bool:
    """Install the lock around ``ast.parse`` (once); True when this Python needs it."""
    if not AFFECTED:
        return False
    parse = ast.parse
    if getattr(parse, "_o2c_serialized", False):
        return True

    def serialized(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return parse(*args, **kwargs)

    serialized._o2c_serialized = True  # type: ignore[attr-defined]
    serialized.__wrapped__ = parse  # type: ignore[attr-defined]
    ast.parse = serialized
    return True


def explain(error: str) -> str:
    """The gate's wording for an engine error that is this CPython bug, else ``error``."""
    if SIGNATURE not in error:
        return error
    return (f"schemathesis' stateful phase crashed inside CPython "
            f"{'.'.join(map(str, sys.version_info[:3]))} (gh-106905, fixed in 3.11.8: "
            f"'{SIGNATURE}'), so the stateful phase was skipped; the other phases ran")
