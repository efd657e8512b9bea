"""One pipeline run at a time per warehouse: an exclusive fcntl lock on <restricted>/run.lock.

A second run started meanwhile waits up to CASEHISTORY_RUN_LOCK_WAIT_SECONDS (default 600; 0 =
refuse at once) and is then refused with a message naming the run that holds the lock. The lock
is the kernel's, so it goes with the process that holds it, even one killed with SIGKILL: a crash
never leaves a stale lock behind. Readers of the published warehouse never take it.

`casehistory run` holds it around the whole DAG run. Under the Airflow scheduler nobody does, so
each DAG task takes it for its step (step_lock), unless the `casehistory run` that started it
already holds it (its pid is passed down in CASEHISTORY_RUN_LOCK_HOLDER).
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Iterator

from casehistory.settings import Settings

POLL_SECONDS = 0.5
HOLDER_ENV = "CASEHISTORY_RUN_LOCK_HOLDER"


class RunLocked(RuntimeError):
    """Another run holds the warehouse's run lock."""


def wait_seconds() -> float:
    return float(os.environ.get("CASEHISTORY_RUN_LOCK_WAIT_SECONDS", "600"))


@contextmanager
def run_lock(settings: Settings, wait: float | None = None) -> Iterator[None]:
    wait = wait_seconds() if wait is None else wait
    settings.ensure_dirs()
    path = settings.restricted_dir / "run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                    raise RunLocked(f"another pipeline run is writing to {settings.store} ({holder}); "
                                    f"waited {wait:g} s (CASEHISTORY_RUN_LOCK_WAIT_SECONDS). "
                                    "Try again when it has finished.") from None
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {datetime.now():%Y-%m-%d %H:%M:%S}\n".encode(), 0)
        os.environ[HOLDER_ENV] = str(os.getpid())  # inherited by the Airflow tasks this run starts
        try:
            yield
        finally:
            os.environ.pop(HOLDER_ENV, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def step_lock(settings: Settings) -> Iterator[None]:
    """The run lock around one step, unless the run that started this process holds it already."""
    if _held_by_our_run(settings):
        yield
        return
    with run_lock(settings):
        yield


def _held_by_our_run(settings: Settings) -> bool:
    holder = os.environ.get(HOLDER_ENV)
    path = settings.restricted_dir / "run.lock"
    if not holder or not path.exists() or not path.read_text().startswith(f"pid {holder} "):
        return False
    try:
        os.kill(int(holder), 0)  # still alive (the kernel would have freed its lock otherwise)
    except ProcessLookupError:
        return False
    return True
