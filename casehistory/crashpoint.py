"""A test-only pause at a named point, so the crash-safety test can SIGKILL the pipeline there.

With CASEHISTORY_CRASH_PAUSE=<point> (or <point>#<n>: the n-th time it is reached), the process
writes the point's name to the file CASEHISTORY_CRASH_MARKER and sleeps until it is killed.
Unset, as it always is outside tests/pipeline/test_crash_safety.py, it does nothing.
Points: ingest (a file's ledger transaction half written), link (identity half written),
publish (the new analyst file half copied).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

_reached: Counter[str] = Counter()


def pause_here(point: str) -> None:
    wanted = os.environ.get("CASEHISTORY_CRASH_PAUSE")
    if not wanted or wanted.split("#")[0] != point:
        return
    _reached[point] += 1
    if _reached[point] != int(wanted.partition("#")[2] or 1):
        return
    Path(os.environ["CASEHISTORY_CRASH_MARKER"]).write_text(point)
    time.sleep(600)
    raise RuntimeError(f"crash point {point} was never killed")  # never carry on as if nothing happened
