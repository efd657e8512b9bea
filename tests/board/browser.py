"""Headless Chromium (casehistory/board/browser.py) for the report tests: the DOM after the page's
scripts ran, a screenshot, and the boxes of the text drawn on a page."""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from casehistory.board import browser
from casehistory.settings import PROJECT_ROOT

# What the browser tests looked at (screenshots and printed PDFs of generated data, never a real
# child's) is copied here, so whoever reads a test run can open it: CASEHISTORY_TEST_ARTIFACTS, by
# default test-artifacts/ in the project (ignored by git).
ARTIFACTS = Path(os.environ.get("CASEHISTORY_TEST_ARTIFACTS", PROJECT_ROOT / "test-artifacts"))


def chromium() -> str:
    """The browser's path. Missing is a failure, not a skip: CI must run this test."""
    try:
        return browser.chromium()
    except browser.BrowserMissing as exc:
        pytest.fail(f"{exc} (`make test` installs it)")


def _run(page: Path, *args: str):
    chromium()
    return browser.run(page, *args, timeout=120)


def dump_dom(page: Path) -> str:
    proc = _run(page, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def keep(made: Path) -> Path:
    """Copy a screenshot or PDF a test made into ARTIFACTS, named by its folder and file (two reviews'
    chronology.png stay apart); returns `made`."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(made, ARTIFACTS / f"{made.parent.name}-{made.name}")
    return made


def screenshot(page: Path, out: Path, width: int = 900, height: int = 4000) -> Path:
    """A screenshot of `page` at `out`, also kept as a test artefact."""
    proc = _run(page, f"--screenshot={out}", f"--window-size={width},{height}")
    assert proc.returncode == 0 and out.exists(), proc.stderr[-2000:]
    return keep(out)


# Measures every visible line of text the page draws (a Range's client rects: one per line box, so the
# lines of one wrapped paragraph never count as overlapping each other) and writes the pairs of
# different text nodes whose rects intersect by more than a pixel each way into #text-overlaps.
_MEASURE = """<script>window.addEventListener('load', () => {
  const rects = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node, id = 0;
  while ((node = walker.nextNode())) {
    if (!node.textContent.trim() || node.parentElement.closest('script,style,title,#text-overlaps')) continue;
    // text the reader cannot see (inside a closed <details>, display:none) has no real box
    if (node.parentElement.checkVisibility && !node.parentElement.checkVisibility()) continue;
    const range = document.createRange(); range.selectNodeContents(node); id++;
    for (const r of range.getClientRects())
      if (r.width > 0 && r.height > 0)
        rects.push({id, text: node.textContent.trim().slice(0, 40), x0: r.left, x1: r.right,
                    y0: r.top + window.scrollY, y1: r.bottom + window.scrollY});
  }
  rects.sort((a, b) => a.y0 - b.y0);
  const overlaps = [];
  for (let i = 0; i < rects.length; i++)
    for (let j = i + 1; j < rects.length && rects[j].y0 < rects[i].y1 - 1; j++) {
      const a = rects[i], b = rects[j];
      if (a.id !== b.id && Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0) > 1 && Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0) > 1)
        overlaps.push([a.text, b.text]);
    }
  const out = document.createElement('pre'); out.id = 'text-overlaps';
  out.textContent = JSON.stringify({measured: rects.length, overlaps});
  document.body.appendChild(out);
});</script>"""


def text_overlaps(page: Path, width: int = 1200) -> dict:
    """{"measured": lines of text measured, "overlaps": [[text, text], ...]} of `page` laid out
    `width` pixels wide (a copy of the page with the measuring script added; the page is unchanged)."""
    html = page.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="overlaps-") as tmp:
        copy = Path(tmp) / page.name
        copy.write_text(html.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
        proc = _run(copy, "--dump-dom", f"--window-size={width},900")
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'<pre id="text-overlaps">(.*?)</pre>', proc.stdout, re.S)
    assert found, "the measuring script did not run"
    return json.loads(html_lib.unescape(found.group(1)))
