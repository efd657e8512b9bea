"""The identity stage: the ledger's current person records in, stable people out.

The unit is the subject: an agency's own id for a person within its namespace (records from two
sources of one agency that share an id are the same subject by the agency's own word). Subjects
are linked into people by, strongest first: shared valid identifiers (NHS number, UPN, the LA
child id), a person's confirmed decision, name and date of birth with corroboration
(candidates.py), and the probabilistic model. Every union passes the guard rails (cluster.py);
each person keeps its id across runs (stable.py).

Writes (schema identity, restricted store):
  subject_records  the current person records, normalised for matching
  subject_person   subject -> person id and pseudonymous key (this run)
  persons          every person id ever issued (append-only)
  history          created / merged / split / retired, per run (append-only)
  links            the evidence considered this run, applied or refused and why
  pair_scores, scored_records, model, model_term_frequencies   the model and its scored pairs,
                   kept between runs (model.py; docs/identity.md)
  subject_records_built, households_built, clustered_from   what the kept subject records, households
                   and people were made from (a night when none of it changed reuses them)
  review_queue     pairs for a person to decide, with why and what agrees (review_queue.py;
                   casehistory identity review); kept_apart: pairs a rail forbids, never offered
  decisions        the standing human decisions (from identity_decisions.csv), each applied or not
  household_evidence, household_members, relationships   families (households.py)
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path

import duckdb
import pyarrow as pa

from casehistory.settings import Settings
from casehistory.crashpoint import pause_here
from casehistory.warehouse import insert_rows
from casehistory.identity import candidates as candidates_module
from casehistory.identity import cluster as cluster_module
from casehistory.identity import names as names_module
from casehistory.identity import review_queue
from casehistory.identity import rules as rules_module
from casehistory.identity import stable as stable_module
from casehistory.identity.candidates import LINK_VERDICTS, candidate_pairs
from casehistory.identity.cluster import Clusters, Link
from casehistory.identity.decisions import Decision
from casehistory.identity.households import build_households
from casehistory.identity.model import config as model_config
from casehistory.identity.model import Refresh, refresh_pair_scores
from casehistory.identity.pseudonym import pseudonym, pseudonym_sql
from casehistory.identity.rules import PLACEHOLDER_FORENAMES
from casehistory.identity.stable import assign_in_store

log = logging.getLogger(__name__)

DDL = """
create schema if not exists identity;
create table if not exists identity.persons (
    person_id varchar primary key, created_run varchar not null, created_at timestamp not null);
create table if not exists identity.history (
    run_id varchar not null, changed_at timestamp not null, action varchar not null, person_id varchar not null,
    other_person_id varchar, subjects integer not null);
create table if not exists identity.subject_person (
    subject_key varchar primary key, person_id varchar not null, person_key varchar not null);
create table if not exists identity.clustered_from (inputs varchar not null);
"""

# Identifier links in the order they are applied (then people's "same", the name rules, the model):
# a weaker kind never undoes a stronger one.
IDENTIFIER_METHODS = ("nhs_number", "la_child_id", "upn")


@dataclass
class IdentityResult:
    subjects: int
    persons: int
    created: int
    merged: int
    split: int
    links_applied: dict[str, int] = field(default_factory=dict)
    links_refused: dict[str, int] = field(default_factory=dict)
    review_queue: int = 0
    kept_apart: int = 0  # pairs the queue would have offered that a rail forbids
    decisions_not_applied: int = 0  # standing decisions naming a subject no longer in the ledger
    households: int = 0
    model: str = ""
    records_changed: int = 0  # subject records new, changed or gone since the last run
    model_retrained: bool = False
    records_rescored: int = 0  # records whose candidate pairs the model scored this run
    seconds: dict[str, float] = field(default_factory=dict)  # wall seconds per phase (the run log keeps them)


# babies registered before they are named carry a placeholder, not a name
_PLACEHOLDERS = "[" + ", ".join(f"'{name}'" for name in sorted(PLACEHOLDER_FORENAMES)) + "]"


def subject_records_sql(of_subjects: str | None = None) -> str:
    """The subject records, from the ledger; of_subjects: a table of (subject_namespace, subject_ref),
    to make only theirs (a subject's records come from its own ledger rows alone)."""
    only = f" semi join {of_subjects} using (subject_namespace, subject_ref)" if of_subjects else ""
    return f"""
with current_person as (
    select * from ledger.person_records{only}
    qualify row_number() over (partition by source, agency, subject_ref order by version desc) = 1
),
event_only as (  -- subjects that events name but no person record describes
    select distinct e.subject_namespace, e.subject_ref, e.source, e.agency
    from ledger.event_records e{only}
    anti join current_person p using (subject_namespace, subject_ref)
),
subject_records as (
    select subject_namespace || ':' || subject_ref as subject_key, source || ':' || agency || ':' || subject_ref as record_key,
           source, agency, subject_namespace, subject_ref,
           case when nhs_number_valid then nhs_number end as nhs_number,
           case when upn_valid then upn end as upn, la_child_id,
           nullif(regexp_replace(strip_accents(lower(coalesce(forename, ''))), '[^a-z]', '', 'g'), '') as forename_key,
           nullif(regexp_replace(strip_accents(lower(coalesce(surname, ''))), '[^a-z]', '', 'g'), '') as surname_key,
           date_of_birth, sex, upper(postcode) as postcode, family_ref, person_role, ledger_id
    from current_person
    union all by name
    select subject_namespace || ':' || subject_ref as subject_key, source || ':' || agency || ':' || subject_ref as record_key,
           source, agency, subject_namespace, subject_ref
    from event_only
)
select * replace (case when list_contains({_PLACEHOLDERS}, forename_key) then null else forename_key end as forename_key)
from subject_records
"""


def build_subject_records(con: duckdb.DuckDBPyConnection, *, full: bool = False) -> int:
    """Bring identity.subject_records up to date with the ledger, rewriting only the records that
    changed (rewriting the whole table every night costs more than working out what changed).
    The ledger is append-only and its ids rise, so only subjects named by rows past the last build's
    ledger id can have changed; their records alone are made again (`full`, or a ledger that no
    longer holds the rows the last build counted, makes everyone's). Returns how many records were
    new, changed or gone."""
    con.execute("create table if not exists identity.subject_records_built (query_hash varchar not null)")
    for column in ("through_ledger_id", "ledger_rows"):  # stores built before these were recorded
        con.execute(f"alter table identity.subject_records_built add column if not exists {column} bigint")
    query_hash = hashlib.sha256(subject_records_sql().encode()).hexdigest()
    built = con.execute("select query_hash, through_ledger_id, ledger_rows from identity.subject_records_built").fetchall()
    through = con.execute("""select greatest((select max(ledger_id) from ledger.person_records),
                                             (select max(ledger_id) from ledger.event_records))""").fetchone()[0]
    if (not full and built and built[0][0] == query_hash and built[0][1] is not None
            and _ledger_rows(con, built[0][1]) == built[0][2] and _shape(con, "identity.subject_records")):
        changed = _rebuild_subjects_since(con, built[0][1])
    else:
        changed = _rebuild_everyone(con, query_hash)
    con.execute("update identity.subject_records_built set through_ledger_id = ?, ledger_rows = ?",
                [through, _ledger_rows(con, through)])
    return changed


def _ledger_rows(con: duckdb.DuckDBPyConnection, through: int | None) -> int:
    return con.execute("""select (select count(*) from ledger.person_records where ledger_id <= $1)
                               + (select count(*) from ledger.event_records where ledger_id <= $1)""",
                       [through if through is not None else -1]).fetchone()[0]


def _rebuild_subjects_since(con: duckdb.DuckDBPyConnection, through: int) -> int:
    con.execute("""create or replace temp table subjects_touched as
                   select subject_namespace, subject_ref from ledger.person_records where ledger_id > $1
                   union
                   select subject_namespace, subject_ref from ledger.event_records where ledger_id > $1""", [through])
    con.execute(f"create or replace temp table subject_records_now as {subject_records_sql('subjects_touched')}")
    changed = _replace_changed(con, """(from identity.subject_records
                                         semi join subjects_touched using (subject_namespace, subject_ref))""")
    con.execute("drop table subjects_touched")
    return changed


def _rebuild_everyone(con: duckdb.DuckDBPyConnection, query_hash: str) -> int:
    built_by = con.execute("select query_hash from identity.subject_records_built").fetchall()
    if (_shape(con, "identity.subject_records") != _shape(con, f"({subject_records_sql()})")
            or built_by != [(query_hash,)]):  # the first run, or records are now made another way
        con.execute("begin transaction")
        try:  # made in place: a million children's records are not made twice
            con.execute(f"create or replace table identity.subject_records as {subject_records_sql()}")
            con.execute("delete from identity.subject_records_built")
            con.execute("insert into identity.subject_records_built (query_hash) values (?)", [query_hash])
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return con.execute("select count(*) from identity.subject_records").fetchone()[0]
    con.execute(f"create or replace temp table subject_records_now as {subject_records_sql()}")
    return _replace_changed(con, "identity.subject_records")


def _replace_changed(con: duckdb.DuckDBPyConnection, kept: str) -> int:
    """Replace the records of `kept` (those identity.subject_records holds for the subjects in
    subject_records_now) that differ from subject_records_now; returns how many did."""
    # a record's row is a function of the ledger version it comes from (ledger_id; none for a
    # subject only events name), so comparing those finds every change without comparing every column
    con.execute(f"""create or replace temp table subject_records_changed as
                    select record_key from (select record_key, subject_key, ledger_id from {kept}
                                            except all
                                            select record_key, subject_key, ledger_id from subject_records_now)
                    union
                    select record_key from (select record_key, subject_key, ledger_id from subject_records_now
                                            except all
                                            select record_key, subject_key, ledger_id from {kept})""")
    changed = con.execute("select count(*) from subject_records_changed").fetchone()[0]
    if changed:
        con.execute("begin transaction")
        try:
            con.execute("delete from identity.subject_records where record_key in (from subject_records_changed)")
            con.execute("""insert into identity.subject_records
                           from subject_records_now where record_key in (from subject_records_changed)""")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    con.execute("drop table subject_records_changed")
    con.execute("drop table subject_records_now")
    return changed


def _shape(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple] | None:
    try:
        return [(c[0], c[1]) for c in con.execute(f"select * from {table} limit 0").description]
    except duckdb.CatalogException:
        return None


def identifier_links(con: duckdb.DuckDBPyConnection) -> list[Link]:
    """Subjects sharing a valid NHS number or UPN, and subjects naming a csc subject's LA child id."""
    rows = con.execute(
        """
        with star as (  -- each subject to the first subject sharing the value: n-1 links, not n^2
            select 'nhs_number' as method, subject_key,
                   min(subject_key) over (partition by nhs_number) as anchor
            from identity.subject_records where nhs_number is not null
            union all
            select 'upn', subject_key, min(subject_key) over (partition by upn)
            from identity.subject_records where upn is not null
        )
        select distinct method, subject_key, anchor from star where subject_key <> anchor
        union all
        select distinct 'la_child_id', s.subject_key, c.subject_key
        from identity.subject_records s
        join identity.subject_records c on c.subject_namespace = 'csc' and c.subject_ref = s.la_child_id
        where s.subject_key <> c.subject_key
        """
    ).fetchall()
    order = {m: i for i, m in enumerate(IDENTIFIER_METHODS)}
    rows.sort(key=lambda r: (order[r[0]], r[1], r[2]))
    return [Link(a, b, method) for method, a, b in rows]


def resolve(con: duckdb.DuckDBPyConnection, run_id: str, key: bytes, *, settings: Settings,
            decisions: list[Decision] = (), scorer=refresh_pair_scores, full: bool = False) -> IdentityResult:
    """Cluster subjects into people and write the identity tables.

    Links are applied strongest first: identifiers, then a person's "same" decisions, then name
    and date of birth with corroboration (candidates.py), then the model's links by descending
    probability. A person's "different" decisions hold whatever the evidence.
    `scorer(con, settings, config, run_id=, full=)` brings identity.pair_scores (scored record
    pairs) up to date and returns a Refresh (the Splink model, scoring only pairs with a new or
    changed record unless `full`; None: no model, as in a run too small to train one).
    Clustering runs over every subject, so every decision and guard rail applies to everyone,
    whenever anything it reads has changed (identity.clustered_from keeps a digest of it all); on
    a night when nothing has, last night's people stand and only the households are refreshed.
    """
    seconds: dict[str, float] = {}
    clock = _Clock(seconds)
    con.execute(DDL)
    records_changed = build_subject_records(con, full=full)
    cfg = model_config()
    clock.lap("subject records")
    # The name rules' candidates and the identifier links read the subject records alone: found on
    # a second connection while the model trains and scores (Splink's many small statements leave
    # one of two cores mostly idle). Not when no record changed: clustering may then not run at all.
    beside = _Beside(con, lambda side: (candidate_pairs(side), identifier_links(side))) if records_changed or full else None
    try:
        refresh = (scorer(con, settings, cfg, run_id=run_id, full=full) if scorer
                   else Refresh("not used: linking on identifiers, decisions and name rules only"))
        clock.lap("model")
        inputs = _clustering_inputs(con, key, cfg, decisions, scored=scorer is not None)
        if not full and con.execute("select inputs from identity.clustered_from").fetchall() == [(inputs,)]:
            return _as_last_clustered(con, refresh, records_changed)
        candidates, found_by_identifiers = (beside.result() if beside
                                            else (candidate_pairs(con), identifier_links(con)))
    finally:
        if beside:
            beside.close()
    known = _present(con, {s for d in decisions for s in (d.subject_a, d.subject_b)})
    # a decision naming a subject the ledger no longer holds cannot be obeyed: said, not skipped quietly
    not_applied = [d for d in decisions if d.subject_a not in known or d.subject_b not in known]
    if not_applied:
        log.warning("identity: %d standing decision(s) name a subject no longer in the ledger and are not "
                    "applied (casehistory identity decisions lists them)", len(not_applied))
    decisions_known = [d for d in decisions if d.subject_a in known and d.subject_b in known]

    # records -> subjects, keeping each subject pair's best score
    scored = con.execute(
        """select least(a.subject_key, b.subject_key), greatest(a.subject_key, b.subject_key),
                  max(p.probability), bool_or(p.forenames_differ)
           from identity.pair_scores p
           join identity.subject_records a on a.record_key = p.record_a
           join identity.subject_records b on b.record_key = p.record_b
           where p.probability >= ? and a.subject_key <> b.subject_key
           group by all""", [cfg.review_threshold]).fetchall() if scorer else []
    by_pair = {(a, b): p for a, b, p, _ in scored}
    forenames_differ = {(a, b) for a, b, _, differ in scored if differ}
    # Twins share a birth date, surname and address: their forenames tell them apart, so the model
    # never links two clearly different forenames by itself; a person decides (review queue). (The
    # same-agency rail in cluster.py catches twins whose names are alike, as Ruby and Reuben.)
    model_links = sorted((Link(a, b, "model", p) for (a, b), p in by_pair.items()
                          if p >= cfg.link_threshold and (a, b) not in forenames_differ),
                         key=lambda l: (-l.probability, l.a, l.b))
    human = [Link(d.subject_a, d.subject_b, "human") for d in decisions_known if d.decision == "same"]
    rank = {verdict: i for i, verdict in enumerate(LINK_VERDICTS)}
    name_links = sorted((Link(c.a, c.b, c.verdict, one_family=c.one_family) for c in candidates
                         if c.verdict in rank), key=lambda l: (rank[l.method], l.a, l.b))
    # every subject these name is in identity.subject_records (the decisions' were checked above)
    links = found_by_identifiers + human + name_links + model_links
    clock.lap("candidates")

    # Only subjects that a link, a scored pair, a name-rule candidate or a decision names go through
    # the union-find; the others (most subjects at a million children) are people of one subject,
    # as they would come out
    linked = chain((s for link in links for s in (link.a, link.b)), (s for pair in by_pair for s in pair),
                   (s for c in candidates for s in (c.a, c.b)),
                   (s for d in decisions_known for s in (d.subject_a, d.subject_b)))
    clusters = Clusters()
    for d in decisions_known:
        if d.decision == "different":
            clusters.keep_apart(d.subject_a, d.subject_b)
    clusters.link_all(links, linked, attributes=lambda subjects: _attributes(con, subjects),
                      may_refuse=lambda component: _may_refuse(con, component))

    queue = review_queue.Queue()
    decided = {d.pair for d in decisions}
    offers = sorted((a, b, review_queue.MODEL_UNSURE if p < cfg.link_threshold else review_queue.FORENAMES_DIFFER)
                    for (a, b), p in by_pair.items() if p < cfg.link_threshold or (a, b) in forenames_differ)
    # with no model, nobody else would look at a pair the name rules cannot settle
    model_scored = scorer is not None and not refresh.note.startswith("not used")
    offers += [(c.a, c.b, review_queue.CANDIDATE_WEAK if c.verdict == "corroborated" else review_queue.WITHOUT_A_MODEL[c.verdict])
               for c in candidates
               if c.verdict == "corroborated" or (c.verdict in review_queue.WITHOUT_A_MODEL and not model_scored)]
    # a person's "same" a rail refused stays decided: kept apart in links
    offers += [(r.link.a, r.link.b, review_queue.REFUSED.get(r.rule, r.rule)) for r in clusters.refused
               if r.link.method != "human"]
    clusters.load(s for a, b, _ in offers for s in (a, b))  # the rails read them: in one query, not one per pair
    for a, b, reason in offers:
        queue.offer(a, b, reason, clusters, decided)
    clock.lap("clustering")

    issued = con.execute("select coalesce(max(cast(substr(person_id, 2) as bigint)), 0) from identity.persons").fetchone()[0]
    _members(con, clusters)
    result = assign_in_store(con, "_members", issued + 1)
    now = datetime.now().replace(microsecond=0)
    changed = Counter(c.action for c in result.changes)
    counts = (*con.execute(f"select count(*), count(distinct person_id) from {result.persons}").fetchone(),
              con.execute(f"select count(*) from {result.created}").fetchone()[0], changed["merged"], changed["split"])
    applied = dict(Counter(link.method for link in clusters.applied))
    refused = dict(Counter(r.rule for r in clusters.refused))
    kept_apart = len(queue.kept_apart)
    clock.lap("person ids")

    con.execute("begin transaction")
    try:
        people_moved = _update_subject_person(con, key, result.persons)
        con.execute(f"insert into identity.persons (person_id, created_run, created_at) select person_id, ?, ? from {result.new_ids}",
                    [run_id, now])
        con.execute(f"""insert into identity.history (run_id, changed_at, action, person_id, other_person_id, subjects)
                        select ?, ?, 'created', person_id, null, subjects from {result.created}""", [run_id, now])
        insert_rows(con, "identity.history", ["run_id", "changed_at", "action", "person_id", "other_person_id", "subjects"],
                    [(run_id, now, c.action, c.person_id, c.other_person_id, c.subjects) for c in result.changes])
        _write_links(con, run_id, clusters)
        pause_here("link")
        queued = review_queue.write(con, run_id, queue, by_pair)
        _write_decisions(con, decisions, known)
        for table in ("_members", result.persons, result.new_ids, result.created):
            con.execute(f"drop table {table}")
        clock.lap("writing people")
        # clustering's Python structures (over a gigabyte at a million children) go before the
        # households' SQL, so the process's peak stays near DuckDB's memory limit
        del scored, by_pair, links, clusters, result, linked, queue, candidates, offers
        households = build_households(con, people_unchanged=not full and records_changed == 0 and not people_moved)
        con.execute("delete from identity.clustered_from")
        con.execute("insert into identity.clustered_from values (?)", [inputs])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    clock.lap("households")
    log.info("identity: seconds per phase %s", seconds)

    return IdentityResult(*counts, applied, refused, queued, kept_apart, len(not_applied), households["households"],
                          refresh.note, records_changed, refresh.retrained, refresh.rescored, seconds)


class _Beside:
    """`work(connection)` in a thread of its own, on a second connection to the store (DuckDB runs
    one statement per connection at a time; both share its memory limit and threads)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, work):
        catalog = con.execute("select current_database()").fetchone()[0]  # the store (encrypted: attached)
        self.side = con.cursor()
        self.side.execute(f'use "{catalog}"')
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="identity-beside")
        self.future = self.pool.submit(work, self.side)

    def result(self):
        return self.future.result()

    def close(self) -> None:
        """Stop the work if it still runs (a night that needs none of it), then let go of its connection."""
        if not self.future.done():
            self.side.interrupt()
        try:
            self.future.exception()  # waits; an interrupted or failed piece of work matters only to result()
        finally:
            self.pool.shutdown()
            self.side.close()


class _Clock:
    """Wall seconds per phase, into `seconds`: where a night's identity time goes, in its run log."""

    def __init__(self, seconds: dict[str, float]):
        self.seconds, self.started = seconds, time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(now - self.started, 1)
        self.started = now


def _present(con: duckdb.DuckDBPyConnection, subjects: set[str]) -> set[str]:
    """Those of `subjects` the subject records hold."""
    if not subjects:
        return set()
    with _registered(con, "_asked", {"subject_key": sorted(subjects)}):
        return {s for (s,) in con.execute(
            "select distinct subject_key from identity.subject_records semi join _asked using (subject_key)").fetchall()}


def _attributes(con: duckdb.DuckDBPyConnection, subjects: list[str]) -> list[tuple]:
    """What the rails read of each subject: its valid NHS numbers, UPNs, dates of birth, sexes (M, F)."""
    with _registered(con, "_asked", {"subject_key": subjects}):
        return con.execute(
            """select subject_key, list(distinct nhs_number) filter (where nhs_number is not null),
                      list(distinct upn) filter (where upn is not null),
                      list(distinct date_of_birth) filter (where date_of_birth is not null),
                      list(distinct sex) filter (where sex in ('M', 'F'))
               from identity.subject_records semi join _asked using (subject_key) group by subject_key"""
        ).fetchall()


def _may_refuse(con: duckdb.DuckDBPyConnection, component: dict[str, str]) -> set[str]:
    """The components (subject -> component) in which a rail could refuse a union: more than one
    valid NHS number, UPN, date of birth or recorded sex, or two subjects of one agency."""
    # "more than one" as least <> greatest (nulls aside): no distinct counts, which cost a hash
    # table per component
    with _registered(con, "_component", {"subject_key": list(component), "component": list(component.values())}):
        return {c for (c,) in con.execute(
            """select component from (
                   select c.component, r.subject_namespace,
                          min(r.nhs_number) as nhs_least, max(r.nhs_number) as nhs_greatest,
                          min(r.upn) as upn_least, max(r.upn) as upn_greatest,
                          min(r.date_of_birth) as dob_least, max(r.date_of_birth) as dob_greatest,
                          min(r.sex) filter (where r.sex in ('M', 'F')) as sex_least,
                          max(r.sex) filter (where r.sex in ('M', 'F')) as sex_greatest,
                          min(r.subject_key) <> max(r.subject_key) as agency_twice
                   from _component c join identity.subject_records r using (subject_key)
                   group by c.component, r.subject_namespace)
               group by component
               having min(nhs_least) <> max(nhs_greatest) or min(upn_least) <> max(upn_greatest)
                   or min(dob_least) <> max(dob_greatest) or min(sex_least) <> max(sex_greatest)
                   or bool_or(agency_twice)""").fetchall()}


def _members(con: duckdb.DuckDBPyConnection, clusters: Clusters) -> None:
    """Temp table _members (subject_key, cluster_key): every subject and its cluster's least subject;
    a subject no link or pair names is a cluster of its own."""
    subjects, keys = [], []
    for group in clusters.groups.values():
        least = min(group.members)
        subjects.extend(group.members)
        keys.extend([least] * len(group.members))
    with _registered(con, "_clustered", {"subject_key": subjects, "cluster_key": keys}):
        con.execute("""create or replace temp table _members as
                       select s.subject_key, coalesce(c.cluster_key, s.subject_key) as cluster_key
                       from (select distinct subject_key from identity.subject_records) s
                       left join _clustered c using (subject_key)""")


@contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list[str]]) -> Iterator[None]:
    """String columns from Python as a view `name` on the connection, for the statements inside."""
    con.register(name, pa.table({c: pa.array(values, pa.string()) for c, values in columns.items()}))
    try:
        yield
    finally:
        con.unregister(name)


def _clustering_inputs(con: duckdb.DuckDBPyConnection, key: bytes, cfg, decisions: list[Decision], *,
                       scored: bool) -> str:
    """Everything clustering reads, as one digest: the subject records, the scored pairs, the
    decisions, the thresholds, the code and the pseudonym secret (a changed secret changes every key)."""
    h = hashlib.sha256()
    for module in (candidates_module, cluster_module, names_module, review_queue, rules_module, stable_module):
        h.update(Path(module.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())
    h.update(names_module.VARIANTS_FILE.read_bytes())
    h.update(repr((cfg, list(decisions), scored)).encode())
    h.update(pseudonym(key, "identity.clustered_from").encode())
    for table in ("identity.subject_records", "identity.pair_scores" if scored else None):
        if table is not None and _shape(con, table) is not None:
            h.update(repr(con.execute(f"select count(*), sum(hash(t)::hugeint) from {table} as t").fetchone()).encode())
    return h.hexdigest()


def _as_last_clustered(con: duckdb.DuckDBPyConnection, refresh: Refresh, records_changed: int) -> IdentityResult:
    """Nothing clustering reads has changed since it last ran, so its people stand as written then;
    only the households are brought up to date (events may have arrived)."""
    con.execute("begin transaction")
    try:
        households = build_households(con, people_unchanged=True)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    counted = lambda sql: dict(con.execute(sql).fetchall())  # noqa: E731
    return IdentityResult(
        one("select count(distinct subject_key) from identity.subject_records"),
        one("select count(distinct person_id) from identity.subject_person"), 0, 0, 0,
        counted("select method, count(*) from identity.links where applied group by all"),
        counted("select refused_because, count(*) from identity.links where not applied group by all"),
        one("select count(*) from identity.review_queue"), one("select count(*) from identity.kept_apart"),
        one("select count(*) from identity.decisions where not applied"), households["households"],
        refresh.note + "; people as clustered last run: nothing clustering reads has changed",
        records_changed, refresh.retrained, refresh.rescored)


def _update_subject_person(con: duckdb.DuckDBPyConnection, key: bytes, persons: str) -> int:
    """Write subject -> person (`persons`: a table of subject_key, person_id) and its pseudonymous
    key, touching only the subjects whose person (or key) changed: deleting and reinserting every
    row of a primary-keyed table is the slowest part of a quiet night. A person keeps the key
    stored for it while the secret is the one it was made with (checked on one person); other keys
    are computed, in DuckDB. Returns how many rows were deleted or inserted."""
    one = con.execute("select person_id, person_key from identity.subject_person limit 1").fetchone()
    same_secret = one is not None and pseudonym(key, one[0]) == one[1]
    computed, params = pseudonym_sql(key, "p.person_id")
    try:
        con.execute(f"""create or replace temp table _now as
                        with stored as (select person_id, min(person_key) as person_key from identity.subject_person
                                        where {same_secret} group by person_id),
                        keys as (  -- once per person, not per subject
                            select p.person_id, coalesce(s.person_key, {computed}) as person_key
                            from (select distinct person_id from {persons}) p left join stored s using (person_id))
                        select n.subject_key, n.person_id, k.person_key from {persons} n join keys k using (person_id)""",
                    params)
        # the rows that differ, by anti joins on every column (hash joins; a correlated
        # "not exists" per stored row took most of a million-children night)
        deleted = con.execute("""delete from identity.subject_person where subject_key in (
                                     select subject_key from identity.subject_person
                                     anti join _now using (subject_key, person_id, person_key))""").fetchone()[0]
        inserted = con.execute("""insert into identity.subject_person (subject_key, person_id, person_key)
                       select subject_key, person_id, person_key from _now anti join identity.subject_person using (subject_key)""").fetchone()[0]
        return deleted + inserted
    finally:
        con.execute("drop table if exists _now")


def _write_decisions(con: duckdb.DuckDBPyConnection, decisions: list[Decision], known: dict[str, str]) -> None:
    con.execute("""create or replace table identity.decisions (subject_a varchar, subject_b varchar, decision varchar,
                   decided_by varchar, decided_at varchar, note varchar,
                   applied boolean not null)  -- false: a subject is no longer in the ledger""")
    insert_rows(con, "identity.decisions",
                ["subject_a", "subject_b", "decision", "decided_by", "decided_at", "note", "applied"],
                [(d.subject_a, d.subject_b, d.decision, d.decided_by, d.decided_at, d.note,
                  d.subject_a in known and d.subject_b in known) for d in decisions])


def _write_links(con: duckdb.DuckDBPyConnection, run_id: str, clusters: Clusters) -> None:
    rows = [(run_id, l.a, l.b, l.method, l.probability, True, None) for l in clusters.applied]
    rows += [(run_id, r.link.a, r.link.b, r.link.method, r.link.probability, False, r.rule) for r in clusters.refused]
    con.execute(
        """create or replace table identity.links (run_id varchar, subject_a varchar, subject_b varchar,
           method varchar, probability double, applied boolean, refused_because varchar)"""
    )
    insert_rows(con, "identity.links", ["run_id", "subject_a", "subject_b", "method", "probability", "applied",
                                        "refused_because"], rows)
