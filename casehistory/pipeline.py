"""The nightly pipeline's steps, as plain functions: the DAG (dags/nightly.py) only orchestrates them.

    prepare -> load (one per source) -> link -> build -> check -> publish -> board -> report

Every step records its outcome in run.steps. A step whose work completed but whose result needs a
person (a rejected file, a failing error-severity check) raises StepFailed *after* recording it,
so Airflow shows that task red without retrying it, and the rest of the run carries on where it
safely can: other agencies still load, and yesterday's warehouse stays published when checks fail.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import yaml

from casehistory import alerts, freshness, readiness, warehouse
from casehistory.dbt_command import DbtCall, build_target, run_dbt_calls
from casehistory.identity.decisions import DECISIONS_FILE, read_decisions
from casehistory.identity.pseudonym import load_key
from casehistory.identity.resolve import resolve
from casehistory.readiness import record_run
from casehistory.reviews import Review, ReviewsError, load_reviews, write_reviews
from casehistory.settings import Settings
from casehistory.vocabulary import write_reference_tables
from ingest import ledger, quarantine
from ingest.attribution import UNMATCHED, attribute_rejected
from ingest.detect import discover
from ingest.load import load_source, sha256
from ingest.registry import Registry, RegistryError, load_registry

log = logging.getLogger(__name__)

RUN_DDL = """
create schema if not exists run;
create table if not exists run.steps (
    run_id varchar not null, step varchar not null, status varchar not null,
    started_at timestamp not null, finished_at timestamp not null, detail json);
"""


class StepFailed(Exception):
    """The step finished and recorded its outcome, and that outcome needs a person's attention."""


class ConfigurationError(StepFailed):
    """A configuration file (the source registry, the reviews file, identity thresholds) cannot be
    used. The message names each file, key and problem; retrying cannot fix it."""


@contextmanager
def _step(settings: Settings, run_id: str, step: str) -> Iterator[dict]:
    """Record the step in run.steps whatever happens; the body fills `detail`."""
    detail: dict = {}
    started = datetime.now().replace(microsecond=0)
    status = "succeeded"
    try:
        yield detail
    except StepFailed as exc:
        status, detail["failure"] = "failed", str(exc)
        raise
    except Exception as exc:
        status, detail["error"] = "error", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        with warehouse.store(settings) as con:
            con.execute(RUN_DDL)
            con.execute("insert into run.steps values (?, ?, ?, ?, ?, ?)",
                        [run_id, step, status, started, datetime.now().replace(microsecond=0),
                         json.dumps(detail, default=str)])


def prepare(settings: Settings, run_id: str) -> dict[str, list[str]]:
    """Validate the registry and reviews, write reference tables, and sort the drop folder by source.

    Returns {source: [file paths]} for every registered source (empty lists included, so each
    source's task shows on its own every night). Files matching no source are recorded as rejected.
    """
    with _step(settings, run_id, "prepare") as detail:
        registry, reviews = _configuration(settings)
        found = discover(settings.extracts, registry, *_loaded_before(settings))
        with warehouse.store(settings) as con:
            ledger.ensure_schema(con)
            record_run(con, run_id, settings.run_date)
            write_reference_tables(con)
            write_reviews(con, reviews)
            for path, why in found.unmatched:
                _record_unmatched(con, run_id, path, why)
        detail.update(sources=len(registry), reviews=len(reviews),
                      files={s: len(p) for s, p in found.by_source.items()},
                      unmatched=[f"{p.name}: {why}" for p, why in found.unmatched])
        for path, why in found.unmatched:
            log.warning("%s was not loaded: %s", path, why)
        return {source: [str(p) for p in paths] for source, paths in found.by_source.items()}


def _configuration(settings: Settings) -> tuple[Registry, list[Review]]:
    """The source registry and the reviews, validated, and the identity thresholds checked: every
    problem in any of them at once, as a ConfigurationError naming file, key and problem."""
    from casehistory.identity import model as identity_model

    problems: list[str] = []
    registry: Registry | None = None
    reviews: list[Review] = []
    try:
        registry = load_registry(settings.sources_dir)
    except RegistryError as exc:
        problems.append(str(exc))
    try:
        reviews = load_reviews(settings.reviews) if settings.reviews else []
    except ReviewsError as exc:
        problems.append(str(exc))
    try:
        identity_model.config()
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        why = f"key {exc.args[0]!r} is missing" if isinstance(exc, KeyError) else str(exc)
        problems.append(why if why.startswith(str(identity_model.CONFIG)) else f"{identity_model.CONFIG}: {why}")
    if problems:
        raise ConfigurationError("configuration error (fix the file and run again; retrying cannot help):\n"
                                 + "\n".join(problems))
    assert registry is not None
    return registry, reviews


def _loaded_before(settings: Settings) -> tuple[dict[str, str], dict[tuple[str, int, int], str]]:
    """checksum -> source of every file already loaded (by one source only), and the same by stamp
    for those unchanged since, so prepare need not read their content again to recognise them."""
    if not settings.store.exists():
        return {}, {}
    with warehouse.store(settings) as con:
        ledger.ensure_schema(con)
        return (dict(con.execute("""select checksum, min(source) from ledger.files where status = 'loaded'
                                    group by checksum having count(distinct source) = 1""").fetchall()),
                ledger.unchanged_since_loaded(con))


def _record_unmatched(con, run_id: str, path: Path, why: str) -> None:
    checksum = sha256(path)
    seen = con.execute("select count(*) from ledger.files where source = ? and checksum = ?",
                       [UNMATCHED, checksum]).fetchone()[0]
    if not seen:  # reported every run, recorded once
        stat = path.stat()
        ledger.record_file(con, {
            "load_id": f"{run_id}/{UNMATCHED}", "source": UNMATCHED, "file_name": path.name,
            "file_path": str(path), "checksum": checksum, "size_bytes": stat.st_size,
            "modified_at": datetime.fromtimestamp(stat.st_mtime).replace(microsecond=0), "modified_ns": stat.st_mtime_ns,
            "received_at": ledger.now(), "status": "rejected", "reason": why.split(":")[0], "detail": why,
            **attribute_rejected(con, UNMATCHED, path)})  # a chronology nothing recognised: who sent it


def load(settings: Settings, run_id: str, source: str, files: list[str]) -> dict:
    """Load one source's files. Raises StepFailed if any file was rejected (after recording it)."""
    with _step(settings, run_id, f"load:{source}") as detail:
        registry = load_registry(settings.sources_dir)
        mapping_hash = quarantine.registry_hash(registry, source)
        with warehouse.store(settings) as con:
            result = load_source(con, registry[source], [Path(f) for f in files], run_id=run_id,
                                 run_date=settings.run_date, archive_dir=settings.archive_dir,
                                 registry_hash=mapping_hash)
            # rows quarantined under an earlier mapping are tried again once the mapping changed
            if quarantine.needs_retry(con, source, mapping_hash):
                retried = quarantine.retry(con, registry, source, run_id=run_id)
                detail["quarantine_retried"] = {"rows": retried.rows_retried, "loaded": retried.rows_loaded,
                                                "still_open": retried.rows_open, "problems": retried.problems}
        detail.update(files=len(result.files), loaded=result.count("loaded"), skipped=result.count("skipped"),
                      rejected=len(result.rejected), rows_read=result.total("rows_read"),
                      rows_loaded=result.total("rows_loaded"), rows_quarantined=result.total("rows_quarantined"),
                      events_added=result.total("events_added"), persons_added=result.total("persons_added"),
                      read_in_bulk=sum(1 for f in result.files if f.read_by == "columnar"))
        if result.rejected:
            raise StepFailed(f"{source}: {len(result.rejected)} file(s) rejected: " + "; ".join(
                f"{f.file_name} ({f.reason}: {f.detail})" for f in result.rejected))
        return detail


def link(settings: Settings, run_id: str, full: bool = False) -> dict:
    """Resolve subjects into stable people (casehistory/identity). The model scores only pairs with
    a new or changed record unless `full` (casehistory rebuild): then it is retrained on everything."""
    with _step(settings, run_id, "link") as detail:
        decisions = read_decisions(settings.restricted_dir / DECISIONS_FILE)
        with warehouse.store(settings) as con:
            ledger.ensure_schema(con)
            result = resolve(con, run_id, load_key(), settings=settings, decisions=decisions, full=full)
        detail.update(result.__dict__)
        return detail


def build(settings: Settings, run_id: str, *, full_refresh: bool = False) -> dict:
    """One `dbt build` (models and data tests) against the restricted store, then, in the same dbt
    process, the agency feeds' source freshness (casehistory/freshness.py). Incremental unless `full_refresh` or the project
    changed (casehistory/incremental.py). dbt's unit tests check the models' logic on fixed inputs,
    not the night's data: they run in the test suite (tests/marts/test_dbt_unit_tests.py), not every
    night, as dbt advises."""
    from casehistory import incremental

    with _step(settings, run_id, "build") as detail:
        dbt_dir = settings.reports_dir / "dbt"
        log_file = dbt_dir / "dbt_build.log"
        tonight = incremental.plan(settings, full_refresh=full_refresh)
        incremental.forget_changes(settings)
        detail["dbt_mode"] = tonight.reason
        target = build_target(settings)
        (target / "run_results.json").unlink(missing_ok=True)  # never read last night's as tonight's
        started = time.monotonic()
        # each agency feed's freshness too, in the same dbt process, whether or not the models built
        feeds_check = freshness.command(settings)
        returncode, _ = run_dbt_calls(settings, [
            DbtCall(["build", "--exclude-resource-type", "unit_test", *tonight.dbt_args()],
                    target=target, log_file=log_file),
            feeds_check])
        detail.update(seconds=round(time.monotonic() - started, 1), log=str(log_file),
                      result=_dbt_result_line(log_file))
        _record_dbt_models(settings, run_id, target / "run_results.json", detail)
        if (target / "run_results.json").exists():
            detail["persons_recomputed"] = incremental.record(settings, run_id, tonight, target)
        feeds = freshness.record(settings, run_id, freshness.result(feeds_check))  # kept in audit.agency_freshness
        detail["stale_feeds"] = [f"{f.agency}: {f.status}" for f in feeds if f.is_stale]
        if returncode != 0:
            lines = log_file.read_text().splitlines()
            start = next((i for i, l in enumerate(lines) if "Completed with" in l), max(0, len(lines) - 25))
            raise StepFailed(f"dbt build failed (exit {returncode}); see {log_file}:\n" + "\n".join(lines[start:]))
        return detail


def _record_dbt_models(settings: Settings, run_id: str, run_results: Path, detail: dict) -> None:
    """Each dbt node's outcome into run.dbt_models and the task log (one `dbt build`, seen per model)."""
    from casehistory import operations

    if not run_results.exists():  # dbt failed before running anything: its log says why
        return
    with warehouse.store(settings) as con:
        nodes = operations.record_dbt_models(con, run_id, run_results)
    operations.log_dbt_models(nodes)
    detail["nodes"] = len(nodes)


def _dbt_result_line(log_file: Path) -> str | None:
    lines = [l for l in log_file.read_text().splitlines() if "Done. PASS=" in l]
    return lines[-1].split("Done. ", 1)[1].strip() if lines else None


def check(settings: Settings, run_id: str) -> dict:
    """Great Expectations suites (expectations/); results kept as data in quality.check_results.

    The publish gate: an error-severity check that failed, or that could not run (its table
    missing), fails the step, and publish (downstream of it) does not run. Only checks that passed
    move the extract suites' starting point on (expectations.runner.record_passed)."""
    from expectations.runner import record_passed, run_suites

    with _step(settings, run_id, "check") as detail:
        outcome = run_suites(settings, run_id)
        detail.update(outcome.as_dict())
        if outcome.errors_failed or outcome.errors_not_run:
            raise StepFailed("; ".join(part for part in (
                outcome.errors_failed and "checks failed: " + "; ".join(outcome.errors_failed),
                outcome.errors_not_run and "checks could not run: " + "; ".join(outcome.errors_not_run)) if part)
                + " (the analyst warehouse was not replaced)")
        with warehouse.store(settings) as con:
            record_passed(con, run_id, outcome)
        return detail


def review_readiness(settings: Settings, run_id: str, review_id: str) -> dict:
    """The review_readiness DAG's check: readiness suite and report for one review; fails on gaps."""
    from expectations.runner import run_suites
    from expectations.suites import REVIEW_READINESS

    with _step(settings, run_id, f"review_readiness:{review_id}") as detail:
        with warehouse.store(settings) as con:
            known = con.execute("select count(*) from config.reviews where review_id = ?", [review_id]).fetchone()[0]
        if not known:
            raise StepFailed(f"review {review_id!r} is not declared in the reviews file ({settings.reviews})")
        outcome = run_suites(settings, run_id, [REVIEW_READINESS], review_id=review_id)
        with warehouse.store(settings) as con:
            report = readiness.write_report(settings, con, review_id)
            gaps = readiness.alert_lines(readiness.readiness_rows(con, [review_id]))
        detail.update(review_id=review_id, report=str(report), alerts=gaps,
                      checks_failed=outcome.warnings_failed + outcome.errors_failed,
                      outcome="warning" if gaps else "ready")
        if gaps:
            raise StepFailed(f"review {review_id} is not ready ({len(gaps)} gap(s); report {report}):\n"
                             + "\n".join(gaps))
        return detail


def nightly_readiness(settings: Settings, run_id: str) -> dict:
    """Every review due within the window: a report each, and alerts on gaps (outcome "warning").

    Gaps do not fail the nightly run (the readiness checks are warn-severity findings for a
    person): they go to the alert channel, and the step's return value and run.steps detail carry them.
    """
    with _step(settings, run_id, "review_readiness") as detail:
        with warehouse.store(settings) as con:
            due = readiness.due_reviews(con, settings.run_date, settings.review_window_days)
            reports = [str(readiness.write_report(settings, con, review_id)) for review_id in due]
            gaps = readiness.alert_lines(readiness.readiness_rows(con, due))
        for line in gaps:
            log.warning("review readiness: %s", line)
        # through the data team's alert channel (casehistory/alerts.py), like a stale feed
        delivered = alerts.send_review_readiness(gaps, run_id)
        # the panel's document, kept current while the review is prepared (restricted folder only)
        from casehistory.board.chronology import write_chronologies

        written, not_written = write_chronologies(settings, due)
        detail.update(reviews=due, window_days=settings.review_window_days, reports=reports, alerts=gaps,
                      alert_delivered=delivered, outcome="warning" if gaps else "ready",
                      chronologies=[str(w.folder) for w in written], chronologies_not_written=not_written,
                      chronology_pdf_problems=sorted({w.pdf_problem for w in written if w.pdf_problem}))
        return detail


def feeds(settings: Settings, run_id: str) -> dict:
    """One stale-feed alert naming every agency feed not fresh at this run (freshness.stale_feeds:
    dbt source freshness, recorded by `build`, or here when build did not get that far). A stale
    feed is a finding for a person, not a failed run."""
    with _step(settings, run_id, "feeds") as detail:
        with warehouse.store(settings) as con:
            ledger.ensure_schema(con)  # an empty ledger reads as "nothing received", not a dbt error
            con.execute(freshness.DDL)
            checked = con.execute(f"select count(*) from {freshness.TABLE} where run_id = ?", [run_id]).fetchone()[0]
        if not checked:
            freshness.record(settings, run_id)
        with warehouse.store(settings) as con:
            stale = freshness.stale_feeds(con, run_id)
        detail["stale"] = [f"{f.agency}: {f.status}" for f in stale]
        if stale:
            detail["alert_delivered"] = alerts.send(alerts.stale_feeds(stale, run_id))
        return detail


def publish(settings: Settings, run_id: str) -> dict:
    """Swap in a new analyst warehouse (marts, audit, quality, run) built beside the old one; the
    previous one is kept in <stem>.versions/ for `casehistory rollback`. After an incremental build,
    the tables it changed a few persons' rows of are patched from the file published last, not
    copied whole (casehistory/incremental.py, warehouse.publish).

    A second gate behind the DAG's (publish runs only downstream of a passing `check`): a run whose
    recorded error-severity checks failed or could not run is refused here too, so clearing or
    forcing the publish task by hand never publishes what the checks held back."""
    from casehistory import incremental, operations
    from expectations.runner import errors_holding_publish

    with _step(settings, run_id, "publish") as detail:
        with warehouse.store(settings) as con:
            held = errors_holding_publish(con, run_id)
        if held:
            raise StepFailed("not published: this run's checks failed or could not run: " + "; ".join(held)
                             + " (the analyst warehouse was not replaced)")
        with warehouse.store(settings) as con:  # tonight's row as of publishing goes out with it
            operations.record_pipeline_run(con, run_id, "publishing")
            patches = incremental.last_build_changes(con)
            build, based_on = incremental.last_build(con)
        how = warehouse.publish(settings, patches, build=build, based_on=based_on)
        detail.update(tables=len(how), patched=sorted(t for t, h in how.items() if h == "patched"),
                      warehouse=str(settings.warehouse))
        return detail


def board(settings: Settings, run_id: str) -> dict:
    """What the board, review panels and analysts read (casehistory/board): the published board
    tables as XLSX, CSV and Parquet and the HTML report in <stem>.reports/board/, a timeline for
    every child a declared review is about in <stem>.restricted/timelines/, and the dbt docs site."""
    from casehistory.board import board_min_count
    from casehistory.board.dbt_docs import publish_dbt_docs
    from casehistory.board.export import export, published_board_tables
    from casehistory.board.report import write_report
    from casehistory.board.timeline import review_subject_keys, write_timelines

    with _step(settings, run_id, "board") as detail:
        tables = published_board_tables(settings)
        exported = export(settings, tables)
        detail.update(tables=exported.tables, folder=str(exported.folder),
                      report=str(write_report(settings, tables, board_min_count())),
                      timelines=len(write_timelines(settings, review_subject_keys(settings))),
                      dbt_docs=str(publish_dbt_docs(settings)))
        return detail


def report(settings: Settings, run_id: str) -> dict:
    """Write the run summary (JSON and text) and fail the run if any step did."""
    from casehistory import operations
    from casehistory.summary import build_summary, render

    summary = build_summary(settings, run_id)
    (settings.reports_dir / "run_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (settings.reports_dir / "run_summary.txt").write_text(render(summary))
    with warehouse.store(settings) as con:  # the final row; the analyst copy gets it next night
        ledger.ensure_schema(con)
        con.execute(RUN_DDL)
        operations.record_pipeline_run(con, run_id, "failed" if summary["failed_steps"] else "succeeded")
    log.info("run summary written to %s", settings.reports_dir / "run_summary.txt")
    if summary["failed_steps"]:
        raise StepFailed("steps failed: " + ", ".join(summary["failed_steps"]))
    return summary
