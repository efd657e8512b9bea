"""Who sent a chronology that could not be read, and for which review.

A rejected file is not a missing chronology (../shared/domain.md, "Reviews and chronologies": "sent
but unreadable ... say why, so the right person fixes it"). The chronology template's rows name
their agency and, optionally, the review, so this reads what it can of a file the readers rejected,
leniently: any of the delimiters a spreadsheet writes, bytes that do not decode replaced, the
`agency` and `review_id` columns wherever the header puts them (first 20 lines or sheet rows). An
agency code (casehistory/reference/agencies.yml) or a declared review id in the file's name stands
in for what the rows do not say. What it finds is kept on the file's row in ledger.files (for
audit.review_readiness, through intermediate.int_chronologies__unreadable); it reads no other
column, and keeps no value but agency codes and review ids.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from pathlib import Path
from typing import Iterable, Iterator

import duckdb

from casehistory.vocabulary import agencies

log = logging.getLogger(__name__)

TEMPLATE_SOURCE = "chronology_template"
UNMATCHED = "(unmatched)"  # the source of a file no source recognised (casehistory.pipeline)
ATTRIBUTED_SOURCES = (TEMPLATE_SOURCE, UNMATCHED)
DELIMITERS = (",", ";", "\t", "|")
HEADER_LINES = 20  # where a header row is looked for
MAX_BYTES = 20 * 1024 * 1024  # of a text file read for its rows (a chronology is far smaller)
MAX_VALUES = 50  # distinct review ids kept from one file's rows
_TOKEN = re.compile(r"[^0-9a-z]+")


def attribute_rejected(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> dict:
    """The ledger.files columns saying who sent a rejected file of the chronology template (or a
    file no source recognised) and for which reviews; {} for any other source."""
    if source not in ATTRIBUTED_SOURCES:
        return {}
    try:
        return attribute(path, declared_reviews(con))
    except Exception:  # attributing serves the business manager: it must never fail the load
        log.exception("could not attribute %s to an agency", path.name)
        return {}


def declared_reviews(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The review ids of the reviews file (config.reviews, written by prepare before any load)."""
    if not con.execute("""select count(*) from information_schema.tables
                          where table_schema = 'config' and table_name = 'reviews'""").fetchone()[0]:
        return []
    return [r for (r,) in con.execute("select review_id from config.reviews order by review_id").fetchall()]


def attribute(path: Path, review_ids: Iterable[str] = ()) -> dict:
    """{sent_by_agencies, sent_for_reviews, attributed_from}: the agency codes and review ids the
    file's rows give, or failing that its name; None where neither says."""
    known = set(agencies())
    row_agencies, row_reviews = set(), set()
    try:
        for agency, review in _template_values(path):
            code = (agency or "").strip().casefold()
            if code in known:
                row_agencies.add(code)
            if review and review.strip() and len(row_reviews) < MAX_VALUES:
                row_reviews.add(review.strip())
    except Exception as exc:  # as far as the file lets it be read; its name may still say
        log.info("%s: rows read for attribution up to %s: %s", path.name, type(exc).__name__, exc)
    tokens = set(_TOKEN.split(path.stem.casefold()))
    name_agencies = {code for code in known if code in tokens}
    name_reviews = {r for r in review_ids if r.casefold() in path.name.casefold()}
    sent_by = row_agencies or name_agencies
    sent_for = row_reviews or name_reviews
    origins = [where for where, used in (("rows", row_agencies or row_reviews),
                                         ("file name", (not row_agencies and name_agencies)
                                          or (not row_reviews and name_reviews))) if used]
    return {"sent_by_agencies": sorted(sent_by) or None, "sent_for_reviews": sorted(sent_for) or None,
            "attributed_from": " and ".join(origins) or None}


def _template_values(path: Path) -> Iterator[tuple[str | None, str | None]]:
    """(agency, review_id) of each row the file lets be read; nothing when it lets none."""
    suffix = path.suffix.casefold()
    if suffix == ".xlsx":
        yield from _sheet_values(path)
    elif suffix in (".csv", ".txt", ".tsv", ""):
        yield from _text_values(path)


def _text_values(path: Path) -> Iterator[tuple[str | None, str | None]]:
    with path.open("rb") as f:
        data = f.read(MAX_BYTES)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        text = data.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    for number, line in enumerate(lines[:HEADER_LINES]):
        for delimiter in DELIMITERS:
            header = [h.strip().strip('"').casefold() for h in next(csv.reader([line], delimiter=delimiter), [])]
            if "agency" in header:
                # a row of another length than the header's would put another column's value here
                rows = csv.reader(io.StringIO("\n".join(lines[number + 1:])), delimiter=delimiter)
                yield from _columns((r for r in rows if len(r) == len(header)), header)
                return


def _sheet_values(path: Path) -> Iterator[tuple[str | None, str | None]]:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            rows = sheet.iter_rows(values_only=True)
            for _, cells in zip(range(HEADER_LINES), rows):
                header = [str(c).strip().casefold() if c is not None else "" for c in cells]
                if "agency" in header:
                    yield from _columns(([("" if c is None else str(c)) for c in r] for r in rows), header)
                    break
    finally:
        workbook.close()


def _columns(rows: Iterable[list[str]], header: list[str]) -> Iterator[tuple[str | None, str | None]]:
    agency_at = header.index("agency")
    review_at = header.index("review_id") if "review_id" in header else None
    for row in rows:
        yield (row[agency_at] if agency_at < len(row) else None,
               row[review_at] if review_at is not None and review_at < len(row) else None)
