"""SSDA903 files are known by their header, whatever their name; an episode is a change within a
period of care unless it starts one (RNE S), and a period ends only with a reason other than X1."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.detect import match
from ingest.readers import FileRejected, read
from tests.ingest.helpers import load_files, registry, write_csv_rows as write

EPISODES = ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC", "REASON_PLACE_CHANGE",
            "HOME_POST", "PL_POST", "URN"]


def episode(child, decom, rne, ls, dec="", rec="") -> list[str]:
    return [child, decom, rne, ls, "N1", "U1", "PR1", dec, rec, "", "", "", ""]


def _load(tmp_path: Path, *paths: Path, run_date):
    con = duckdb.connect(str(tmp_path / "store.duckdb"))
    return con, load_files(con, registry()["ssda903"], list(paths), run_date, tmp_path / "archive")


def test_a_903_file_with_an_unknown_header_is_rejected_naming_its_columns(tmp_path, run_date):
    path = write(tmp_path / "episodes.csv", ["CHILD", "START", "PLACEMENT"], [["1", "01/01/2020", "U1"]])
    with pytest.raises(FileRejected) as err:
        read(path, registry()["ssda903"])
    assert err.value.reason == "wrong_columns"
    assert "'CHILD', 'START', 'PLACEMENT'" in err.value.detail
    _con, result = _load(tmp_path, path, run_date=run_date)
    assert [(f.status, f.reason) for f in result.files] == [("rejected", "wrong_columns")]


def test_a_903_table_is_known_by_its_header_whatever_the_file_is_called(tmp_path):
    path = write(tmp_path / "LA_return_part_2_final(1).csv", EPISODES, [episode("7", "01/01/2020", "S", "V2")])
    [table] = read(path, registry()["ssda903"])
    assert table.name == "episodes"
    assert match(path, registry())[0] == "ssda903"
    assert read(write(tmp_path / "b.csv", ["CHILD", "DOB", "REVIEW", "REVIEW_CODE"], []),
                registry()["ssda903"])[0].name == "reviews"


def test_episodes_map_to_periods_of_care_and_changes_within_them(tmp_path, run_date):
    path = write(tmp_path / "episodes.csv", EPISODES, [
        episode("7", "01/01/2020", "S", "V2", "01/03/2020", "X1"),   # starts care; ends into the next episode
        episode("7", "01/03/2020", "L", "C2", "01/06/2020", "X1"),   # legal status changes within care
        episode("7", "01/06/2020", "P", "C2", "01/09/2020", "E11"),  # placement changes; care ends (adopted)
        episode("7", "01/01/2021", "S", "V2"),                       # a second period of care, still open
    ])
    con, result = _load(tmp_path, path, run_date=run_date)
    assert result.files[0].rows_loaded == 4
    events = con.execute("select event_type, event_date::varchar, outcome, locator from ledger.event_records "
                         "order by event_date, event_type").fetchall()
    assert events == [
        ("lac_start", "2020-01-01", "V2", "line 2"),
        ("lac_episode_change", "2020-03-01", "C2", "line 3"),
        ("lac_episode_change", "2020-06-01", "C2", "line 4"),
        ("lac_end", "2020-09-01", "E11", "line 4"),
        ("lac_start", "2021-01-01", "V2", "line 5"),
    ]


def test_a_corrected_reason_for_new_episode_supersedes_the_old_event(tmp_path, run_date):
    first = write(tmp_path / "episodes_v1.csv", EPISODES, [episode("7", "01/03/2020", "P", "C2")])
    second = write(tmp_path / "episodes_v2.csv", EPISODES, [episode("7", "01/03/2020", "S", "C2")])
    con, _ = _load(tmp_path, first, second, run_date=run_date)
    current = con.execute("select event_type, version from ledger.event_records qualify row_number() over "
                          "(partition by record_id order by version desc) = 1").fetchall()
    assert current == [("lac_start", 2)]


def test_an_unknown_reason_for_new_episode_is_quarantined_not_guessed(tmp_path, run_date):
    path = write(tmp_path / "episodes.csv", EPISODES, [episode("7", "01/01/2020", "S", "V2"),
                                                        episode("7", "01/02/2020", "Q", "V2")])
    con, result = _load(tmp_path, path, run_date=run_date)
    assert result.files[0].rows_quarantined == 1
    assert con.execute("select locator, column_name, value, reason from ledger.quarantine").fetchall() == \
        [("line 3", "RNE", "Q", "unknown_code")]


def test_a_review_before_the_childs_birth_is_quarantined(tmp_path, run_date):
    path = write(tmp_path / "reviews.csv", ["CHILD", "DOB", "REVIEW", "REVIEW_CODE"],
                 [["7", "01/05/2015", "01/06/2016", "PN0"], ["7", "01/05/2015", "01/06/2014", "PN0"]])
    con, _ = _load(tmp_path, path, run_date=run_date)
    assert con.execute("select locator, reason from ledger.quarantine").fetchall() == [("line 3", "date_before_birth")]
    assert con.execute("select count(*) from ledger.event_records").fetchone()[0] == 1


def test_a_looked_after_mother_and_her_babys_birth(tmp_path, run_date):
    path = write(tmp_path / "header.csv", ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"],
                 [["7", "2", "01/05/2006", "WBRI", "", "1.0", "03/04/2023"], ["8", "1", "01/05/2010", "WBRI", "", "", ""]])
    con, _ = _load(tmp_path, path, run_date=run_date)
    assert con.execute("select subject_ref, event_type, event_date::varchar, person_role from ledger.event_records"
                       ).fetchall() == [("7", "birth", "2023-04-03", "mother")]
    assert con.execute("select count(*) from ledger.person_records").fetchone()[0] == 2


def test_an_episode_with_a_wrong_end_loads_its_start_and_quarantines_the_end(tmp_path, run_date):
    """One episode row gives lac_start and lac_end: a cease date in the future or not a date holds
    back lac_end alone; a start date that is not a date holds back both (lac_end's record id is
    built from it), so that row is quarantined whole. Run date 15/01/2026."""
    path = write(tmp_path / "episodes.csv", EPISODES, [
        episode("7", "01/01/2020", "S", "V2", "01/09/2027", "E11"),  # ends in the future
        episode("8", "31/02/2020", "S", "V2", "01/09/2020", "E11"),  # starts on no date
        episode("9", "01/01/2020", "S", "V2", "32/13/2020", "E11"),  # ends on no date
    ])
    con, result = _load(tmp_path, path, run_date=run_date)
    [f] = result.files
    assert (f.rows_read, f.rows_loaded, f.rows_loaded_in_part, f.rows_quarantined) == (3, 2, 2, 1)
    assert con.execute("select event_type, subject_ref, event_date::varchar, locator from ledger.event_records "
                       "order by locator").fetchall() == [("lac_start", "7", "2020-01-01", "line 2"),
                                                          ("lac_start", "9", "2020-01-01", "line 4")]
    assert con.execute("select locator, reason, column_name, event_type, record_id, row_outcome from ledger.quarantine "
                       "order by all").fetchall() == [
        ("line 2", "date_in_future", "DEC", "lac_end", "7/01/01/2020/end", "loaded_in_part"),
        ("line 3", "bad_date", "DECOM", "lac_end", "8/31/02/2020/end", "quarantined"),
        ("line 3", "bad_date", "DECOM", "lac_start", "8/31/02/2020/episode", "quarantined"),
        ("line 4", "bad_date", "DEC", "lac_end", "9/01/01/2020/end", "loaded_in_part")]
