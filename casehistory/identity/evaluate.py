"""Score linking against the generator's ground truth: `casehistory evaluate-linking`.

Units are subjects (an agency's id for a person). Pairwise: a pair of subjects is a true link when
both belong to the same true person, a predicted link when both got the same person id.
  precision  share of predicted links that are true (1 - precision is the wrong-merge rate)
  recall     share of true links that were predicted
  wrong merges  predicted people holding subjects of more than one true person
  missed links  true people whose subjects were left in more than one predicted person

Every wrong merge is explained (wrong_merges): the applied links that joined subjects of two
true people (identity.links), what the two true people are to each other in the ground truth
(twins, siblings, parent and child, strangers sharing a name and birthday, ...), how the joined
records compare field by field, and whether an identifier behind the link was mistyped into
another person's.
"""

from __future__ import annotations

import csv
import logging
import os
import resource
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from casehistory import warehouse
from casehistory.identity.resolve import resolve
from casehistory.settings import Settings, SOURCES_DIR
from casehistory.synth import generate
from ingest.detect import discover
from ingest.load import load_source
from ingest.registry import load_registry

log = logging.getLogger(__name__)


@dataclass
class LinkingScore:
    subjects: int
    true_people: int
    predicted_people: int
    true_links: int
    predicted_links: int
    correct_links: int
    precision: float
    recall: float
    f1: float
    wrong_merges: int  # predicted people mixing true people
    people_wrongly_merged: int  # true people caught in a wrong merge
    missed_links: int  # true people split over several predicted people


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score(predicted: dict[str, str], truth: dict[str, str]) -> LinkingScore:
    """predicted, truth: subject -> person id. Subjects missing from truth are ignored."""
    subjects = [s for s in predicted if s in truth]
    cells = Counter((predicted[s], truth[s]) for s in subjects)
    by_pred = Counter(predicted[s] for s in subjects)
    by_true = Counter(truth[s] for s in subjects)
    correct = sum(_pairs(n) for n in cells.values())
    pred_links = sum(_pairs(n) for n in by_pred.values())
    true_links = sum(_pairs(n) for n in by_true.values())
    precision = correct / pred_links if pred_links else 1.0
    recall = correct / true_links if true_links else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    true_in_pred: dict[str, set[str]] = defaultdict(set)
    pred_of_true: dict[str, set[str]] = defaultdict(set)
    for p, t in cells:
        true_in_pred[p].add(t)
        pred_of_true[t].add(p)
    mixed = [p for p, ts in true_in_pred.items() if len(ts) > 1]
    return LinkingScore(
        subjects=len(subjects), true_people=len(by_true), predicted_people=len(by_pred),
        true_links=true_links, predicted_links=pred_links, correct_links=correct,
        precision=precision, recall=recall, f1=f1, wrong_merges=len(mixed),
        people_wrongly_merged=len({t for p in mixed for t in true_in_pred[p]}),
        missed_links=sum(1 for ps in pred_of_true.values() if len(ps) > 1),
    )


def truth_by_subject(ground_truth: Path) -> dict[str, str]:
    """subject key (namespace:ref) -> true person, from the generator's records.csv.

    The demo sources' subject namespace is their agency (no source in it overrides it)."""
    truth = {}
    with (ground_truth / "records.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if row["subject_ref"] and row["status"] != "quarantined":
                truth[f"{row['agency']}:{row['subject_ref']}"] = row["true_person"]
    return truth


@dataclass
class Bridge:
    """An applied link between subjects of two different true people."""

    subject_a: str
    subject_b: str
    method: str  # as identity.links has it: nhs_number, upn, la_child_id, exact_name_dob, model, human, ...
    probability: float
    relation: str  # what the two true people are to each other (RELATIONS)
    fields: dict[str, str]  # how the two subjects' records compare: forename, surname, date_of_birth, sex, postcode, identifiers


@dataclass
class WrongMerge:
    person_id: str
    subjects: int
    true_people: int
    bridges: list[Bridge] = field(default_factory=list)

    @property
    def cause(self) -> str:
        """The kind of pair and the kind of link that joined it, e.g. "twins, by model"."""
        return "; ".join(sorted({f"{b.relation}, by {b.method}" for b in self.bridges})) or "one subject holds two people"


# what two true people can be to each other, the closest first
RELATIONS = ("twins", "siblings", "parent and child", "parents of one family", "same name and birthday",
             "same birthday", "strangers")


def relation(a: dict, b: dict) -> str:
    """What true person b is to true person a, from persons.csv rows."""
    if a["twin_of"] == b["true_person"]:
        return "twins"
    if a["family"] == b["family"]:
        roles = {a["role"], b["role"]}
        if roles == {"child"}:
            return "siblings"
        return "parent and child" if "child" in roles else "parents of one family"
    if a["date_of_birth"] == b["date_of_birth"]:
        same_name = (a["forename"], a["surname"]) == (b["forename"], b["surname"])
        return "same name and birthday" if same_name else "same birthday"
    return "strangers"


# how the two records of a bridging link compare (subject records as identity normalised them)
_FIELDS_SQL = """
with one as (  -- a subject's first record: agencies keep one record per person
    select * from identity.subject_records
    qualify row_number() over (partition by subject_key order by record_key) = 1
)
select b.subject_a, b.subject_b,
    case when a.forename_key is null or c.forename_key is null then 'missing'
         when a.forename_key = c.forename_key then 'same'
         when jaro_winkler_similarity(a.forename_key, c.forename_key) >= 0.75 then 'alike'
         else 'different' end,
    case when a.surname_key is null or c.surname_key is null then 'missing'
         when a.surname_key = c.surname_key then 'same'
         when jaro_winkler_similarity(a.surname_key, c.surname_key) >= 0.75 then 'alike'
         else 'different' end,
    case when a.date_of_birth is null or c.date_of_birth is null then 'missing'
         when a.date_of_birth = c.date_of_birth then 'same'
         when day(a.date_of_birth) = month(c.date_of_birth) and month(a.date_of_birth) = day(c.date_of_birth)
              and year(a.date_of_birth) = year(c.date_of_birth) then 'day and month swapped'
         when abs(date_diff('day', a.date_of_birth, c.date_of_birth)) = 1 then 'one day apart'
         when month(a.date_of_birth) = month(c.date_of_birth) and day(a.date_of_birth) = day(c.date_of_birth)
              and levenshtein(year(a.date_of_birth)::varchar, year(c.date_of_birth)::varchar) = 1
              then 'one digit of the year'
         else 'different' end,
    case when a.sex is null or c.sex is null then 'missing' when a.sex = c.sex then 'same' else 'different' end,
    case when a.postcode is null or c.postcode is null then 'missing' when a.postcode = c.postcode then 'same'
         else 'different' end,
    concat_ws(', ',
        case when a.nhs_number = c.nhs_number then 'one NHS number'
             when a.nhs_number is not null and c.nhs_number is not null then 'two NHS numbers'
             when coalesce(a.nhs_number, c.nhs_number) is not null then 'NHS number on one side' end,
        case when a.upn = c.upn then 'one UPN'
             when a.upn is not null and c.upn is not null then 'two UPNs'
             when coalesce(a.upn, c.upn) is not null then 'UPN on one side' end,
        case when coalesce(a.nhs_number, c.nhs_number, a.upn, c.upn) is null then 'no identifier' end),
    a.nhs_number, c.nhs_number, a.upn, c.upn
from _bridges b
join one a on a.subject_key = b.subject_a
join one c on c.subject_key = b.subject_b
"""


def wrong_merges(con: duckdb.DuckDBPyConnection, truth: dict[str, str], persons: dict[str, dict]) -> list[WrongMerge]:
    """Every predicted person holding subjects of more than one true person, with the links that
    joined them explained. truth: subject -> true person; persons: persons.csv rows by true person."""
    members: dict[str, list[str]] = defaultdict(list)
    for subject, person_id in con.execute("select subject_key, person_id from identity.subject_person").fetchall():
        if subject in truth:
            members[person_id].append(subject)
    mixed = {p: subjects for p, subjects in members.items() if len({truth[s] for s in subjects}) > 1}
    if not mixed:
        return []
    person_of = {s: p for p, subjects in mixed.items() for s in subjects}
    bridges = [(a, b, method, probability) for a, b, method, probability in con.execute(
        "select subject_a, subject_b, method, probability from identity.links where applied").fetchall()
        if a in person_of and b in truth and truth[a] != truth[b]]
    con.register("_bridge_rows", pa.table({"subject_a": [b[0] for b in bridges], "subject_b": [b[1] for b in bridges]},
                                          schema=pa.schema([("subject_a", pa.string()), ("subject_b", pa.string())])))
    try:
        con.execute("create or replace temp table _bridges as from _bridge_rows")
        compared = {(r[0], r[1]): r[2:] for r in con.execute(_FIELDS_SQL).fetchall()}
    finally:
        con.unregister("_bridge_rows")
        con.execute("drop table if exists _bridges")
    out = {p: WrongMerge(p, len(subjects), len({truth[s] for s in subjects})) for p, subjects in mixed.items()}
    for a, b, method, probability in bridges:
        forename, surname, dob, sex, postcode, identifiers, nhs_a, nhs_b, upn_a, upn_b = compared[(a, b)]
        one, other = persons[truth[a]], persons[truth[b]]
        # a valid identifier that is not the true person's own: mistyped, and passing its check
        mistyped = sorted({kind for kind, held, own in (("NHS number", nhs_a, one["nhs_number"]),
                                                        ("NHS number", nhs_b, other["nhs_number"]),
                                                        ("UPN", upn_a, one["upn"]), ("UPN", upn_b, other["upn"]))
                           if held is not None and held != own})
        identifiers += "".join(f", a valid {kind} mistyped" for kind in mistyped)
        out[person_of[a]].bridges.append(Bridge(a, b, method, probability, relation(one, other), {
            "forename": forename, "surname": surname, "date_of_birth": dob, "sex": sex, "postcode": postcode,
            "identifiers": identifiers}))
    return sorted(out.values(), key=lambda w: w.person_id)


def persons_by_id(ground_truth: Path) -> dict[str, dict]:
    with (ground_truth / "persons.csv").open(newline="", encoding="utf-8") as f:
        return {p["true_person"]: p for p in csv.DictReader(f)}


def evaluate(children: int, seed: int, noise: str, workdir: Path, key: bytes = b"evaluation-key" * 3) -> dict:
    """Generate, load, link and score; returns the score with timings (seconds)."""
    workdir.mkdir(parents=True, exist_ok=True)
    timings = {}
    started = time.perf_counter()
    generated = generate(workdir / "demo", children, seed, noise)
    timings["generate"] = time.perf_counter() - started
    settings = Settings(extracts=generated.extracts, warehouse=workdir / "warehouse.duckdb", run_date=date(2026, 1, 15))
    settings.ensure_dirs()
    settings.store.unlink(missing_ok=True)
    registry = load_registry(SOURCES_DIR)
    found = discover(generated.extracts, registry)
    con = warehouse.connect(settings)
    try:
        started = time.perf_counter()
        for spec in registry:
            load_source(con, spec, found.by_source[spec.source], run_id="evaluation", run_date=settings.run_date,
                        archive_dir=settings.archive_dir)
        timings["load"] = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        load_before = os.getloadavg()[0]
        result = resolve(con, "evaluation", key, settings=settings)
        timings["link"] = time.perf_counter() - started
        timings["link_cpu"] = time.process_time() - cpu  # DuckDB's threads included
        load_after = os.getloadavg()[0]
        predicted = dict(con.execute("select subject_key, person_id from identity.subject_person").fetchall())
        truth = truth_by_subject(generated.ground_truth)
        merges = wrong_merges(con, truth, persons_by_id(generated.ground_truth))
    finally:
        con.close()
    linking = score(predicted, truth)
    return {"children": children, "seed": seed, "noise": noise, **asdict(linking),
            "links_applied": result.links_applied, "links_refused": result.links_refused,
            "review_queue": result.review_queue, "seconds": {k: round(v, 1) for k, v in timings.items()},
            "load_average": [round(load_before, 1), round(load_after, 1)],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "wrong_merges_by_cause": dict(Counter(w.cause for w in merges).most_common()),
            "wrong_merge_list": [{"person_id": w.person_id, "subjects": w.subjects, "true_people": w.true_people,
                                  "cause": w.cause, "bridges": [asdict(b) for b in w.bridges]} for w in merges]}


def markdown(results: list[dict]) -> str:
    commands = list(dict.fromkeys(f"{r.get('command', '?')}    # {r.get('measured', '?')}" for r in results))
    lines = [
        "# Linking evaluation",
        "",
        "Linking scored against the synthetic generator's ground truth. Produced by (a run keeps the",
        "figures of sizes and noise levels it did not run):",
        "",
        *(f"    {c}" for c in commands),
        "",
        "(the raw figures, every wrong merge among them, are in `linking-evaluation.json`). Units are",
        "subjects: an agency's own id for a person. A pair of subjects is a true link when both belong",
        "to one true person, a predicted link when identity gave both one person id. Precision is the",
        "share of predicted links that are true (1 - precision is the wrong-merge rate); recall the",
        "share of true links found. Wrong merges count predicted people holding more than one true",
        "person; missed links count true people left in more than one predicted person. `load s` is",
        "ingest of every extract into the ledger; `link s` the identity stage (subject records,",
        "deterministic links, training the Splink model, scoring, clustering, stable ids, households)",
        "in wall-clock seconds, with the process's CPU seconds (DuckDB's threads included) beside it:",
        "the machine (2 cores, DuckDB at CASEHISTORY_MEMORY_LIMIT and 2 threads) is shared, so the",
        "load average at the start and end of the identity stage is given too. `peak MB` is the",
        "evaluation process's peak resident memory (generation included).",
        "",
        "| noise | children | subjects | precision | recall | F1 | wrong merges | people wrongly merged "
        "| missed links | review queue | load s | link s (CPU s) | load average | peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        seconds = r["seconds"]
        lines.append(f"| {r['noise']} | {r['children']:,} | {r['subjects']:,} | {r['precision']:.4f} | "
                     f"{r['recall']:.4f} | {r['f1']:.4f} | {r['wrong_merges']:,} | {r['people_wrongly_merged']:,} | "
                     f"{r['missed_links']:,} | {r['review_queue']:,} | {seconds['load']:.0f} | "
                     f"{seconds['link']:.0f} ({seconds.get('link_cpu', 0):.0f}) | "
                     f"{' / '.join(str(x) for x in r.get('load_average', []))} | {r.get('peak_rss_mb', 0):,} |")
    lines += ["", "Links applied by kind, and unions the guard rails refused:", ""]
    for r in results:
        lines.append(f"- {r['noise']}, {r['children']:,}: applied {r['links_applied']}; refused {r['links_refused'] or 'none'}")
    causes = sorted({c for r in results for c in r.get("wrong_merges_by_cause", {})},
                    key=lambda c: -sum(r.get("wrong_merges_by_cause", {}).get(c, 0) for r in results))
    lines += ["", "## Wrong merges by cause", "",
              "What the two true people joined are to each other (from the ground truth: twins, siblings,",
              "parent and child, strangers with the same name and birthday, ...), and the kind of link that",
              "joined them (`identity.links`: an identifier, `exact_name_dob`, the `model`, ...).", "",
              "| cause | " + " | ".join(f"{r['noise']}, {r['children']:,}" for r in results) + " |",
              "|---|" + "---:|" * len(results)]
    for cause in causes:
        lines.append(f"| {cause} | " + " | ".join(str(r.get("wrong_merges_by_cause", {}).get(cause, 0)) for r in results) + " |")
    if not causes:
        lines.append("| none | " + " | ".join("0" for _ in results) + " |")
    lines += ["", "## Every wrong merge", "",
              "Each predicted person holding more than one true person, with each link between two true",
              "people: its kind and score, and how the two records compare (as identity normalised them;",
              "no names). Identifiers: which each side holds, and whether a valid one was mistyped.", ""]
    for r in results:
        lines += [f"### {r['noise']} noise, {r['children']:,} children", ""]
        if not r.get("wrong_merge_list"):
            lines += ["None.", ""]
            continue
        for w in r["wrong_merge_list"]:
            for b in w["bridges"]:
                f = b["fields"]
                lines.append(f"- {w['person_id']} ({w['true_people']} true people, {w['subjects']} subjects): "
                             f"{b['relation']}, by {b['method']}"
                             + (f" {b['probability']:.4f}" if b["method"] == "model" else "")
                             + f"; forename {f['forename']}, surname {f['surname']}, birth date {f['date_of_birth']}, "
                             f"sex {f['sex']}, postcode {f['postcode']}; {f['identifiers']}")
            if not w["bridges"]:
                lines.append(f"- {w['person_id']}: {w['cause']}")
        lines.append("")
    lines += [
        "## Reading the figures",
        "",
        "- The generator's people are as hard to tell apart as real ones (README, \"The generator\"): names",
        "  with frequencies shaped like the ONS tables, twins (1.5% of births, a quarter with alike names),",
        "  strangers sharing a forename, surname and birthday (one family in 500), day and month swapped",
        "  more often where no NHS number is held, accents, apostrophes and hyphens written each agency's way.",
        "- Noise levels are casehistory/synth/noise.py: at `default`, per agency record of a person, 1% mistyped",
        "  NHS numbers and UPNs, 5% nicknames, 2% forename and 2% surname typos, 2% another surname, 1%",
        "  transposed dates of birth (4% where no NHS number is held) and 1% mistyped, 10% an old postcode, 5%",
        "  none, 3% no sex; agencies hold NHS numbers as real ones do (health visiting 98%, social care 85%,",
        "  early help 10%, police none). `high` roughly triples every rate and lowers identifier coverage.",
        "- A wrong merge puts another child's history into a review; a missed link hides part of one. Missed",
        "  links mostly sit in the review queue for a person to decide (`casehistory identity review`).",
    ]
    return "\n".join(lines) + "\n"
