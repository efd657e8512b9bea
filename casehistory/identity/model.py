"""Probabilistic linking with Splink on DuckDB: scores pairs of person records no identifier links.

The model compares forename and surname (Jaro-Winkler levels), date of birth (exact, day and
month transposed, one day out, one digit of the year out), sex and postcode (unit, sector,
district). It is trained on the data itself: u probabilities from seeded random pairs, m
probabilities from the pairs that valid NHS numbers and UPNs already link across agencies. It
runs on the store's own connection, in an in-memory database attached beside the store for the
run (WORKSPACE): Splink's working tables never reach the store file, and the model shares the
pipeline's one memory limit (CASEHISTORY_MEMORY_LIMIT), spilling to the store's temp folder,
instead of opening a second DuckDB with a limit of its own.

Candidate pairs come from the blocking rules in identity.yml, none of them on date of birth
alone: each pairs records that agree on a date of birth or a name and on something more, so the
pairs grow about as the records do, not as their square.

Scoring is incremental. identity.pair_scores keeps every candidate pair scored at or above the
review threshold, identity.scored_records a hash of each record as it was scored, and
identity.model the trained model with its name frequencies (identity.model_term_frequencies:
an exact match on a rare name weighs more than on a common one). A night rescores only the pairs
involving a record that is new, changed or gone since (Splink's predict_between and
predict_within), with the stored model and frequencies, so it scores each pair exactly as a full
rescoring with that model would; a name first seen since training has no frequency yet and gets
the model's average weight for an exact match.
It retrains and rescores everything on a full run (`casehistory rebuild`), when there is no
model yet, when the model's code, configuration or Splink's version changed, and when the
records have grown or shrunk by more than `retrain_growth` since it was trained.
"""

from __future__ import annotations

import logging
import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from pathlib import Path

import duckdb
import yaml

from casehistory.settings import Settings
from casehistory.warehouse import insert_rows

log = logging.getLogger(__name__)
CONFIG = Path(__file__).resolve().parent.parent / "reference" / "identity.yml"


@dataclass(frozen=True)
class ModelConfig:
    link_threshold: float
    review_threshold: float
    blocking_rules: tuple[tuple[str, ...], ...]
    u_max_pairs: int
    seed: int
    identifier_recall: float
    min_labelled_pairs: int
    min_records_for_em: int
    retrain_growth: float


@cache
def config() -> ModelConfig:
    doc = yaml.safe_load(CONFIG.read_text())
    cfg = ModelConfig(float(doc["link_threshold"]), float(doc["review_threshold"]),
                      tuple(tuple(rule) for rule in doc["blocking_rules"]), int(doc["u_max_pairs"]),
                      int(doc["seed"]), float(doc["identifier_recall"]), int(doc["min_labelled_pairs"]),
                      int(doc["min_records_for_em"]), float(doc["retrain_growth"]))
    if not 0 < cfg.review_threshold <= cfg.link_threshold < 1:
        raise ValueError(f"{CONFIG}: need 0 < review_threshold <= link_threshold < 1")
    if cfg.retrain_growth < 0:
        raise ValueError(f"{CONFIG}: retrain_growth must not be negative")
    return cfg


@dataclass
class ScoredPair:
    record_a: str
    record_b: str
    probability: float
    forenames_differ: bool  # both known and not alike (Jaro-Winkler below FORENAME_ALIKE)


FORENAME_ALIKE = 0.75  # Tom/Thomas and Ollie/Oliver are alike; Evelyn/Aisha are not


INPUT_SQL = """
select record_key as unique_id, subject_key, forename_key, surname_key, date_of_birth,
       year(date_of_birth) as birth_year,
       left(forename_key, 1) as forename_initial, left(surname_key, 1) as surname_initial,  -- for blocking
       case when sex in ('M', 'F') then sex end as sex,
       case when regexp_full_match(postcode, '[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}') then postcode end as postcode,
       nhs_number, upn
from identity.subject_records
where date_of_birth is not null and (forename_key is not null or surname_key is not null)
"""
# each record as the model sees it, hashed: a record whose hash changed is scored again
INPUT_WITH_HASH_SQL = f"select r.*, md5(to_json(r)) as input_hash from ({INPUT_SQL}) r"

DDL = """
create schema if not exists identity;
create table if not exists identity.pair_scores (
    record_a varchar not null, record_b varchar not null, probability double not null,
    forenames_differ boolean not null);
create table if not exists identity.scored_records (unique_id varchar primary key, input_hash varchar not null);
create table if not exists identity.model (
    fingerprint varchar not null, model_json varchar not null, records bigint not null, labelled bigint not null,
    training varchar not null, created_run varchar not null, created_at timestamp not null);  -- created: trained
create table if not exists identity.model_term_frequencies (
    column_name varchar not null, term varchar not null, tf double not null);
"""
PAIR_COLUMNS = ["record_a", "record_b", "probability", "forenames_differ"]


def _dob_comparison():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_levels=[
            cll.NullLevel("date_of_birth"),
            cll.ExactMatchLevel("date_of_birth"),
            cll.CustomLevel("""day(date_of_birth_l) = month(date_of_birth_r)
                               and month(date_of_birth_l) = day(date_of_birth_r)
                               and year(date_of_birth_l) = year(date_of_birth_r)""", "day and month transposed"),
            cll.CustomLevel("abs(date_diff('day', date_of_birth_l, date_of_birth_r)) = 1", "one day apart"),
            cll.CustomLevel("""month(date_of_birth_l) = month(date_of_birth_r) and day(date_of_birth_l) = day(date_of_birth_r)
                               and levenshtein(year(date_of_birth_l)::varchar, year(date_of_birth_r)::varchar) = 1""",
                            "one digit of the year different"),
            cll.ElseLevel(),
        ],
    )


def prior(records: int, labelled: int, recall: float) -> float:
    """The chance two random records are one person: identifier-linked pairs, scaled up by the
    identifiers' assumed recall, over all pairs; with no identifier links, one match per record."""
    pairs = records * (records - 1) / 2
    matches = labelled / recall if labelled else records
    return min(max(matches / pairs, 1e-9), 0.5)


def settings_for(cfg: ModelConfig, probability_two_random_records_match: float = 0.0001):
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            cl.NameComparison("forename_key"),
            cl.NameComparison("surname_key"),
            _dob_comparison(),
            cl.ExactMatch("sex"),
            cl.PostcodeComparison("postcode"),
        ],
        blocking_rules_to_generate_predictions=[block_on(*rule) for rule in cfg.blocking_rules],
        probability_two_random_records_match=probability_two_random_records_match,
        additional_columns_to_retain=["subject_key"],
        retain_matching_columns=False,
    )


def smoothed(model: dict, m_observations: int, u_observations: int) -> dict:
    """Fill m and u probabilities no observation reached with half an observation's worth,
    renormalised, rather than Splink's generic defaults."""
    for name, observations in (("m_probability", m_observations), ("u_probability", u_observations)):
        floor = 0.5 / (observations + 1)
        for comparison in model["comparisons"]:
            levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
            for lv in levels:
                if lv.get(name) is None:
                    lv[name] = floor
            total = sum(lv[name] for lv in levels)
            for lv in levels:
                lv[name] /= total
    return model


@dataclass
class Refresh:
    """What refresh_pair_scores did this run."""

    note: str  # how the model was trained or reused this run, or why it was not used
    retrained: bool = False
    records: int = 0  # records the model sees
    rescored: int = 0  # records whose pairs were scored again this run (new, changed or gone)
    pairs: int = 0  # pairs scored this run at or above the review threshold


def fingerprint(cfg: ModelConfig) -> str:
    """Changes when the model's code, its configuration or Splink does: a stored model is then stale.
    (link_threshold only decides which scored pairs link, so changing it needs no retraining.)"""
    import splink

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(repr(replace(cfg, link_threshold=0.0)).encode())
    h.update(splink.__version__.encode())
    return h.hexdigest()


WORKSPACE = "identity_workspace"  # the in-memory database Splink works in, attached to the store's connection


class _Workspace:
    """An in-memory database attached to the store's connection and made the default for a while:
    Splink creates its tables there (unqualified names), under the connection's one memory limit,
    and they go when it is detached. leave() makes the store the default again (the workspace's
    tables stay readable as identity_workspace.<table>)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.home = con.execute("select current_database()").fetchone()[0]

    def __enter__(self) -> _Workspace:
        self.con.execute(f"attach ':memory:' as {WORKSPACE}")
        self.con.execute(f"use {WORKSPACE}")
        return self

    def leave(self) -> None:
        self.con.execute(f'use "{self.home}"')

    def __exit__(self, *exc) -> None:
        self.leave()
        self.con.execute(f"detach {WORKSPACE}")


def refresh_pair_scores(con: duckdb.DuckDBPyConnection, settings: Settings, cfg: ModelConfig | None = None, *,
                        run_id: str, full: bool = False) -> Refresh:
    """Bring identity.pair_scores up to date with identity.subject_records: pairs of records of
    different subjects the model scores at or above the review threshold. (settings: the store's
    connection already carries its memory limit, threads and temp folder; kept for the scorer's
    signature.)"""
    cfg = cfg or config()
    con.execute(DDL)
    # compared with what was scored inside the store: a night with nothing new or changed (most
    # nights) then never copies the records out
    con.execute(f"create or replace temp table _model_input as {INPUT_WITH_HASH_SQL}")
    try:
        count = con.execute("select count(*) from _model_input").fetchone()[0]
        if count < 2:
            return _forget_model(con, "not used: fewer than two records to compare")
        stored = con.execute("select fingerprint, model_json, records, training, created_run from identity.model").fetchone()
        why = _retrain_reason(stored, count, cfg, full)
        changed = None  # everything
        if not why:
            training = f"{stored[3]}, trained in run {stored[4]}"
            con.execute("""
                create or replace temp table _changed as
                select unique_id from _model_input anti join identity.scored_records using (unique_id, input_hash)
                union
                select unique_id from identity.scored_records anti join _model_input using (unique_id, input_hash)
                """)
            changed = con.execute("select count(*) from _changed").fetchone()[0]
            if not changed:
                return Refresh(f"model reused ({training}): no record new or changed", records=count)
        with _Workspace(con) as work:
            # in a fixed order: the seeded sampling for u then draws the same pairs whatever order the store holds them in
            con.execute("create table model_records as select * exclude (input_hash) from _model_input order by unique_id")
            if why:
                model, labelled, training = _train(con, count, cfg)
            else:
                model = json.loads(stored[1])
                con.execute(f"""create table term_frequencies as
                                select column_name, term, tf from "{work.home}".identity.model_term_frequencies""")
            if model is not None:
                _predict(con, model, cfg, changed is not None)
            work.leave()
            if model is None:
                return _forget_model(con, training)
            pairs = _store_scores(con, model, count, labelled if why else 0, training, cfg, run_id, retrained=bool(why))
    finally:
        con.execute("drop table if exists _model_input")
        con.execute("drop table if exists _changed")
    if changed is None:
        note = f"trained this run ({why}): {training}; {pairs} pairs scored >= {cfg.review_threshold:.2f}"
        result = Refresh(note, True, count, count, pairs)
    else:
        note = (f"model reused ({training}): {changed} records new, changed or gone, "
                f"{pairs} of their pairs scored >= {cfg.review_threshold:.2f}")
        result = Refresh(note, False, count, changed, pairs)
    log.info("identity model: %d records; %s", count, note)
    return result


def _store_scores(con: duckdb.DuckDBPyConnection, model: dict, records: int, labelled: int, training: str,
                  cfg: ModelConfig, run_id: str, *, retrained: bool) -> int:
    """Write the workspace's scored pairs (and, when it was trained this run, the model and its
    frequencies) to the store, in one transaction; returns how many pairs were scored."""
    scored = f"{WORKSPACE}.scored_pairs"
    con.execute("begin transaction")
    try:
        if retrained:
            con.execute("delete from identity.pair_scores")
            con.execute("delete from identity.scored_records")
            con.execute("insert into identity.scored_records select unique_id, input_hash from _model_input")
            con.execute("delete from identity.model")
            con.execute("delete from identity.model_term_frequencies")
            con.execute(f"""insert into identity.model_term_frequencies
                            select column_name, term, tf from {WORKSPACE}.term_frequencies""")
            con.execute("insert into identity.model values (?, ?, ?, ?, ?, ?, ?)",
                        [fingerprint(cfg), json.dumps(model), records, labelled, training, run_id,
                         datetime.now().replace(microsecond=0)])
        else:
            con.execute("""delete from identity.pair_scores
                           where record_a in (from _changed) or record_b in (from _changed)""")
            con.execute("delete from identity.scored_records where unique_id in (from _changed)")
            con.execute("""insert into identity.scored_records select unique_id, input_hash from _model_input
                           where unique_id in (from _changed)""")
        con.execute(f"insert into identity.pair_scores ({', '.join(PAIR_COLUMNS)}) select {', '.join(PAIR_COLUMNS)} from {scored}")
        pairs = con.execute(f"select count(*) from {scored}").fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return pairs


def replace_pair_scores(con: duckdb.DuckDBPyConnection, pairs: list[ScoredPair], note: str) -> Refresh:
    """Set identity.pair_scores to these pairs, as a scorer standing in for the model does."""
    con.execute(DDL)
    con.execute("delete from identity.pair_scores")
    insert_rows(con, "identity.pair_scores", PAIR_COLUMNS,
                [(p.record_a, p.record_b, p.probability, p.forenames_differ) for p in pairs])
    return Refresh(note, retrained=True, pairs=len(pairs))


def _retrain_reason(stored: tuple | None, records: int, cfg: ModelConfig, full: bool) -> str | None:
    if full:
        return "a full run"
    if stored is None:
        return "no model trained yet"
    if stored[0] != fingerprint(cfg):
        return "the model's code, its configuration or Splink changed"
    if abs(records - stored[2]) > cfg.retrain_growth * stored[2]:
        return f"{records} records against {stored[2]} when it was trained"
    return None


def _forget_model(con: duckdb.DuckDBPyConnection, note: str) -> Refresh:
    """No model this run: no scored pairs, and the next run trains again."""
    log.warning("identity model %s", note)
    con.execute("begin transaction")
    try:
        for table in ("pair_scores", "scored_records", "model", "model_term_frequencies"):
            con.execute(f"delete from identity.{table}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return Refresh(note)


def _train(work: duckdb.DuckDBPyConnection, records: int, cfg: ModelConfig) -> tuple[dict | None, int, str]:
    """The model trained on model_records, with the identifier-linked pairs behind it and how it
    was trained (or None, 0 and why it could not be); its term frequencies go to the table
    term_frequencies. `work` is the store's connection with the workspace as its default database."""
    from splink import DuckDBAPI, Linker, block_on
    from splink.internals.exceptions import EMTrainingException

    # identifier links across subjects: labels for m, and the basis of the prior
    work.execute("""
        create or replace table model_labels as
        select distinct unique_id_l, unique_id_r from (
            select l.unique_id as unique_id_l, r.unique_id as unique_id_r, l.subject_key as a, r.subject_key as b
            from model_records l join model_records r on l.nhs_number = r.nhs_number
            union all
            select l.unique_id, r.unique_id, l.subject_key, r.subject_key
            from model_records l join model_records r on l.upn = r.upn
        ) where unique_id_l < unique_id_r and a <> b""")  # two equi-joins: an OR would not hash
    labelled = work.execute("select count(*) from model_labels").fetchone()[0]
    table = DuckDBAPI(connection=work).register("model_records", dataset_display_name="model_records")
    linker = Linker(table, settings_for(cfg, prior(records, labelled, cfg.identifier_recall)), log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=cfg.u_max_pairs, seed=cfg.seed)
    sampled = min(cfg.u_max_pairs, records * (records - 1) // 2)
    if labelled >= cfg.min_labelled_pairs:
        linker.training.estimate_m_from_pairwise_labels("model_labels")
        training = f"m from {labelled} identifier-linked pairs"
    elif records >= cfg.min_records_for_em:  # identifier-poor data: learn m by EM
        try:
            # each session on a rule that grows with the records, not their square
            for rule in (block_on("date_of_birth", "surname_initial"), block_on("forename_key", "surname_key")):
                linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except EMTrainingException as exc:
            return None, 0, f"not used: expectation maximisation found nothing to learn from ({exc})"
        training = f"m by expectation maximisation ({labelled} identifier-linked pairs were too few)"
    else:
        return None, 0, (f"not used: {records} records and {labelled} identifier-linked pairs are too few "
                         "to learn from")
    # a level no training pair reached (a sex mismatch, a year typo) gets a small probability from
    # add-half smoothing, not Splink's generic default; through JSON as it is stored, so a night
    # reusing the stored model scores exactly as this one
    model = json.loads(json.dumps(smoothed(linker.misc.save_model_to_json(), max(labelled, 1), sampled)))
    model.pop("linker_uid", None)  # random per linker: the same data must give the same stored model
    work.execute("create or replace table term_frequencies (column_name varchar, term varchar, tf double)")
    for column in _tf_columns(model):
        tf = linker.table_management.compute_tf_table(column)
        work.execute(f"""insert into term_frequencies select '{column}', "{column}", "tf_{column}"
                         from {tf.physical_name} where "{column}" is not null""")
    return model, labelled, training


def _tf_columns(model: dict) -> list[str]:
    """Columns whose exact matches the model weighs by how common the value is."""
    return sorted({lv["tf_adjustment_column"] for c in model["comparisons"] for lv in c["comparison_levels"]
                   if lv.get("tf_adjustment_column")})


def _predict(work: duckdb.DuckDBPyConnection, model: dict, cfg: ModelConfig, only_changed: bool) -> None:
    """Pairs scored at or above the review threshold, into the table scored_pairs: every candidate
    pair, or (only_changed) those involving a record in _changed (the changed against the rest,
    and among themselves). Term frequencies are those the model was trained with, from the table
    term_frequencies, not today's."""
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=work)
    linker = Linker(db_api.register("model_records", dataset_display_name="model_records"), model,
                    log_level=logging.WARNING)
    for column in _tf_columns(model):
        work.execute(f"""create or replace table "model_tf_{column}" as select term as "{column}", tf as "tf_{column}"
                         from term_frequencies where column_name = '{column}'""")
        linker.table_management.register_term_frequency_lookup(
            db_api.register(f"model_tf_{column}", dataset_display_name=f"model_tf_{column}"), column)
    if not only_changed:
        predictions = [linker.inference.predict(threshold_match_probability=cfg.review_threshold)]
    else:
        work.execute("create or replace table model_changed_records as select * from model_records semi join _changed using (unique_id)")
        work.execute("create or replace table model_other_records as select * from model_records anti join _changed using (unique_id)")
        left = db_api.register("model_changed_records", dataset_display_name="model_changed_records")
        right = db_api.register("model_other_records", dataset_display_name="model_other_records")
        n_changed, n_other = (work.execute(f"select count(*) from {t}").fetchone()[0]
                              for t in ("model_changed_records", "model_other_records"))
        predictions = []
        if n_changed and n_other:
            predictions.append(linker.inference.predict_between(left, right, threshold_match_probability=cfg.review_threshold))
        if n_changed > 1:
            predictions.append(linker.inference.predict_within(left, threshold_match_probability=cfg.review_threshold))
    union = " union all ".join(f"""select least(unique_id_l, unique_id_r) as a, greatest(unique_id_l, unique_id_r) as b,
                                          match_probability from {p.physical_name} where subject_key_l <> subject_key_r"""
                               for p in predictions) or "select null::varchar as a, null::varchar as b, null::double as match_probability limit 0"
    # the pair in id order, as a full run scores it, so both score it alike
    work.execute(f"""
        create or replace table scored_pairs as
        select p.a as record_a, p.b as record_b, p.match_probability as probability,
               coalesce(jaro_winkler_similarity(l.forename_key, r.forename_key) < {FORENAME_ALIKE}, false) as forenames_differ
        from ({union}) p
        join model_records l on l.unique_id = p.a
        join model_records r on r.unique_id = p.b""")
