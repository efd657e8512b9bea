"""Headless Chromium (Debian's `chromium` package; `make browser` installs it): the review
chronology's PDF is printed with it, and the report tests read pages with it
(tests/board/browser.py). One place that knows how to start it."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser")


class BrowserMissing(RuntimeError):
    """No headless Chromium on this machine."""


def chromium() -> str:
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    raise BrowserMissing("headless Chromium not found: install Debian's chromium package "
                         "(make browser, or apt-get install -y chromium)")


def run(page: Path, *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    """Open `page` in a throwaway profile with `args` (--dump-dom, --screenshot=..., --print-to-pdf=...)."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args, page.resolve().as_uri()],
            capture_output=True, text=True, timeout=timeout)


def print_pdf(page: Path, out: Path) -> Path:
    """Print `page` as the browser prints it (its @page size and margins), without header or footer."""
    out.unlink(missing_ok=True)
    proc = run(page, f"--print-to-pdf={out}", "--no-pdf-header-footer")
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise RuntimeError(f"Chromium could not print {page.name}: {proc.stderr[-1000:]}")
    return out


def pdf_pages(pdf: Path) -> int:
    """Pages in a PDF Chromium printed (it writes each page object uncompressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf.read_bytes()))
