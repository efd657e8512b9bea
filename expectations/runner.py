"""Run the suites with Great Expectations and keep the results as data.

Each suite's frame is read from the restricted store with DuckDB (only the columns the checks
need) and validated as a pandas batch: GX's SQL datasource over duckdb-engine returns empty
results (upstream GX issues 10738, 11579), and a check that silently passes is worse than none.
An expectation that raises counts as failed, with GX's message kept in `exception`; a suite whose
table does not exist yet is recorded check by check with outcome "not_run" (success false, the
reason in `exception`), never as passed: an error-severity check not run holds publishing back
as a failed one does (casehistory.pipeline.check). Results go to quality.check_results (published
to analysts) and to Data Docs under <reports>/gx/uncommitted/data_docs/local_site/index.html.

The extract suites check the ledger rows loaded since the last run whose checks passed
(quality.checks_passed keeps how far each such run had checked), not only this run's: rows a run
loaded before it was killed, or whose checks failed, are checked again by the next run.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no usage statistics leave the machine

import great_expectations as gx  # noqa: E402
from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier  # noqa: E402
from great_expectations.execution_engine import pandas_execution_engine  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

from casehistory import warehouse  # noqa: E402
from casehistory.settings import Settings  # noqa: E402
from expectations.suites import SUITES, Context, Suite  # noqa: E402

log = logging.getLogger(__name__)
# GX fingerprints each pandas batch below this many bytes (a hash of the whole frame, kept only as
# the batch's metadata): at 1,000,000 children the check step took 20.5 s with it and 13.3 s without.
# Every frame here is read fresh from the store, so the fingerprint tells no one anything.
pandas_execution_engine.HASH_THRESHOLD = 0

RESULTS_DDL = """
create schema if not exists quality;
create table if not exists quality.check_results (
    run_id varchar not null, checked_at timestamp not null, suite varchar not null, check_name varchar not null,
    category varchar not null, severity varchar not null, description varchar, expectation varchar not null,
    column_name varchar, success boolean not null, element_count bigint, unexpected_count bigint,
    unexpected_percent double, mostly double, observed_value varchar, exception varchar);
alter table quality.check_results add column if not exists suite_group varchar;
alter table quality.check_results add column if not exists outcome varchar;
"""
# One row per run whose checks passed (no error-severity check failed or left not run): the ledger
# rows it had checked, through the highest event ledger id when it read them, and when. The next
# run's extract suites check what came after ($checked_through, $checked_since).
CHECKS_PASSED_DDL = """
create schema if not exists quality;
create table if not exists quality.checks_passed (
    run_id varchar not null, checked_at timestamp not null, through_ledger_id bigint not null);
"""


@dataclass(frozen=True)
class Mark:
    """How far a run's checks read the ledger: event ledger ids up to `through_ledger_id`, and
    the loads started before `checked_at`."""
    through_ledger_id: int
    checked_at: datetime


NOTHING_CHECKED = Mark(-1, datetime(1970, 1, 1))


@dataclass
class Outcome:
    results: list[dict] = field(default_factory=list)
    data_docs: str | None = None
    reached: Mark = NOTHING_CHECKED  # how far these checks read: recorded when they pass (record_passed)

    def _failed(self, severity: str) -> list[str]:
        return [f"{r['suite']}.{r['check_name']}" for r in self.results
                if r["outcome"] == "failed" and r["severity"] == severity]

    @property
    def not_run(self) -> list[str]:
        return [f"{r['suite']}.{r['check_name']}" for r in self.results if r["outcome"] == "not_run"]

    @property
    def errors_failed(self) -> list[str]:
        return self._failed("error")

    @property
    def errors_not_run(self) -> list[str]:
        """Error-severity checks that could not run: what they guard is unproven, so they hold
        publishing back as a failure does."""
        return [f"{r['suite']}.{r['check_name']}" for r in self.results
                if r["outcome"] == "not_run" and r["severity"] == "error"]

    @property
    def warnings_failed(self) -> list[str]:
        return self._failed("warn")

    def as_dict(self) -> dict:
        return {"checks": len(self.results), "passed": sum(r["success"] for r in self.results),
                "errors_failed": self.errors_failed, "warnings_failed": self.warnings_failed, "not_run": self.not_run,
                "checked_through_ledger_id": self.reached.through_ledger_id, "data_docs": self.data_docs}


def _context(settings: Settings):
    ctx = gx.get_context(mode="file", project_root_dir=str(settings.reports_dir))
    ctx.variables.progress_bars = {"globally": False, "metric_calculations": False}
    return ctx


def run_suites(settings: Settings, run_id: str, suites: list[Suite] | None = None,
               review_id: str | None = None) -> Outcome:
    """Run the suites (default: all); review_id narrows the review readiness suite to one review."""

    suites = SUITES if suites is None else suites
    check_context = Context(run_id=run_id, run_date=settings.run_date, window_days=settings.review_window_days, review_id=review_id)
    ctx = _context(settings)
    source = ctx.data_sources.add_or_update_pandas("casehistory_store")
    checked_at = datetime.now().replace(microsecond=0)
    documented: list = []  # the suites and results run, for Data Docs
    with warehouse.store(settings) as con:
        con.execute(CHECKS_PASSED_DDL)
        since = last_passed(con)
        outcome = Outcome(reached=Mark(_highest_ledger_id(con), checked_at))
        parameters = {"run_id": run_id, "run_date": settings.run_date, "window_days": check_context.window_days,
                      "review_id": review_id, "checked_through": since.through_ledger_id,
                      "checked_since": since.checked_at}
        for suite in suites:
            if suite.requires and not _exists(con, suite.requires):
                outcome.results.extend(_not_run(suite, f"{suite.requires} does not exist yet", run_id, checked_at))
                continue
            bound = {k: v for k, v in parameters.items() if f"${k}" in suite.sql} or None
            expectations = _expectations(suite, check_context)
            sql = _columns_read(con, suite.sql, bound, expectations)
            frame = _comparable_dtypes(_frame(con.execute(sql, bound).arrow()))
            outcome.results.extend(_validate(ctx, source, suite, expectations, frame, run_id, checked_at, documented))
        con.execute(RESULTS_DDL)
        if outcome.results:
            table = pa.Table.from_pylist(outcome.results)
            con.register("_results", table)
            con.execute("insert into quality.check_results by name select * from _results")
            con.unregister("_results")
    if documented:
        # once for the run, not a checkpoint action per suite: each build rewrites the index of
        # every result kept, which grows night by night
        ctx.build_data_docs(resource_identifiers=documented)
    sites = ctx.get_docs_sites_urls()
    outcome.data_docs = sites[0]["site_url"] if sites else None
    for r in outcome.results:
        if r["outcome"] == "failed":
            why = r["exception"] or r["observed_value"]  # a row check has neither: its count says it
            log.warning("check %s.%s (%s) failed: %s unexpected%s", r["suite"], r["check_name"], r["severity"],
                        r["unexpected_count"], f" ({why})" if why else "")
    return outcome


# what DuckDB's own .df() makes of these: pandas' nullable dtypes, so a null stays a null
_NULLABLE = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
             pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
             pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype(),
             # text as pandas' Arrow-backed string (null: pd.NA), not pandas 3's default str (null:
             # NaN): the same Arrow data, and GX's uniqueness check on the merged chronology's 5.1
             # million event ids took 2.9 s that way against 4.1 s
             pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


def _frame(result) -> pd.DataFrame:
    """A suite's rows as pandas, through Arrow. DuckDB's .df() builds a Python object per string,
    which pandas 3 then turns back into Arrow strings: at 1,000,000 children the largest frame took
    4.1 s that way and 0.9 s this. The dtypes are those .df() gives, once _comparable_dtypes has run
    (decimals as floats; integers and booleans nullable only where a null is present), but for text
    (Arrow-backed strings: _NULLABLE)."""
    table = result.read_all() if isinstance(result, pa.RecordBatchReader) else result
    for i, column in enumerate(table.columns):
        if pa.types.is_decimal(column.type):
            table = table.set_column(i, table.field(i).name, column.cast(pa.float64()))
    frame = table.to_pandas(date_as_object=False, types_mapper=_NULLABLE.get)
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.BooleanDtype) and not frame[name].hasnans:
            frame[name] = frame[name].astype(bool)
    return frame


def _comparable_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """The same values in the dtypes GX's pandas between-checks compare vectorised (int64, float64,
    datetime64[ns]): DuckDB hands dates over as datetime64[us] and integers as int32, and GX then
    compares element by element in Python (the checks at 100,000 children: 9.5 s, 7.0 s converted).
    Only lossless changes: a date outside 1677-2262 or an integer column with nulls stays as it is."""
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_datetime64_dtype(dtype) and dtype != "datetime64[ns]":
            try:
                frame[name] = frame[name].astype("datetime64[ns]")
            except (OverflowError, pd.errors.OutOfBoundsDatetime):
                pass
        elif pd.api.types.is_integer_dtype(dtype) and dtype != "int64" and not frame[name].hasnans:
            frame[name] = frame[name].astype("int64")
    return frame


def last_passed(con) -> Mark:
    """How far the last run whose checks passed had checked (NOTHING_CHECKED before any did)."""
    con.execute(CHECKS_PASSED_DDL)
    row = con.execute("""select through_ledger_id, checked_at from quality.checks_passed
                         order by through_ledger_id desc, checked_at desc limit 1""").fetchone()
    return Mark(*row) if row else NOTHING_CHECKED


def record_passed(con, run_id: str, outcome: Outcome) -> None:
    """The run's checks passed: the next run's extract suites start after what these read. Checks
    that did not pass move nothing on, whoever calls this: their rows are checked again next night."""
    if outcome.errors_failed or outcome.errors_not_run:
        return
    con.execute(CHECKS_PASSED_DDL)
    con.execute("insert into quality.checks_passed values (?, ?, ?)",
                [run_id, outcome.reached.checked_at, outcome.reached.through_ledger_id])


def errors_holding_publish(con, run_id: str) -> list[str]:
    """The run's error-severity checks that failed or could not run, as recorded in
    quality.check_results: publishing refuses the run while there are any (pipeline.publish), so
    the gate holds even where the publish task runs on its own (cleared or forced by hand)."""
    if not _exists(con, "quality.check_results"):
        return []
    return [name for (name,) in con.execute(
        """select distinct suite || '.' || check_name from quality.check_results
           where run_id = ? and severity = 'error' and outcome in ('failed', 'not_run') order by 1""",
        [run_id]).fetchall()]


def _highest_ledger_id(con) -> int:
    if not _exists(con, "ledger.event_records"):
        return NOTHING_CHECKED.through_ledger_id
    return con.execute("select coalesce(max(ledger_id), ?) from ledger.event_records",
                       [NOTHING_CHECKED.through_ledger_id]).fetchone()[0]


def _exists(con, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchone()[0])


def _not_run(suite: Suite, reason: str, run_id: str, checked_at: datetime) -> list[dict]:
    log.warning("suite %s not run: %s", suite.name, reason)
    return [{"run_id": run_id, "checked_at": checked_at, "suite": suite.name, "check_name": check.name,
             "category": check.category, "severity": check.severity, "description": check.description,
             "expectation": "not_run", "column_name": None, "success": False, "element_count": None,
             "unexpected_count": None, "unexpected_percent": None, "mostly": None, "observed_value": None,
             "exception": f"not run: {reason}", "suite_group": suite.group, "outcome": "not_run"}
            for check in suite.checks]


def _expectations(suite: Suite, check_context: Context) -> list:
    expectations = []
    for check in suite.checks:
        expectation = check.expectation(check_context)
        expectation.meta = {"check": check.name, "category": check.category, "severity": check.severity,
                            "description": check.description}
        expectations.append(expectation)
    return expectations


def _columns_read(con, sql: str, bound: dict | None, expectations: list) -> str:
    """The suite's query narrowed to the columns its expectations read (DuckDB then never computes
    the others): a suite's SQL may name an event or a plan for whoever reads it, but turning 5
    million event ids into pandas for checks that only read a flag cost seconds a night at
    1,000,000 children. A column an expectation names that the query lacks stays missing, so
    that check fails as it would have; a suite of table-level checks only keeps every column."""
    wanted = set()
    for e in expectations:
        wanted.update(c for c in (getattr(e, "column", None), getattr(e, "column_A", None),
                                  getattr(e, "column_B", None), *(getattr(e, "column_list", None) or [])) if c)
    produced = [d[0] for d in con.execute(f"select * from ({sql}) limit 0", bound).description]
    kept = [c for c in produced if c in wanted]
    if not kept:
        return sql
    return "select " + ", ".join('"' + c.replace('"', '""') + '"' for c in kept) + f" from ({sql})"


def _validate(ctx, source, suite: Suite, expectations: list, frame, run_id: str, checked_at: datetime,
              documented: list) -> list[dict]:
    asset = next((a for a in source.assets if a.name == suite.name), None) or source.add_dataframe_asset(suite.name)
    batch = next(iter(asset.batch_definitions), None) or asset.add_batch_definition_whole_dataframe("whole_frame")
    gx_suite = gx.ExpectationSuite(name=suite.name, meta={"description": suite.description})
    for expectation in expectations:
        gx_suite.add_expectation(expectation)
    gx_suite = ctx.suites.add_or_update(gx_suite)
    definition = ctx.validation_definitions.add_or_update(gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite))
    checkpoint = ctx.checkpoints.add_or_update(gx.Checkpoint(
        name=suite.name, validation_definitions=[definition], actions=[], result_format={"result_format": "SUMMARY"}))
    result = checkpoint.run(batch_parameters={"dataframe": frame}, run_id=None)
    documented.extend([ExpectationSuiteIdentifier(name=suite.name), *result.run_results])
    rows = []
    for validation in result.run_results.values():
        for r in validation.results:
            cfg, res = r.expectation_config, r.result or {}
            raised = _raised(r.exception_info)
            success = bool(r.success) and not raised
            rows.append({
                "run_id": run_id, "checked_at": checked_at, "suite": suite.name,
                "check_name": cfg.meta["check"], "category": cfg.meta["category"], "severity": cfg.meta["severity"],
                "description": cfg.meta["description"], "expectation": cfg.type,
                "column_name": cfg.kwargs.get("column"), "success": success,
                "element_count": res.get("element_count"), "unexpected_count": res.get("unexpected_count"),
                "unexpected_percent": res.get("unexpected_percent"), "mostly": cfg.kwargs.get("mostly"),
                "observed_value": json.dumps(res.get("observed_value"), default=str) if "observed_value" in res else None,
                "exception": "; ".join(raised) if raised else None,
                "suite_group": suite.group, "outcome": "passed" if success else "failed",
            })
    return rows


def _raised(exception_info) -> list[str]:
    """The messages of what raised while an expectation was computed, none if nothing did. GX 1.x
    gives one {raised_exception, exception_message, exception_traceback} for the expectation, or
    one per metric it computed (keyed by the metric's id), as when a column does not exist."""
    if not isinstance(exception_info, dict):
        return []
    infos = [exception_info] if "raised_exception" in exception_info else \
        [v for v in exception_info.values() if isinstance(v, dict)]
    return list(dict.fromkeys(str(i.get("exception_message") or "raised an exception (no message)")
                              for i in infos if i.get("raised_exception")))
