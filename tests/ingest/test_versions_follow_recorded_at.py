"""A record's current version is the one the agency recorded last (recorded_at), whatever order the
files arrive or sort in (domain.md: "the entry with the later recorded_at is the newer version of
that record"). Here an amendment and its original reach the project in one drop, the amendment's
file first by name: the ledger keeps both, the original displaces nothing, a copy sent again adds
nothing, and the chronology shows the amendment."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from casehistory import warehouse
from casehistory.settings import Settings
from tests.conftest import run_pipeline
from tests.ingest.helpers import load_folder, write_csv_rows

HEADER = ["agency", "record_id", "subject_ref", "forename", "surname", "date_of_birth", "person_role",
          "event_date", "event_type", "outcome", "summary", "recorded_at"]
CHILD = ["gp", None, "GP-P1", "Maya", "Okafor", "2019-03-01", "child"]
# the gp's appointment G1 as first recorded (the evening of 1 May) and as amended on 10 May
ORIGINAL = [*CHILD[:1], "G1", *CHILD[2:], "2024-05-01", "gp_appointment", "attended", "Seen with mother",
            "01/05/2024 17:00"]
AMENDMENT = [*CHILD[:1], "G1", *CHILD[2:], "2024-05-02", "gp_appointment", "was_not_brought",
             "Amended: not brought; the entry of 1 May was another child", "10/05/2024 09:00"]


def _appointment(record_id: str, day: str, outcome: str, recorded_at: str | None = None) -> list:
    return [*CHILD[:1], record_id, *CHILD[2:], day, "gp_appointment", outcome, None, recorded_at]


def _versions(con, record_id: str) -> list[tuple]:
    return con.execute("""select version, supersedes, ledger_id, outcome, file_name from ledger.event_records
                          where record_id = ? order by version""", [record_id]).fetchall()


@pytest.fixture
def drop(tmp_path):
    """One drop: the amendment's file sorts (and so loads) before its original's."""
    folder = tmp_path / "drop"
    folder.mkdir()
    write_csv_rows(folder / "chronology_a_amend.csv", HEADER, [AMENDMENT])
    write_csv_rows(folder / "chronology_b_original.csv", HEADER, [ORIGINAL])
    return folder


def test_an_original_arriving_after_its_amendment_is_kept_and_displaces_nothing(drop, tmp_path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    load_folder(con, drop, "run1", run_date, tmp_path / "archive")
    (v1, _, amendment_id, *amended), (v2, supersedes, _, *original) = _versions(con, "G1")
    assert (v1, amended) == (1, ["was_not_brought", "chronology_a_amend.csv"])  # version counts arrivals
    assert (v2, original) == (2, ["attended", "chronology_b_original.csv"])  # nothing is lost
    assert supersedes is None  # recorded before the amendment: it displaced no version


def test_a_copy_sent_again_adds_nothing_and_a_real_change_does(drop, tmp_path, run_date):
    """Night 2 re-sends both versions of G1 as they were (each file with a new record beside it, so
    the file itself is new). Without recorded_at, arrival stands in: G5 going back to its first
    content is a change, and a new version."""
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    write_csv_rows(drop / "chronology_c_g5.csv", HEADER, [_appointment("G5", "2024-06-03", "attended")])
    load_folder(con, drop, "run1", run_date, tmp_path / "archive")
    held = _versions(con, "G1")

    night2 = tmp_path / "night2"
    night2.mkdir()
    write_csv_rows(night2 / "chronology_d_amend_again.csv", HEADER,
                   [AMENDMENT, _appointment("G3", "2024-06-01", "attended", "01/06/2024 10:00")])
    write_csv_rows(night2 / "chronology_e_original_again.csv", HEADER,
                   [ORIGINAL, _appointment("G4", "2024-06-02", "attended", "02/06/2024 10:00")])
    write_csv_rows(night2 / "chronology_f_g5.csv", HEADER, [_appointment("G5", "2024-06-03", "was_not_brought")])
    load_folder(con, night2, "run2", run_date, tmp_path / "archive")
    night3 = tmp_path / "night3"
    night3.mkdir()
    write_csv_rows(night3 / "chronology_g_g5.csv", HEADER, [_appointment("G5", "2024-06-03", "attended"),
                                                            _appointment("G6", "2024-06-04", "attended")])
    load_folder(con, night3, "run3", run_date, tmp_path / "archive")

    assert _versions(con, "G1") == held
    assert [len(_versions(con, r)) for r in ("G3", "G4")] == [1, 1]
    assert [(v, outcome) for v, _, _, outcome, _ in _versions(con, "G5")] == [
        (1, "attended"), (2, "was_not_brought"), (3, "attended")]


@pytest.mark.slow
def test_the_chronology_shows_the_amendment_that_arrived_before_its_original(drop, tmp_path, run_date):
    settings = Settings(extracts=drop, warehouse=tmp_path / "out" / "warehouse.duckdb", run_date=run_date)
    run_pipeline(settings)
    with warehouse.store(settings, read_only=True) as con:
        amendment_id = con.execute("select ledger_id from ledger.event_records where file_name = ?",
                                   ["chronology_a_amend.csv"]).fetchone()[0]
        events = con.execute("""select event_date, outcome, records, ledger_ids from marts.fct_child_events
                                where event_type = 'gp_appointment'""").fetchall()
        chronology = con.execute("""select event_date, outcome, summary, file_name from restricted.restricted_child_chronology
                                    where event_type = 'gp_appointment'""").fetchall()
    assert events == [(date(2024, 5, 2), "was_not_brought", 1, [amendment_id])]
    assert chronology == [(date(2024, 5, 2), "was_not_brought",
                           "Amended: not brought; the entry of 1 May was another child", "chronology_a_amend.csv")]
