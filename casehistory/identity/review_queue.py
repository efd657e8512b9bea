"""The review queue: pairs of subjects a person should decide, each with why it was queued and the
fields that agree and disagree (`casehistory identity review`).

A pair is queued when the evidence neither links it nor rules it out:
  the model scored it between the review and link thresholds;
  the model scored it as a link but the forenames differ (twins share everything else);
  the name and date of birth rules found it corroborated but too weak to link (candidates.py);
  names and dates agree with nothing to corroborate them, and no model scored the pairs;
  forename and date of birth agree, corroborated, under another surname, and no model scored the pairs;
  a link was refused because one agency holds both records, or the sexes recorded differ.
Never queued: a pair already one person, a pair a person has decided, and a pair an absolute rail
keeps apart (different valid NHS numbers or UPNs, dates of birth no typo of each other, a person's
"different" for someone in either group): those are written to identity.kept_apart, with the rule,
so nobody is offered as a link what the system would refuse.

Both tables live in the restricted store: the comparisons name identifiers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import product

import duckdb
import pyarrow as pa

from casehistory.identity.candidates import postcode_key_sql
from casehistory.identity.cluster import Clusters
from casehistory.identity.names import forenames_relation
from casehistory.identity.rules import DOB_RELATIONS, dob_relation
from casehistory.warehouse import insert_rows

MODEL_UNSURE = "model score between the review and link thresholds"
FORENAMES_DIFFER = "the model scores a link but the forenames differ (twins?): the model never links them alone"
CANDIDATE_WEAK = "names and date of birth agree with corroboration, but too weakly to link without a person"
UNCORROBORATED = "names and date of birth agree but nothing corroborates them, and no model scored the pair"
SURNAME_DIFFERS = ("forename and date of birth agree and an address, family or identifier corroborates them, but "
                   "the surname differs (a changed surname?), and no model scored the pair")
# name-rule verdicts (candidates.py) only a person settles when no model scored the pairs
WITHOUT_A_MODEL = {"uncorroborated": UNCORROBORATED, "surname_differs": SURNAME_DIFFERS}
REFUSED = {
    "same_agency_two_records": "a link was refused: one agency holds both records (twins?), and only an "
                               "identifier, its family reference or a person may join them",
    "different_sex": "a name and date of birth link was refused: the sexes recorded differ",
}
KEPT_APART = {
    "different_nhs": "kept apart: different NHS numbers",
    "different_upn": "kept apart: different UPNs",
    "implausible_dob": "kept apart: dates of birth no typo of each other",
    "human_said_different": "kept apart: a person decided they are different",
}
DOB_HOW = {"day_month_swapped": "day and month swapped", "one_day_apart": "one day apart",
           "one_year_digit": "one digit of the year different"}

DDL = """
create or replace table identity.review_queue (
    run_id varchar not null, subject_a varchar not null, subject_b varchar not null,
    probability double,  -- the model's, when it scored the pair
    reason varchar not null, agree varchar[] not null, disagree varchar[] not null);
create or replace table identity.kept_apart (
    run_id varchar not null, subject_a varchar not null, subject_b varchar not null, probability double,
    rule varchar not null, reason varchar not null);
"""


@dataclass
class Queue:
    """Pair (a < b) -> why it is offered; the pairs a rail keeps apart -> (rule, probability)."""
    reasons: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    kept_apart: dict[tuple[str, str], str] = field(default_factory=dict)

    def offer(self, a: str, b: str, reason: str, clusters: Clusters, decided: set[tuple[str, str]]) -> None:
        pair = (min(a, b), max(a, b))
        if pair in decided or clusters.find(a) == clusters.find(b):
            return
        rule = clusters.forbids(a, b)
        if rule:
            self.kept_apart.setdefault(pair, rule)
        elif reason not in self.reasons[pair]:
            self.reasons[pair].append(reason)


def write(con: duckdb.DuckDBPyConnection, run_id: str, queue: Queue, scores: dict[tuple[str, str], float]) -> int:
    """Write identity.review_queue (with each pair explained) and identity.kept_apart; returns how
    many pairs are queued."""
    con.execute(DDL)
    pairs = sorted(queue.reasons)
    records = _records(con, {s for pair in pairs for s in pair})
    rows = []
    for a, b in pairs:
        agree, disagree = compare(records.get(a, []), records.get(b, []))
        rows.append((run_id, a, b, scores.get((a, b)), "; ".join(queue.reasons[(a, b)]), agree, disagree))
    insert_rows(con, "identity.review_queue",
                ["run_id", "subject_a", "subject_b", "probability", "reason", "agree", "disagree"], rows)
    insert_rows(con, "identity.kept_apart", ["run_id", "subject_a", "subject_b", "probability", "rule", "reason"],
                [(run_id, a, b, scores.get((a, b)), rule, KEPT_APART[rule])
                 for (a, b), rule in sorted(queue.kept_apart.items())])
    return len(rows)


def compare(a: list[dict], b: list[dict]) -> tuple[list[str], list[str]]:
    """The fields two subjects' records agree and disagree on (a field either leaves blank is in
    neither). A date of birth that differs says how; a forename agreeing as a known variant says so."""
    agree: list[str] = []
    disagree: list[str] = []

    def values(records: list[dict], name: str) -> set:
        return {r[name] for r in records if r[name] not in (None, "")}

    def plain(label: str, name: str) -> None:
        va, vb = values(a, name), values(b, name)
        if va & vb:
            agree.append(label)
        elif va and vb:
            disagree.append(label)

    fa, fb = values(a, "forename_key"), values(b, "forename_key")
    if fa & fb:
        agree.append("forename")
    elif variants := sorted({f"{x} / {y}" for x, y in product(fa, fb) if forenames_relation(x, y) == "variant"}):
        agree.append(f"forename (known variants: {', '.join(variants)})")
    elif fa and fb:
        disagree.append("forename")
    plain("surname", "surname_key")
    da, db = values(a, "date_of_birth"), values(b, "date_of_birth")
    if da & db:
        agree.append("date of birth")
    elif da and db:
        how = {dob_relation(x, y) for x, y in product(da, db)} - {None}
        best = min(how, key=DOB_RELATIONS.index) if how else None
        disagree.append(f"date of birth ({DOB_HOW[best]})" if best else "date of birth (no typo of each other)")
    plain("sex", "sex")
    plain("postcode", "postcode")
    family_a, family_b = defaultdict(set), defaultdict(set)
    for records, family in ((a, family_a), (b, family_b)):
        for r in records:
            if r["family_ref"]:
                family[r["namespace"]].add(r["family_ref"])
    for namespace in sorted(family_a.keys() & family_b.keys()):  # one agency's references compare only with its own
        (agree if family_a[namespace] & family_b[namespace] else disagree).append(f"family reference ({namespace})")
    plain("NHS number", "nhs_number")
    plain("UPN", "upn")
    plain("LA child id", "la_child_id")
    return agree, disagree


def _records(con: duckdb.DuckDBPyConnection, subjects: set[str]) -> dict[str, list[dict]]:
    if not subjects:
        return {}
    con.register("_queued_subjects", pa.table({"subject_key": pa.array(sorted(subjects), pa.string())}))
    try:
        rows = con.execute(f"""
            select subject_key, forename_key, surname_key, date_of_birth,
                   case when sex in ('M', 'F') then sex end, {postcode_key_sql('postcode')},
                   subject_namespace, family_ref, nhs_number, upn, la_child_id
            from identity.subject_records semi join _queued_subjects using (subject_key)""").fetchall()
    finally:
        con.unregister("_queued_subjects")
    names = ("forename_key", "surname_key", "date_of_birth", "sex", "postcode", "namespace", "family_ref",
             "nhs_number", "upn", "la_child_id")
    out: dict[str, list[dict]] = defaultdict(list)
    for subject, *fields in rows:
        out[subject].append(dict(zip(names, fields)))
    return out

