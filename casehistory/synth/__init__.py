"""Synthetic multi-agency extracts with ground truth: `casehistory generate --children N`.

Seeded and deterministic: the same seed, size and noise level give byte-identical files. Output:

    <out>/extracts/        the agency files, as a drop folder would hold them
    <out>/reviews.yml      the reviews declared for the two scenario families
    <out>/ground_truth/    persons.csv, events.csv, records.csv (every row: true person, true event,
                           what ingest must do with it) and expected.json (the counts a run must show)
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from casehistory.synth import extracts as ex
from casehistory.synth.histories import births_and_health_visiting, family_services, ordinary_family, school_attendance
from casehistory.synth.noise import level
from casehistory.synth.scenarios import baby_e, js_family
from casehistory.synth.world import AS_OF, World, WorldBuilder

MIN_CHILDREN = 10


@dataclass
class Generated:
    root: Path
    extracts: Path
    reviews: Path
    ground_truth: Path
    expected: dict


def build_world(children: int, seed: int) -> World:
    if children < MIN_CHILDREN:
        raise ValueError(f"--children must be at least {MIN_CHILDREN} (the scenario families alone have 6)")
    b = WorldBuilder(seed)
    scenario_children = baby_e(b) + js_family(b)
    for pid in scenario_children:
        child = b.world.persons[pid]
        fam = b.world.families[child.family]
        births_and_health_visiting(b, fam, child)
        school_attendance(b, fam, child)
    made = len(scenario_children)
    while made < children:
        fam = ordinary_family(b, children - made)
        made += sum(1 for pid in fam.members if b.world.persons[pid].is_child)
        family_services(b, fam)
    return b.world


def generate(out: Path, children: int, seed: int = 42, noise: str = "default") -> Generated:
    out = Path(out)
    world = build_world(children, seed)
    renderer = ex.Renderer(world, level(noise), seed)
    extracts_dir, truth_dir = out / "extracts", out / "ground_truth"
    extracts_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)

    records = []
    for render in ex.RENDERERS:
        for extract in render(renderer):
            if not extract.rows and not extract.extra_truth:
                continue
            extract.write(extracts_dir / extract.file_name, extract)
            for n, row in enumerate(extract.rows, start=1):
                records.append({
                    "file": extract.file_name, "row_number": n, "source": extract.source,
                    "agency": row.report.agency, "record_id": row.values[extract.record_col],
                    "subject_ref": row.view.subject_ref, "true_person": row.event.pid, "true_event": row.event.eid,
                    "event_type": row.event.etype, "status": row.status, "reason": row.reason or "",
                })
            for extra in extract.extra_truth:
                records.append({"file": extract.file_name, "source": extract.source, "agency": "",
                                "record_id": "", "subject_ref": "", "true_person": "", "true_event": "",
                                "event_type": "", **extra})

    reviews_path = out / "reviews.yml"
    reviews_path.write_text(yaml.safe_dump(_reviews_doc(world, renderer), sort_keys=False))
    expected = _expected(world, records, children, seed, noise)
    _write_csv(truth_dir / "records.csv", records)
    _write_csv(truth_dir / "persons.csv", [
        {"true_person": p.pid, "family": p.family, "role": p.role, "forename": p.forename, "surname": p.surname,
         "sex": p.sex, "date_of_birth": p.dob.isoformat(), "nhs_number": p.nhs, "upn": p.upn or "",
         "mother": p.mother or "", "father": p.father or "", "scenario": p.scenario or ""}
        for p in world.persons.values()])
    _write_csv(truth_dir / "events.csv", [
        {"true_event": e.eid, "true_person": e.pid, "event_type": e.etype, "event_date": e.date.isoformat(),
         "outcome": e.outcome or "", "occurrence": e.occurrence or "",
         "reported_by": "|".join(rep.agency for rep in e.reports)}
        for e in world.events if e.reports])
    (truth_dir / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True))
    return Generated(out, extracts_dir, reviews_path, truth_dir, expected)


def _write_csv(path: Path, rows: list[dict]) -> None:
    fields: list[str] = []
    for row in rows:
        fields.extend(k for k in row if k not in fields)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)


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


def _expected(world: World, records: list[dict], children: int, seed: int, noise: str) -> dict:
    files: dict[str, dict] = {}
    for r in records:
        f = files.setdefault(r["file"], {"source": r["source"], "rows": 0, "loaded": 0, "quarantined": 0,
                                         "reasons": Counter(), "agencies": Counter()})
        f["rows"] += 1
        if r["status"] == "quarantined":
            f["quarantined"] += 1
            f["reasons"][r["reason"]] += 1
        else:
            f["loaded"] += 1
            f["agencies"][r["agency"]] += 1
    loaded = [r for r in records if r["status"] in ("loaded", "superseded")]
    current = [r for r in records if r["status"] == "loaded"]
    persons = world.persons
    child_pids = {r["true_person"] for r in loaded if persons[r["true_person"]].is_child}
    events_by_child = {r["true_event"] for r in current if persons[r["true_person"]].is_child}
    per_agency: dict[str, Counter] = defaultdict(Counter)
    for r in records:
        agency = r["agency"] or _agency_of_source(records, r["source"])
        per_agency[agency]["rows"] += 1
        per_agency[agency]["quarantined" if r["status"] == "quarantined" else "loaded"] += 1
    return {
        "seed": seed, "children_requested": children, "noise": noise, "as_of": AS_OF.isoformat(),
        "files": {name: {**f, "reasons": dict(f["reasons"]), "agencies": dict(f["agencies"])} for name, f in files.items()},
        "agencies": {a: dict(c) for a, c in sorted(per_agency.items())},
        "rows": len(records), "rows_loaded": len(loaded), "rows_quarantined": len(records) - len(loaded),
        "rows_superseded": sum(1 for r in records if r["status"] == "superseded"),
        "persons": len({r["true_person"] for r in loaded}),
        "children": len(child_pids),
        "child_events": len(events_by_child),
        "reviews": {rv.rid: {"missing_chronologies": rv.missing_chronologies,
                             "involved_not_asked": rv.involved_not_asked} for rv in world.reviews},
    }


def _agency_of_source(records: list[dict], source: str) -> str:
    return next((r["agency"] for r in records if r["source"] == source and r["agency"]), source)
