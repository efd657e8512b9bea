"""Incremental nights: whether tonight's `dbt build` may keep what the models already hold.

The models holding rows per record, person or child (dbt/macros/incremental_persons.sql lists how
a model opts in) recompute, on a normal night, only the rows that can have changed:
int_incremental__affected_persons compares the ledger and identity with what they were last built
from, recorded here in schema `incremental` (restricted) after every build in which they all built.

A night is a full refresh (`dbt build --full-refresh`, every model rebuilt whole, unit tests run)
when it is asked for (`casehistory rebuild`), when nothing has been recorded yet, or when the dbt
project or the vocabulary differs from the one the models were built with (a changed model,
threshold, var or event type). Otherwise it is incremental and dbt's unit tests are left out: they
prove the code against fixed inputs, and the code is the one they passed on at the last full build.

Each recorded incremental build also leaves what it replaced (`last_build_changes`): per model,
the rows its delete and insert rewrote, as a predicate over its columns. Publishing applies the
same to yesterday's analyst file instead of copying the two largest tables whole
(casehistory/warehouse.py). A build that starts forgets it, so a failed or half-done build never
passes for the one described. Each recorded build, full or not, has an id (`last_build`): a file
published from it says so, and the next night's patches, which lead from that build, need not
compare every row of that file with the store (warehouse.publish).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from pathlib import Path

from casehistory import warehouse
from casehistory.settings import DBT_DIR, PROJECT_ROOT, Settings

log = logging.getLogger(__name__)

SCHEMA = "incremental"
# what the fingerprint covers: everything that decides what a model computes from the same ledger
FINGERPRINTED = [DBT_DIR / "dbt_project.yml", DBT_DIR / "models", DBT_DIR / "macros",
                 PROJECT_ROOT / "casehistory" / "reference"]
AFFECTED_MODEL = "int_incremental__affected_persons"
CHANGES = f"{SCHEMA}.last_build_changes"  # one row per affected-persons model: its key and day column
CHANGED_PERSONS = f"{SCHEMA}.last_build_persons"  # the persons that build recomputed
LAST_BUILD = f"{SCHEMA}.last_build"  # the last recorded build's id, and the id of the one before it


@dataclass(frozen=True)
class BuildPlan:
    full_refresh: bool
    reason: str
    fingerprint: str
    event_ledger_id: int
    person_ledger_id: int
    status_as_of: date  # the day plan status is computed to (the run date): day-grain models hold days up to it
    build_id: str  # this build's, once recorded

    def dbt_args(self) -> list[str]:
        return ["--full-refresh"] if self.full_refresh else []


def fingerprint() -> str:
    """A hash of the dbt project (models, macros, vars), the vocabulary and dbt's own version."""
    # the installed versions, read from package metadata: importing dbt to ask it costs over a second a night
    digest = hashlib.sha256(f"dbt {version('dbt-core')} dbt-duckdb {version('dbt-duckdb')}".encode())
    for root in FINGERPRINTED:
        for path in sorted([root] if root.is_file() else p for p in root.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def plan(settings: Settings, *, full_refresh: bool = False) -> BuildPlan:
    """Decide tonight's build: incremental, or a full refresh and why."""
    current = fingerprint()
    with warehouse.store(settings) as con:
        event_id, person_id = con.execute(
            "select (select coalesce(max(ledger_id), 0) from ledger.event_records),"
            "       (select coalesce(max(ledger_id), 0) from ledger.person_records)").fetchone()
        built = con.execute(f"select fingerprint from {SCHEMA}.built_from").fetchone() \
            if _has_table(con, f"{SCHEMA}.built_from") else None
    if full_refresh:
        reason = "full refresh: asked for"
    elif built is None:
        reason = "full refresh: no record of an earlier build"
    elif built[0] != current:
        reason = "full refresh: the dbt project or the vocabulary changed since the last build"
    else:
        reason = "incremental"
    return BuildPlan(reason != "incremental", reason, current, event_id, person_id, settings.run_date,
                     uuid.uuid4().hex)


def record(settings: Settings, run_id: str, build: BuildPlan, target: Path) -> int | None:
    """After a build: when every incremental model (and the affected set) built, record what they
    were built from; otherwise keep the earlier record, so the next night recomputes a superset.
    Returns how many persons tonight's build recomputed (None on a full refresh or when not recorded)."""
    nodes = _model_nodes(target / "manifest.json")
    models = _incremental(nodes)
    results = json.loads((target / "run_results.json").read_text())["results"]
    status = {r["unique_id"]: r["status"] for r in results}
    unbuilt = sorted(m for m in models if status.get(m) != "success")
    if unbuilt:
        log.warning("incremental state not recorded, these did not build: %s", ", ".join(unbuilt))
        return None
    replaced = [] if build.full_refresh else _replaced_by_models(nodes)
    with warehouse.store(settings) as con:
        affected = None if build.full_refresh else con.execute(
            f"select count(distinct person_id) from intermediate.{AFFECTED_MODEL}").fetchone()[0]
        con.execute("begin transaction")  # all of it or none: a half record would under-count tomorrow
        try:
            if replaced:  # before built_from is overwritten: the day-grain models kept days up to its date
                _write_changes(con, run_id, build, replaced)
            _write_last_build(con, build)
            _write_built_from(con, run_id, build)
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")
    return affected


def _write_built_from(con, run_id: str, build: BuildPlan) -> None:
    con.execute(f"""
        create schema if not exists {SCHEMA};
        create or replace table {SCHEMA}.built_from_subjects as
            select subject_key, person_id, person_key from staging.stg_identity__subject_person;
        create or replace table {SCHEMA}.built_from_persons as
            select person_id, person_key, is_child, date_of_birth from intermediate.int_persons__profile;
        create or replace table {SCHEMA}.built_from_households as
            select household_id, person_id, role, evidence, valid_from, valid_to
            from staging.stg_identity__household_members;
        create or replace table {SCHEMA}.built_from (
            run_id varchar not null, fingerprint varchar not null,
            event_ledger_id bigint not null, person_ledger_id bigint not null, status_as_of date not null,
            build_id varchar not null);
    """)
    con.execute(f"insert into {SCHEMA}.built_from values (?, ?, ?, ?, ?, ?)",
                [run_id, build.fingerprint, build.event_ledger_id, build.person_ledger_id, build.status_as_of,
                 build.build_id])


def _write_last_build(con, build: BuildPlan) -> None:
    """Before built_from is overwritten: an incremental build leads from the build recorded there."""
    based_on = None
    if not build.full_refresh:
        earlier = con.execute(f"select * from {SCHEMA}.built_from")
        row = dict(zip([d[0] for d in earlier.description], earlier.fetchone()))
        based_on = row.get("build_id")  # None when recorded by a release before build ids
    con.execute(f"create schema if not exists {SCHEMA}; "
                f"create or replace table {LAST_BUILD} (build_id varchar not null, based_on varchar)")
    con.execute(f"insert into {LAST_BUILD} values (?, ?)", [build.build_id, based_on])


def forget_changes(settings: Settings) -> None:
    """Before a build: until it is recorded, nothing says what the models' rows are."""
    with warehouse.store(settings) as con:
        con.execute(f"drop table if exists {CHANGES}; drop table if exists {CHANGED_PERSONS}; "
                    f"drop table if exists {LAST_BUILD}")


def last_build(con) -> tuple[str | None, str | None]:
    """(the id of the build the models hold, the id of the build it led from), each None when unknown."""
    if not _has_table(con, LAST_BUILD):
        return None, None
    return con.execute(f"select build_id, based_on from {LAST_BUILD}").fetchone()


def last_build_changes(con) -> list[warehouse.Patch] | None:
    """What the last recorded build replaced, or None when unknown (a full refresh, a build since)."""
    if not _has_table(con, CHANGES):
        return None
    return [warehouse.Patch(f"{schema}.{name}", _replaced_rows(key, day_column, kept))
            for schema, name, key, day_column, kept in con.execute(
                f"select table_schema, table_name, key_column, day_column, days_kept_through from {CHANGES}").fetchall()]


def _replaced_rows(key: str, day_column: str | None, days_kept_through: date | None) -> str:
    """The predicate of get_incremental_affected_persons_sql (dbt/macros/incremental_persons.sql)."""
    person = "person_key" if key == "child_key" else "person_id"
    rows = f'"{key}" is null or "{key}" in (select {person} from {CHANGED_PERSONS})'
    return rows + (f""" or "{day_column}" > date '{days_kept_through}'""" if day_column else "")


def _write_changes(con, run_id: str, build: BuildPlan, replaced: list[tuple[str, str, str, str | None]]) -> None:
    last_status = con.execute(f"select status_as_of from {SCHEMA}.built_from").fetchone()[0]
    kept = min(last_status, build.status_as_of)  # days_kept_through() of the build
    con.execute(f"""
        create or replace table {CHANGED_PERSONS} as
            select distinct person_id, person_key from intermediate.{AFFECTED_MODEL};
        create or replace table {CHANGES} (run_id varchar not null, table_schema varchar not null,
            table_name varchar not null, key_column varchar not null, day_column varchar, days_kept_through date);
    """)
    con.executemany(f"insert into {CHANGES} values (?, ?, ?, ?, ?, ?)",
                    [[run_id, schema, name, key, day, kept if day else None] for schema, name, key, day in replaced])


def _replaced_by_models(nodes: list[dict]) -> list[tuple[str, str, str, str | None]]:
    """(schema, table, key column, day column) of each model built with the affected_persons strategy."""
    return sorted((n["schema"], n["alias"], n["config"]["affected_key"], n["config"].get("day_column"))
                  for n in nodes if n["config"].get("incremental_strategy") == "affected_persons")


def incremental_models(manifest: Path) -> list[str]:
    """The project's incremental models and the affected set they read, from dbt's manifest."""
    return _incremental(_model_nodes(manifest))


def _incremental(nodes: list[dict]) -> list[str]:
    return sorted(n["unique_id"] for n in nodes
                  if n["config"].get("materialized") == "incremental" or n["name"] == AFFECTED_MODEL)


def _model_nodes(manifest: Path) -> list[dict]:
    return [n for n in json.loads(manifest.read_text())["nodes"].values() if n["resource_type"] == "model"]


def _has_table(con, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchone()[0])
