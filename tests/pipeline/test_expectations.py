"""How the runner keeps and reports results: as data with category, severity and counts, as Data
Docs, a check that cannot run as failed, warnings apart from errors. Each suite against clean
data and each planted fault: test_expectation_groups.py."""

from __future__ import annotations

from datetime import date

import duckdb

from casehistory import warehouse
from casehistory.settings import Settings
from expectations.runner import _comparable_dtypes, _frame, run_suites
from expectations.suites import CHILD_EVENTS, REVIEW_READINESS, SOURCE_LOADS

GOOD_EVENTS = [
    ("e1", "k1", "referral", date(2024, 3, 1), 3, 2),
    ("e2", "k1", "tac_meeting", date(2024, 4, 1), 3, 1),
    ("e3", "k2", "birth", date(2023, 8, 24), 0, 1),
]


def _settings(tmp_path) -> Settings:
    return Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb", run_date=date(2026, 1, 15))


def _events_table(settings: Settings, rows) -> None:
    with warehouse.store(settings) as con:
        con.execute("create schema if not exists marts")
        con.execute("""create or replace table marts.fct_child_events (event_id varchar, child_key varchar,
                       event_type varchar, event_date date, age_at_event integer, records integer)""")
        if rows:
            con.executemany("insert into marts.fct_child_events values (?, ?, ?, ?, ?, ?)", rows)


def _failed(outcome) -> set[str]:
    return {r["check_name"] for r in outcome.results if not r["success"]}


def test_a_check_that_cannot_run_counts_as_failed_not_passed(tmp_path):
    settings = _settings(tmp_path)
    with warehouse.store(settings) as con:  # the table lacks the column the checks read
        con.execute("create schema marts")
        con.execute("create table marts.fct_child_events as select 'e1' as event_id, 'k1' as child_key, "
                    "'referral' as event_type, date '2024-01-01' as event_date, 1 as records, 1 as age_at_event")
        con.execute("alter table marts.fct_child_events drop column child_key")
        con.execute("alter table marts.fct_child_events add column child_key varchar")
    outcome = run_suites(settings, "run1", [CHILD_EVENTS])
    assert "child_key_present" in _failed(outcome)


def test_results_are_kept_as_data_with_category_severity_and_counts(tmp_path):
    settings = _settings(tmp_path)
    _events_table(settings, GOOD_EVENTS + [("e9", "k3", "visit", date(2024, 1, 1), 3, 1)])
    run_suites(settings, "run7", [CHILD_EVENTS])
    with warehouse.store(settings, read_only=True) as con:
        row = con.execute("""select category, severity, success, unexpected_count, element_count
                             from quality.check_results where run_id = 'run7'
                             and check_name = 'event_type_in_vocabulary'""").fetchone()
    assert row == ("conformance", "error", False, 1, 4)


def test_a_noisy_source_and_a_missing_chronology_are_warnings_not_errors(tmp_path):
    settings = _settings(tmp_path)
    with warehouse.store(settings) as con:
        con.execute("create schema ledger")
        con.execute("""create table ledger.loads as select * from (values
                       ('run1', 'good', timestamp '2026-01-15 02:00', 100, 1, 0, 1, 0),
                       ('run1', 'noisy', timestamp '2026-01-15 02:00', 100, 30, 0, 1, 0))
                       t(run_id, source, started_at, rows_read, rows_quarantined, files_rejected, files_seen,
                         rows_loaded_in_part)""")
        con.execute("create schema audit")
        con.execute("""create table audit.review_readiness as select * from (values
                       ('R1', 'csc', 'received', date '2026-01-20'), ('R1', 'eh', 'missing', date '2026-01-20'))
                       t(review_id, agency, status, deadline)""")
    outcome = run_suites(settings, "run1", [SOURCE_LOADS, REVIEW_READINESS])
    assert _failed(outcome) == {"quarantine_rate_low", "chronologies_received"}
    assert outcome.errors_failed == []
    assert sorted(outcome.warnings_failed) == ["review_readiness.chronologies_received",
                                               "source_loads.quarantine_rate_low"]


def test_data_docs_are_written_for_a_person_to_open(tmp_path):
    settings = _settings(tmp_path)
    _events_table(settings, GOOD_EVENTS)
    outcome = run_suites(settings, "run1", [CHILD_EVENTS])
    site = settings.reports_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    assert (site / "index.html").exists() and outcome.data_docs.endswith("index.html")
    # the suite's page and this run's result page, linked from the index
    assert (site / "expectations" / "child_events.html").exists()
    [result_page] = (site / "validations" / "child_events").rglob("*.html")
    assert str(result_page.relative_to(site)) in (site / "index.html").read_text()


def test_between_checks_fail_on_their_faults_whatever_dtype_duckdb_hands_over(tmp_path):
    """The runner converts DuckDB's datetime64[us] and int32 to the dtypes GX compares vectorised;
    a date outside what datetime64[ns] holds, or an integer column with nulls, keeps its dtype and
    goes GX's element-by-element way. Either way a fault fails and a clean row passes."""
    settings = _settings(tmp_path)
    _events_table(settings, GOOD_EVENTS + [
        ("f1", "k3", "referral", date(2026, 1, 16), 3, 1),  # the day after the run date
        ("f2", "k3", "referral", date(1989, 12, 31), 3, 1),  # before 1990
        ("f3", "k3", "referral", date(2024, 1, 1), 40, 1),  # 40 years old at the event
    ])
    converted = run_suites(settings, "vectorised", [CHILD_EVENTS])
    by_check = {r["check_name"]: r for r in converted.results}
    assert by_check["event_date_not_in_future"]["unexpected_count"] == 1
    assert by_check["event_date_since_1990"]["unexpected_count"] == 1
    assert by_check["age_at_event_plausible"]["unexpected_count"] == 1

    with warehouse.store(settings) as con:  # a year-1500 keying error and an unknown age: dtypes kept
        con.execute("insert into marts.fct_child_events values ('f4', 'k3', 'referral', date '1500-06-01', null, 1)")
    kept = {r["check_name"]: r for r in run_suites(settings, "element_wise", [CHILD_EVENTS]).results}
    assert kept["event_date_not_in_future"]["unexpected_count"] == 1
    assert kept["event_date_since_1990"]["unexpected_count"] == 2
    assert kept["age_at_event_plausible"]["unexpected_count"] == 1
    assert kept["event_date_not_in_future"]["exception"] is None


def test_duckdb_frames_get_the_dtypes_gx_compares_vectorised():
    frame = duckdb.sql("select date '2024-01-01' as day, 3::integer as age, null::integer as unknown, "
                       "date '1500-06-01' as keying_error").df()
    converted = _comparable_dtypes(frame)
    assert str(converted["day"].dtype) == "datetime64[ns]" and str(converted["age"].dtype) == "int64"
    assert str(converted["unknown"].dtype) == "Int32"  # nulls: left to GX's element-wise comparison
    assert str(converted["keying_error"].dtype) == "datetime64[us]"  # outside 1677-2262


def test_frames_read_through_arrow_hold_what_duckdbs_own_reader_gives():
    """The runner reads frames through Arrow (much faster for text); what GX then sees must be
    what DuckDB's .df() gives: nulls in integers, booleans and dates kept, decimals as floats; text
    in pandas' Arrow-backed string dtype."""
    import pandas as pd

    query = """select * from (values
        (1, 10::bigint, true, date '2024-01-01', date '1500-01-01', 'a', 1.5, 2::hugeint, 1.25::decimal(5,2), false),
        (null, 11, null, null, null, null, null, null, null, true),
        (3, 12, false, date '2024-02-29', date '2024-03-01', 'b', 2.0, 3, 2.5, false)
    ) t(i, n, b, d, far, s, f, h, m, nonnull_bool)"""
    con = duckdb.connect()
    expected = _comparable_dtypes(con.execute(query).df())
    got = _comparable_dtypes(_frame(con.execute(query).arrow()))
    assert got["s"].dtype == pd.StringDtype("pyarrow") and got["s"].isna().tolist() == [False, True, False]
    expected["s"] = expected["s"].astype(pd.StringDtype("pyarrow"))  # text: Arrow-backed, a null is pd.NA
    pd.testing.assert_frame_equal(got.drop(columns="far"), expected.drop(columns="far"))
    # a date before 1677 has no nanosecond form: it stays at the unit each reader gives, same days
    pd.testing.assert_series_equal(got["far"].astype("datetime64[us]"), expected["far"].astype("datetime64[us]"))


def test_a_suite_reads_only_the_columns_its_checks_read_and_a_missing_one_still_fails(tmp_path):
    from expectations.suites import Check, Suite
    import great_expectations.expectations as gxe

    settings = _settings(tmp_path)
    _events_table(settings, GOOD_EVENTS)
    # a column no check reads is never computed: were it, error() would fail the query
    suite = Suite(name="narrowed", description="probe",
                  sql="select event_id, error('computed a column no check reads') as note from marts.fct_child_events",
                  checks=[Check("ids_present", "completeness", "error", "probe",
                                lambda c: gxe.ExpectColumnValuesToNotBeNull(column="event_id")),
                          Check("missing_column", "completeness", "error", "probe",
                                lambda c: gxe.ExpectColumnValuesToNotBeNull(column="not_in_the_query"))])
    outcome = run_suites(settings, "run1", [suite])
    by_check = {r["check_name"]: r for r in outcome.results}
    assert by_check["ids_present"]["outcome"] == "passed" and by_check["ids_present"]["element_count"] == 3
    assert by_check["missing_column"]["outcome"] == "failed"


def test_an_expectation_that_raises_keeps_why_in_its_result(tmp_path):
    """GX 1.x nests what raised per metric ({metric id: {raised_exception, exception_message, ...}});
    the message is kept in quality.check_results.exception, not lost."""
    from expectations.suites import Check, Suite
    import great_expectations.expectations as gxe

    settings = _settings(tmp_path)
    _events_table(settings, GOOD_EVENTS)
    suite = Suite(name="raises", description="probe", sql="select event_id from marts.fct_child_events",
                  checks=[Check("no_such_column", "completeness", "error", "probe",
                                lambda c: gxe.ExpectColumnValuesToNotBeNull(column="no_such_column")),
                          Check("ids_present", "completeness", "error", "probe",
                                lambda c: gxe.ExpectColumnValuesToNotBeNull(column="event_id"))])
    run_suites(settings, "run1", [suite])
    with warehouse.store(settings, read_only=True) as con:
        rows = dict(con.execute("select check_name, exception from quality.check_results").fetchall())
    assert 'The column "no_such_column" in BatchData does not exist' in rows["no_such_column"]
    assert rows["ids_present"] is None


def test_what_raised_is_read_whether_gx_gives_it_flat_or_per_metric():
    from expectations.runner import _raised

    assert _raised({"raised_exception": True, "exception_message": "boom", "exception_traceback": "..."}) == ["boom"]
    assert _raised({"raised_exception": False, "exception_message": None, "exception_traceback": None}) == []
    per_metric = {"MetricConfigurationID(metric_name='a')": {"raised_exception": True, "exception_message": "a broke"},
                  "MetricConfigurationID(metric_name='b')": {"raised_exception": True, "exception_message": "b broke"},
                  "MetricConfigurationID(metric_name='c')": {"raised_exception": False, "exception_message": None}}
    assert _raised(per_metric) == ["a broke", "b broke"]
    assert _raised({"m": {"raised_exception": True, "exception_message": None}}) == ["raised an exception (no message)"]
    assert _raised(None) == [] and _raised({}) == []
