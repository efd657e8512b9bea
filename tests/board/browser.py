"""Headless Chromium (Debian's `chromium` package; `make test` installs it when missing) for the
report tests: the DOM after the page's scripts ran, and a screenshot."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser")


def chromium() -> str:
    """The browser's path. Missing is a failure, not a skip: CI must run this test."""
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    pytest.fail("headless Chromium not found: `make test` installs Debian's chromium package "
                "(apt-get install -y chromium)")


def _run(page: Path, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args, page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120)


def dump_dom(page: Path) -> str:
    proc = _run(page, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def screenshot(page: Path, out: Path, width: int = 900, height: int = 4000) -> Path:
    proc = _run(page, f"--screenshot={out}", f"--window-size={width},{height}")
    assert proc.returncode == 0 and out.exists(), proc.stderr[-2000:]
    return out
