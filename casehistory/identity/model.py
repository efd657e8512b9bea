"""Probabilistic linking with Splink on DuckDB: scores pairs of person records no identifier links.

The model compares forename and surname (Jaro-Winkler levels), date of birth (exact, day and
month transposed, one day out, one digit of the year out), sex and postcode (unit, sector,
district). It is trained each run on the data itself: u probabilities from seeded random pairs,
m probabilities from the pairs that valid NHS numbers and UPNs already link across agencies. It
runs in its own in-memory DuckDB (memory-limited, spilling to the store's temp folder), so none
of Splink's working tables reach the restricted store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa
import yaml

from casehistory import warehouse
from casehistory.settings import Settings

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


@cache
def config() -> ModelConfig:
    doc = yaml.safe_load(CONFIG.read_text())
    cfg = ModelConfig(float(doc["link_threshold"]), float(doc["review_threshold"]),
                      tuple(tuple(rule) for rule in doc["blocking_rules"]), int(doc["u_max_pairs"]),
                      int(doc["seed"]), float(doc["identifier_recall"]), int(doc["min_labelled_pairs"]),
                      int(doc["min_records_for_em"]))
    if not 0 < cfg.review_threshold <= cfg.link_threshold < 1:
        raise ValueError(f"{CONFIG}: need 0 < review_threshold <= link_threshold < 1")
    return cfg


@dataclass
class ScoredPair:
    record_a: str
    record_b: str
    probability: float
    forenames_differ: bool  # both known and not alike (Jaro-Winkler below FORENAME_ALIKE)


FORENAME_ALIKE = 0.75  # Tom/Thomas and Ollie/Oliver are alike; Evelyn/Aisha are not


@dataclass
class Scored:
    pairs: list[ScoredPair]
    note: str  # how the model was trained this run, or why it was not used


INPUT_SQL = """
select record_key as unique_id, subject_key, forename_key, surname_key, date_of_birth,
       year(date_of_birth) as birth_year,
       case when sex in ('M', 'F') then sex end as sex,
       case when regexp_full_match(postcode, '[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}') then postcode end as postcode,
       nhs_number, upn
from identity.subject_records
where date_of_birth is not null and (forename_key is not null or surname_key is not null)
"""


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


def score_pairs(con: duckdb.DuckDBPyConnection, settings: Settings, cfg: ModelConfig | None = None) -> Scored:
    """Scored candidate pairs at or above the review threshold, between different subjects."""
    from splink import DuckDBAPI, Linker, block_on
    from splink.internals.exceptions import EMTrainingException

    cfg = cfg or config()
    records = con.execute(INPUT_SQL).arrow()
    if isinstance(records, pa.RecordBatchReader):
        records = records.read_all()
    if records.num_rows < 2:
        return Scored([], "not used: fewer than two records to compare")
    work = warehouse.open_duckdb(":memory:", settings)
    try:
        work.register("_records", records)
        work.execute("create table person_records as select * from _records")
        work.unregister("_records")
        # identifier links across subjects: labels for m, and the basis of the prior
        work.execute("""
            create table labels as
            select distinct unique_id_l, unique_id_r from (
                select l.unique_id as unique_id_l, r.unique_id as unique_id_r, l.subject_key as a, r.subject_key as b
                from person_records l join person_records r on l.nhs_number = r.nhs_number
                union all
                select l.unique_id, r.unique_id, l.subject_key, r.subject_key
                from person_records l join person_records r on l.upn = r.upn
            ) where unique_id_l < unique_id_r and a <> b""")  # two equi-joins: an OR would not hash
        labelled = work.execute("select count(*) from labels").fetchone()[0]
        db_api = DuckDBAPI(connection=work)
        table = db_api.register("person_records", dataset_display_name="person_records")
        linker = Linker(table, settings_for(cfg, prior(records.num_rows, labelled, cfg.identifier_recall)),
                        log_level=logging.WARNING)
        linker.training.estimate_u_using_random_sampling(max_pairs=cfg.u_max_pairs, seed=cfg.seed)
        sampled = min(cfg.u_max_pairs, records.num_rows * (records.num_rows - 1) // 2)
        if labelled >= cfg.min_labelled_pairs:
            linker.training.estimate_m_from_pairwise_labels("labels")
            note = f"m from {labelled} identifier-linked pairs"
        elif records.num_rows >= cfg.min_records_for_em:  # identifier-poor data: learn m by EM
            try:
                for rule in (block_on("date_of_birth"), block_on("forename_key", "surname_key")):
                    linker.training.estimate_parameters_using_expectation_maximisation(rule)
            except EMTrainingException as exc:
                log.warning("identity model not used: %s", exc)
                return Scored([], f"not used: expectation maximisation found nothing to learn from ({exc})")
            note = f"m by expectation maximisation ({labelled} identifier-linked pairs were too few)"
        else:
            log.warning("identity model not used: %d records and %d identifier-linked pairs are too few to learn from",
                        records.num_rows, labelled)
            return Scored([], f"not used: {records.num_rows} records and {labelled} identifier-linked pairs "
                              "are too few to learn from")
        # a level no training pair reached (a sex mismatch, a year typo) gets a small probability from
        # add-half smoothing, not Splink's generic default
        linker = Linker(table, smoothed(linker.misc.save_model_to_json(), max(labelled, 1), sampled),
                        log_level=logging.WARNING)
        predictions = linker.inference.predict(threshold_match_probability=cfg.review_threshold)
        rows = work.execute(f"""
            select p.unique_id_l, p.unique_id_r, p.match_probability,
                   coalesce(jaro_winkler_similarity(l.forename_key, r.forename_key) < {FORENAME_ALIKE}, false)
            from {predictions.physical_name} p
            join person_records l on l.unique_id = p.unique_id_l
            join person_records r on r.unique_id = p.unique_id_r
            where p.subject_key_l <> p.subject_key_r
            order by p.match_probability desc, p.unique_id_l, p.unique_id_r""").fetchall()
        log.info("identity model: %d records, %s, %d pairs scored >= %.2f", records.num_rows, note, len(rows),
                 cfg.review_threshold)
        return Scored([ScoredPair(a, b, float(p), bool(differ)) for a, b, p, differ in rows], note)
    finally:
        work.close()
