"""The chronology a scenario holds back, for when it finally arrives.

The js_family scenario's family support service (early help) never sends anything about the
family (Family.silent_agencies), as in the seed review. `held_back_chronology` writes what it
would have sent on the chronology template for the review, so a test or a demo can drop the file
in and see the review's flag clear. Same seed and size as `generate`, same world (its first batch).
"""

from __future__ import annotations

from pathlib import Path

from casehistory.synth import world_batches
from casehistory.synth import extracts as ex
from casehistory.synth.noise import level


def held_back_chronology(out_dir: Path, children: int, seed: int = 42, noise: str = "default") -> list[Path]:
    """Write one chronology template per review and silent agency asked; return the files written."""
    world, last = next(world_batches(children, seed))  # the scenario families are in the first batch
    renderer = ex.Renderer(world, level(noise), seed)
    renderer.last_batch = last
    written = []
    for review in world.reviews:
        families = {world.persons[pid].family for pid in review.subjects}
        for agency in review.missing_chronologies:
            rows, refs = [], {}
            for ev in world.events:
                person = world.persons[ev.pid]
                if person.family not in families or agency not in world.families[person.family].silent_agencies:
                    continue
                for rep in (r for r in ev.reports if r.agency == agency):
                    view = renderer.view(agency, ev.pid)
                    # its own case references, which the bulk extract's numbering never reached
                    case_ref = refs.setdefault(ev.pid, f"{agency.upper()}-HELD-{len(refs) + 1:04d}")
                    values = {"agency": agency, "record_id": f"{agency.upper()}-{review.rid}-LATE-{len(rows) + 1:04d}",
                              "subject_ref": case_ref, "nhs_number": person.nhs, "upn": person.upn,
                              "la_child_id": None, "forename": person.forename, "surname": person.surname,
                              "date_of_birth": person.dob.isoformat(), "sex": person.sex, "postcode": view.postcode,
                              "family_ref": f"{agency.upper()}-FAM-{person.family}",
                              "person_role": "child" if person.is_child else person.role,
                              "event_date": rep.date.strftime("%d/%m/%Y"), "event_time": None,
                              "event_type": ev.etype, "outcome": rep.outcome, "related_agency": rep.related_agency,
                              "practitioner_role": rep.practitioner_role, "summary": rep.summary,
                              "recorded_at": None, "review_id": review.rid}
                    rows.append(ex.Row(values, ev, rep, view))
            if not rows:
                continue
            extract = ex.Extract(f"chronology_{agency}_{review.rid}_late.xlsx", "chronology_template", rows,
                                 ex.chronology_xlsx_sink, "event_date", lambda d: d.strftime("%d/%m/%Y"),
                                 "31/02/2024", "event_type", "visit", "subject_ref", "record_id")
            path = Path(out_dir) / extract.file_name
            sink = extract.sink(path)
            sink.append(extract)
            sink.close()
            written.append(path)
    return written
