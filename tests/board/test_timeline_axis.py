"""A timeline's axis ends where the child's data ends (a plan still open does not stretch it to
today), and its referral labels are placed so that none collides with another."""

from __future__ import annotations

import re
from datetime import date, timedelta

from casehistory.board.timeline import LABEL_CHAR_PX, ChildTimeline, Event, PlanBand, _label_rows, render_svg


def _child(referral_days: list[date], open_plan: bool = True) -> ChildTimeline:
    events = [Event(d, "referral", "early_help", ["police"], False, []) for d in referral_days]
    events.append(Event(date(2024, 3, 1), "home_visit", "completed", ["hv"], False, []))
    return ChildTimeline("k", "n", None, events, [PlanBand("cin", date(2023, 5, 1), None if open_plan else date(2023, 9, 1))])


def test_the_axis_ends_on_the_last_dated_fact_not_today():
    svg = render_svg(_child([date(2023, 6, 1)]), today=date(2026, 1, 15))
    axis = re.search(r'class="axis" data-first="([\d-]+)" data-last="([\d-]+)"', svg)
    assert axis.groups() == ("2023-05-01", "2024-03-01")
    ticks = re.findall(r'class="tick"[^>]*>([^<]+)<', svg)
    assert ticks and not [t for t in ticks if t.endswith(("2025", "2026"))]
    assert "still open on 15 Jan 2026" in svg  # the open plan says so instead


def test_referral_labels_on_the_same_row_never_overlap():
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(8)]
    labels = [(100 + 3 * i, f"{i + 1}: passed to early help") for i in range(len(days))]
    rows = _label_rows(labels)
    spans = [(cx - len(t) * LABEL_CHAR_PX / 2, cx + len(t) * LABEL_CHAR_PX / 2) for cx, t in labels]
    for i in range(len(labels)):
        for j in range(i + 1, len(labels)):
            if rows[i] == rows[j]:
                assert spans[i][1] <= spans[j][0] or spans[j][1] <= spans[i][0]
    assert len(set(rows)) == len(labels)  # this close, each needs a row of its own
    svg = render_svg(_child(days), today=date(2026, 1, 15))
    ys = re.findall(r'class="referral-label" x="[\d.]+" y="([\d.]+)"', svg)
    assert len(set(ys)) == len(days)
