"""Synthetic multi-agency extracts with ground truth: `casehistory generate --children N`.

Seeded and deterministic: the same seed, size and noise level give byte-identical files. It
streams: families are made, rendered and appended to the files a batch at a time (BATCH_CHILDREN),
so a million children need the memory of one batch; up to one batch the files are those a single
pass over the whole world gives. Output:

    <out>/extracts/        the agency files, as a drop folder would hold them
    <out>/reviews.yml      the reviews declared for the two scenario families
    <out>/ground_truth/    persons.csv (with each twin's twin and each planted namesake's stranger),
                           events.csv, records.csv (every row: true person, true event, what ingest
                           must do with it, and the date and outcome the agency gave), plans.csv (every child's true plan episodes) and
                           expected.json (what a run must show: each file's rows and encoding, the
                           counts, the referral and plan figures worked out by truth.py from the
                           true events, and each amended record's current values)
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from casehistory.synth import extracts as ex
from casehistory.synth.histories import births_and_health_visiting, family_services, ordinary_family, school_attendance
from casehistory.synth.noise import level
from casehistory.synth.scenarios import baby_e, js_family, leap_day
from casehistory.synth.truth import PLAN_FIELDS, Figures
from casehistory.synth.world import AS_OF, World, WorldBuilder

MIN_CHILDREN = 10
# Families are made, rendered and written a batch at a time, so memory stays that of one batch
# (about 1.5 GB) at any size. A size up to one batch gives the same bytes as a single pass would.
BATCH_CHILDREN = 100_000
RECORD_FIELDS = ["file", "row_number", "source", "agency", "record_id", "subject_ref", "true_person",
                 "true_event", "event_type", "status", "reason", "event_date", "outcome"]
PERSON_FIELDS = ["true_person", "family", "role", "forename", "surname", "sex", "date_of_birth", "nhs_number",
                 "upn", "mother", "father", "scenario", "twin_of", "namesake_of"]
EVENT_FIELDS = ["true_event", "true_person", "event_type", "event_date", "outcome", "occurrence", "reported_by"]


@dataclass
class Generated:
    root: Path
    extracts: Path
    reviews: Path
    ground_truth: Path
    expected: dict


def world_batches(children: int, seed: int, batch_children: int = BATCH_CHILDREN) -> Iterator[tuple[World, bool]]:
    """The world in batches of whole families (about batch_children children each, the scenario
    families in the first), each with whether it is the last."""
    if children < MIN_CHILDREN:
        raise ValueError(f"--children must be at least {MIN_CHILDREN} (the scenario families alone have 8)")
    b = WorldBuilder(seed)
    scenario_children = baby_e(b) + js_family(b) + leap_day(b)
    for pid in scenario_children:
        child = b.world.persons[pid]
        fam = b.world.families[child.family]
        births_and_health_visiting(b, fam, child)
        school_attendance(b, fam, child)
    made = in_batch = len(scenario_children)
    while made < children:
        fam = ordinary_family(b, children - made)
        family_children = sum(1 for pid in fam.members if b.world.persons[pid].is_child)
        made += family_children
        in_batch += family_children
        family_services(b, fam)
        if in_batch >= batch_children and made < children:
            yield b.world, False
            b.new_batch()
            in_batch = 0
    yield b.world, True


def generate(out: Path, children: int, seed: int = 42, noise: str = "default",
             batch_children: int = BATCH_CHILDREN) -> Generated:
    out = Path(out)
    noise_level = level(noise)
    extracts_dir, truth_dir = out / "extracts", out / "ground_truth"
    extracts_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)

    renderer: ex.Renderer | None = None
    sinks: dict[str, ex.Sink] = {}  # by file name, in the order the files first have rows
    truth = _RecordTruth(truth_dir)
    tally = _Tally()
    figures = Figures()
    first_world: World | None = None
    reviews_doc: dict = {}
    with _CsvOut(truth_dir / "persons.csv", PERSON_FIELDS) as persons_out, \
            _CsvOut(truth_dir / "events.csv", EVENT_FIELDS) as events_out, \
            _CsvOut(truth_dir / "plans.csv", PLAN_FIELDS) as plans_out:
        for world, last in world_batches(children, seed, batch_children):
            if renderer is None:
                renderer = ex.Renderer(world, noise_level, seed)
                renderer.last_batch = last
            else:
                renderer.next_batch(world, last)
            batch_records = []
            carried: dict[str, date] = {}  # true event -> its earliest date among its loaded rows
            for render in ex.RENDERERS:
                for extract in render(renderer):
                    if not extract.rows and not extract.extra_truth:
                        continue
                    if extract.file_name not in sinks:
                        sinks[extract.file_name] = extract.sink(extracts_dir / extract.file_name)
                    sinks[extract.file_name].append(extract)
                    batch_records += truth.add(extract)
                    tally.add_extract(extract)
                    for row in extract.rows:
                        if row.status == "loaded":
                            carried[row.event.eid] = min(row.report.date, carried.get(row.event.eid, row.report.date))
            tally.add_batch(world, batch_records)
            plans_out.write(figures.add_batch(world, carried))
            if first_world is None:  # the scenario families, and so the reviews, are in the first batch
                first_world, reviews_doc = world, _reviews_doc(world, renderer)
            persons_out.write(
                {"true_person": p.pid, "family": p.family, "role": p.role, "forename": p.forename,
                 "surname": p.surname, "sex": p.sex, "date_of_birth": p.dob.isoformat(), "nhs_number": p.nhs,
                 "upn": p.upn or "", "mother": p.mother or "", "father": p.father or "", "scenario": p.scenario or "",
                 "twin_of": p.twin_of or "", "namesake_of": p.namesake_of or ""}
                for p in world.persons.values())
            events_out.write(
                {"true_event": e.eid, "true_person": e.pid, "event_type": e.etype, "event_date": e.date.isoformat(),
                 "outcome": e.outcome or "", "occurrence": e.occurrence or "",
                 "reported_by": "|".join(rep.agency for rep in e.reports)}
                for e in world.events if e.reports)
    for sink in sinks.values():
        sink.close()
    truth.close(truth_dir / "records.csv")

    reviews_path = out / "reviews.yml"
    reviews_path.write_text(yaml.safe_dump(reviews_doc, sort_keys=False))
    expected = {**tally.expected(first_world, children, seed, noise), **figures.as_dict()}
    (truth_dir / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True))
    return Generated(out, extracts_dir, reviews_path, truth_dir, expected)


class _CsvOut:
    def __init__(self, path: Path, fields: list[str]):
        self._file = path.open("w", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._file, fieldnames=fields)
        self._csv.writeheader()

    def write(self, rows: Iterable[dict]) -> None:
        self._csv.writerows(rows)

    def __enter__(self) -> _CsvOut:
        return self

    def __exit__(self, *exc) -> None:
        self._file.close()


class _RecordTruth:
    """records.csv, one row per extract row: kept in a part file per extract while batches come,
    joined in the order the extracts first appeared."""

    def __init__(self, truth_dir: Path):
        self._dir = truth_dir
        self._parts: dict[str, tuple[Path, _CsvOut]] = {}
        self._rows: Counter = Counter()

    def add(self, extract: ex.Extract) -> list[dict]:
        records = []
        first = self._rows[extract.file_name]
        for n, row in enumerate(extract.rows, start=first + 1):
            records.append({
                "file": extract.file_name, "row_number": n, "source": extract.source,
                "agency": row.report.agency, "record_id": row.values[extract.record_col],
                "subject_ref": row.view.subject_ref, "true_person": row.event.pid, "true_event": row.event.eid,
                "event_type": row.event.etype, "status": row.status, "reason": row.reason or "",
                **_account(row),
            })
        self._rows[extract.file_name] += len(extract.rows)
        for extra in extract.extra_truth:
            records.append({"file": extract.file_name, "source": extract.source, "agency": "",
                            "record_id": "", "subject_ref": "", "true_person": "", "true_event": "",
                            "event_type": "", **extra})
        if extract.file_name not in self._parts:
            path = self._dir / f".records-{len(self._parts):03d}.part"
            self._parts[extract.file_name] = (path, _CsvOut(path, RECORD_FIELDS))
        self._parts[extract.file_name][1].write(records)
        return records

    def close(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as out:
            csv.DictWriter(out, fieldnames=RECORD_FIELDS).writeheader()
            for part, writer in self._parts.values():
                writer.__exit__()
                with part.open(newline="", encoding="utf-8") as f:
                    f.readline()  # its own header
                    shutil.copyfileobj(f, out)
                part.unlink()


def _account(row: ex.Row) -> dict:
    """The record's own account, in the vocabulary: its date and outcome as the agency gave them
    (a superseded row: what it said before its amendment). Where agencies' accounts of one true
    event differ, the merged chronology must show them side by side."""
    account = {"event_date": row.report.date.isoformat(), "outcome": row.report.outcome or ""}
    for column, change in (row.amended or {}).items():
        if column in account:
            account[column] = change["first_recorded"] or ""
    return account


class _Tally:
    """The counts of expected.json, added up batch by batch: people and events never span batches,
    so distinct people and events of a batch add up to the distinct ones of the whole."""

    def __init__(self):
        self.files: dict[str, dict] = {}
        self.per_agency: dict[str, Counter] = defaultdict(Counter)
        self.source_agency: dict[str, str] = {}  # the first agency seen for a source
        self.unattributed: dict[str, Counter] = defaultdict(Counter)  # rows with no agency, by source
        self.counts: Counter = Counter()
        self.encodings: dict[str, str | None] = {}  # by file: the codec that reads it as written
        self.amendments: list[dict] = []

    def add_extract(self, extract: ex.Extract) -> None:
        self.encodings[extract.file_name] = extract.encoding
        self.amendments += [
            {"file": extract.file_name, "source": extract.source, "agency": row.report.agency,
             "record_id": row.values[extract.record_col], "true_event": row.event.eid,
             "amended_in": row.amended_in, "fields": row.amended}
            for row in extract.rows if row.amended]

    def add_batch(self, world: World, records: list[dict]) -> None:
        for r in records:
            f = self.files.setdefault(r["file"], {"source": r["source"], "rows": 0, "loaded": 0, "quarantined": 0,
                                                  "reasons": Counter(), "agencies": Counter()})
            f["rows"] += 1
            outcome = "quarantined" if r["status"] == "quarantined" else "loaded"
            f[outcome] += 1
            if outcome == "quarantined":
                f["reasons"][r["reason"]] += 1
            else:
                f["agencies"][r["agency"]] += 1
            if r["agency"]:
                self.source_agency.setdefault(r["source"], r["agency"])
                self.per_agency[r["agency"]]["rows"] += 1
                self.per_agency[r["agency"]][outcome] += 1
            else:
                self.unattributed[r["source"]][outcome] += 1
        loaded = [r for r in records if r["status"] in ("loaded", "superseded")]
        persons = world.persons
        self.counts["rows"] += len(records)
        self.counts["rows_loaded"] += len(loaded)
        self.counts["rows_superseded"] += sum(1 for r in records if r["status"] == "superseded")
        self.counts["persons"] += len({r["true_person"] for r in loaded})
        self.counts["children"] += len({r["true_person"] for r in loaded if persons[r["true_person"]].is_child})
        self.counts["child_events"] += len({r["true_event"] for r in loaded
                                            if r["status"] == "loaded" and persons[r["true_person"]].is_child})

    def expected(self, first_world: World, children: int, seed: int, noise: str) -> dict:
        per_agency = {a: Counter(c) for a, c in self.per_agency.items()}
        for source, outcomes in self.unattributed.items():
            agency = per_agency.setdefault(self.source_agency.get(source, source), Counter())
            for outcome, n in outcomes.items():
                agency["rows"] += n
                agency[outcome] += n
        c = self.counts
        return {
            "seed": seed, "children_requested": children, "noise": noise, "as_of": AS_OF.isoformat(),
            "files": {name: {**f, "reasons": dict(f["reasons"]), "agencies": dict(f["agencies"]),
                             "encoding": self.encodings[name]} for name, f in self.files.items()},
            "agencies": {a: dict(n) for a, n in sorted(per_agency.items())},
            "rows": c["rows"], "rows_loaded": c["rows_loaded"], "rows_quarantined": c["rows"] - c["rows_loaded"],
            "rows_superseded": c["rows_superseded"], "persons": c["persons"], "children": c["children"],
            "child_events": c["child_events"],
            # records first sent wrong and amended in a later file: each field's current value
            "amendments": self.amendments,
            "reviews": {rv.rid: {"missing_chronologies": rv.missing_chronologies,
                                 "involved_not_asked": rv.involved_not_asked} for rv in first_world.reviews},
        }


def _reviews_doc(world: World, renderer: ex.Renderer) -> dict:
    reviews = []
    for rv in world.reviews:
        subjects = []
        for i, pid in enumerate(rv.subjects):
            p = world.persons[pid]
            held = [a for (a, q) in renderer.views if q == pid and a in ("csc", "eh")]
            if i == 1 and held:  # one subject named the way the referring agency knows them
                subjects.append({"agency": held[0], "subject_ref": renderer.views[(held[0], pid)].subject_ref})
            else:
                subjects.append({"nhs_number": p.nhs})
        reviews.append({"id": rv.rid, "type": rv.rtype, "subjects": subjects,
                        "scope_start": rv.scope_start, "scope_end": rv.scope_end, "deadline": rv.deadline,
                        "agencies": rv.agencies})
    return {"reviews": reviews}
