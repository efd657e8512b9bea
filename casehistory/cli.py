"""`casehistory`: the commands the README talks about.

    casehistory run                the nightly DAG end to end through Airflow (make run)
    casehistory generate           synthetic agency extracts with ground truth
    casehistory sources            validate the source registry and show what a folder's files are
    casehistory identity review    pairs for a person to decide, with why and what agrees
    casehistory identity decide    record that decision (obeyed on every later run), or withdraw it
    casehistory identity decisions who decided what and when
    casehistory evaluate-linking   score linking against generated ground truth
    casehistory docs               the dbt docs site for analysts (a static page)
    casehistory rollback           publish an earlier analyst warehouse again
    casehistory rebuild            rebuild identity, dbt and checks from the ledger, and publish
    casehistory timeline           a child's merged timeline picture, for a review panel (restricted)
    casehistory chronology         a review's merged chronology: XLSX, printable HTML, PDF (restricted)
    casehistory quarantine list    quarantined rows still open (not loaded, not dismissed)
    casehistory quarantine retry   map the open rows again with the current registry, load what maps
    casehistory quarantine dismiss record that a named person decided an open row will not be loaded
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape

from casehistory.settings import DEFAULT_WAREHOUSE, DEMO_DIR, SOURCES_DIR, Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
identity_app = typer.Typer(no_args_is_help=True, help="Review and decide pairs of records the evidence leaves open.")
app.add_typer(identity_app, name="identity")
quarantine_app = typer.Typer(no_args_is_help=True, help="Quarantined rows: list, retry, dismiss (ingest/quarantine.py).")
app.add_typer(quarantine_app, name="quarantine")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DEMO_CHILDREN = 50_000  # a board report whose monthly figures are large enough to show (README: Small numbers)


@contextmanager
def _sole_writer(settings: Settings) -> Iterator[None]:
    """Hold the warehouse's run lock (casehistory/runlock.py); exit 3 naming the holder if refused."""
    from casehistory.runlock import RunLocked, run_lock

    try:
        with run_lock(settings):
            yield
    except RunLocked as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(3) from None


@app.command()
def run(
    extracts: Optional[Path] = typer.Option(None, help="Folder of agency extracts (default: the demo set, generated if missing)."),
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse to publish."),
    reviews: Optional[Path] = typer.Option(None, help="Reviews YAML (default with the demo set: its reviews.yml)."),
    run_date: Optional[str] = typer.Option(None, help="ISO date the run treats as today (default: today)."),
) -> None:
    """Run the nightly pipeline once, for real, through Airflow (`airflow dags test nightly`)."""
    from casehistory.airflow_runner import airflow_home, run_nightly

    if extracts is None:
        extracts = DEMO_DIR / "extracts"
        if not extracts.is_dir():
            console.print(f"No extracts given: generating the demo set ({DEMO_CHILDREN:,} children) in {DEMO_DIR}")
            from casehistory.synth import generate as make

            make(DEMO_DIR, DEMO_CHILDREN)
        if reviews is None and (DEMO_DIR / "reviews.yml").exists():
            reviews = DEMO_DIR / "reviews.yml"
        os.environ["CASEHISTORY_DEMO"] = "1"  # the generated set: a missing pseudonym key may be created
    if not extracts.is_dir():
        err.print(f"[red]error:[/red] extracts folder {extracts} does not exist")
        raise typer.Exit(2)
    if reviews is not None and not reviews.is_file():
        err.print(f"[red]error:[/red] reviews file {reviews} does not exist")
        raise typer.Exit(2)
    from casehistory.identity.pseudonym import PseudonymKeyMissing, load_key

    try:
        load_key()  # before Airflow starts: a run without its key would stop at linking
    except (PseudonymKeyMissing, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    settings = Settings(extracts=extracts, warehouse=warehouse, reviews=reviews,
                        run_date=date.fromisoformat(run_date) if run_date else date.today())
    settings.ensure_dirs()
    log_file = settings.reports_dir / "logs" / f"nightly-{datetime.now():%Y%m%dT%H%M%S}.log"
    console.print(f"Running the nightly DAG (Airflow home {airflow_home()}); full log: {log_file}")
    started = time.time()
    with _sole_writer(settings):
        outcome = run_nightly(settings.as_params(), log_file)
    summary = settings.reports_dir / "run_summary.txt"
    if summary.exists() and summary.stat().st_mtime >= started:
        print("\n" + summary.read_text(), flush=True)
    else:
        err.print(f"[red]The run ended before writing its summary.[/red] Last lines of {log_file}:")
        print("\n".join(log_file.read_text().splitlines()[-30:]), file=sys.stderr)
    print("\n" + outcome.report(), flush=True)  # from Airflow's record of the run, not its log
    if outcome.exit_code != 0:
        err.print(f"[red]The nightly run failed[/red] (see above and {log_file}).")
    raise typer.Exit(outcome.exit_code)


@app.command("airflow")
def airflow_ui(port: int = typer.Option(8080, help="The UI's and API server's port")) -> None:
    """A local Airflow UI on this project's two DAGs (nightly, review_readiness), examples off, its
    state in .airflow/ (CASEHISTORY_AIRFLOW_HOME): Airflow's `standalone`, until Ctrl-C."""
    from casehistory.airflow_runner import airflow_home, standalone

    typer.echo(f"Airflow at http://localhost:{port} (state in {airflow_home()}); Ctrl-C stops it")
    raise typer.Exit(standalone(port))


@app.command()
def readiness(
    review_id: str = typer.Argument(..., help="The review to check (its id in the reviews file)."),
    reviews: Path = typer.Option(..., help="Reviews YAML."),
    extracts: Path = typer.Option(DEMO_DIR / "extracts", help="Folder of agency extracts (new files are loaded first)."),
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse whose restricted store to use."),
    run_date: Optional[str] = typer.Option(None, help="ISO date the run treats as today (default: today)."),
) -> None:
    """Check one review's chronologies through the `review_readiness` DAG and write its report."""
    from casehistory.airflow_runner import run_dag

    settings = Settings(extracts=extracts, warehouse=warehouse, reviews=reviews,
                        run_date=date.fromisoformat(run_date) if run_date else date.today())
    settings.ensure_dirs()
    log_file = settings.reports_dir / "logs" / f"review_readiness-{datetime.now():%Y%m%dT%H%M%S}.log"
    outcome = run_dag("review_readiness", {**settings.as_params(), "review_id": review_id}, log_file)
    report = settings.reports_dir / "reviews" / f"{review_id}.html"
    print("\n" + outcome.report(), flush=True)  # from Airflow's record of the run, not its log
    console.print(f"report: {report if report.exists() else '(not written)'}; log: {log_file}")
    if outcome.exit_code != 0:
        err.print(f"[red]Review {review_id} is not ready, or the check failed[/red] (see {log_file}).")
    raise typer.Exit(outcome.exit_code)


@app.command()
def generate(
    out: Path = typer.Option(DEMO_DIR, help="Output folder (extracts/, reviews.yml, ground_truth/)."),
    children: int = typer.Option(DEMO_CHILDREN, min=10, help="Number of children."),
    seed: int = typer.Option(42, help="Random seed: the same seed gives the same files."),
    noise: str = typer.Option("default", help="Noise level: none, default or high."),
) -> None:
    """Generate synthetic multi-agency extracts with their ground truth."""
    from casehistory.synth import generate as make

    result = make(out, children, seed, noise)
    e = result.expected
    console.print(f"{len(e['files'])} files, {e['rows']:,} rows ({e['rows_quarantined']:,} with faults to "
                  f"quarantine), {e['children']:,} children, {e['child_events']:,} child events -> {result.extracts}")
    console.print(f"reviews: {result.reviews}; ground truth: {result.ground_truth}")


@app.command()
def sources(
    folder: Optional[Path] = typer.Argument(None, help="A drop folder to sort into sources."),
    registry: Path = typer.Option(SOURCES_DIR, help="Source registry folder."),
) -> None:
    """Validate the source registry; with a folder, show which source each file belongs to."""
    from ingest.detect import discover
    from ingest.registry import RegistryError, load_registry

    try:
        reg = load_registry(registry)
    except RegistryError as exc:
        err.print(f"[red]The source registry has problems:[/red]\n{exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"{len(reg)} sources valid in {registry}: " + ", ".join(s.source for s in reg))
    if folder is not None:
        found = discover(folder, reg)
        for source, paths in found.by_source.items():
            for p in paths:
                console.print(f"  {p.name} -> {source}")
        for p, why in found.unmatched:
            console.print(f"  [yellow]{p.name}: {why}[/yellow]")
        if found.unmatched:
            raise typer.Exit(1)




@app.command()
def timeline(
    child_key: Optional[list[str]] = typer.Argument(None, help="child_key(s) from the analyst warehouse."),
    review: Optional[str] = typer.Option(None, help="Every child the review (its review_id) is about."),
    nhs_number: Optional[list[str]] = typer.Option(None, help="A child's NHS number (repeatable; looked up in the restricted store)."),
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse (its restricted store is read)."),
) -> None:
    """Write per-child timelines (swimlanes by agency, plan bands, referrals and outcomes, household
    events) to <stem>.restricted/timelines/: restricted, they carry the child's name."""
    from casehistory import warehouse as wh
    from casehistory.board.timeline import review_subject_keys, write_timelines

    settings = Settings(extracts=Path("."), warehouse=warehouse)
    if not settings.store.exists():
        err.print(f"[red]error:[/red] no restricted store at {settings.store}: run the pipeline first")
        raise typer.Exit(2)
    keys = list(child_key or [])
    if review:
        found = review_subject_keys(settings, review)
        if not found:
            err.print(f"[red]error:[/red] review {review} has no subjects with events in {settings.store}")
            raise typer.Exit(2)
        keys += found
    with wh.store(settings, read_only=True) as con:
        for number in nhs_number or []:
            row = con.execute("select distinct child_key from restricted.restricted_child_chronology "
                              "where nhs_number = ? and not via_household", [number]).fetchall()
            if len(row) != 1:
                err.print(f"[red]error:[/red] NHS number {number} matches {len(row)} children in the store")
                raise typer.Exit(2)
            keys.append(row[0][0])
    if not keys:
        err.print("[red]error:[/red] name children: child keys, --review or --nhs-number")
        raise typer.Exit(2)
    try:
        paths = write_timelines(settings, sorted(set(keys)))
    except LookupError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    for path in paths:
        console.print(f"  {path}")
    console.print(f"{len(paths)} timeline(s) written (restricted: for the review panel and data team only).")


@app.command()
def chronology(
    review: str = typer.Option(..., help="The review (its id in the reviews file the last run was given)."),
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse (its restricted store is read)."),
    silence_days: Optional[int] = typer.Option(None, min=1, help="Mark a silence after this many days with no "
                                               "event (default CASEHISTORY_CHRONOLOGY_SILENCE_DAYS, 90)."),
    compare: bool = typer.Option(False, "--compare", help="Also print the agencies' rows one after another "
                                 "and count both documents' rows and pages."),
    run_date: Optional[str] = typer.Option(None, help="ISO date the document says it was written (default: today)."),
) -> None:
    """Write a review's merged chronology (one row per real event, each agency's account under it)
    as XLSX, printable HTML and PDF to <stem>.restricted/reviews/<review>/: restricted, it holds
    names, NHS numbers and practitioners' notes."""
    from dataclasses import replace

    from casehistory import warehouse as wh
    from casehistory.board.chronology import ReviewNotFound, missing_sources, write_chronology

    settings = _store_settings(warehouse)
    settings = replace(settings, run_date=date.fromisoformat(run_date) if run_date else date.today(),
                       **({"chronology_silence_days": silence_days} if silence_days else {}))
    try:
        with wh.store(settings, read_only=True) as con:
            if missing := missing_sources(con):
                err.print(f"[red]error:[/red] the store has no {', '.join(missing)}: run the pipeline first")
                raise typer.Exit(2)
            written = write_chronology(settings, con, review, compare=compare)
    except ReviewNotFound as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    for path in (written.xlsx, written.html, written.pdf):
        if path:
            console.print(f"  {path}", highlight=False)
    pages = f", {written.pdf_pages} printed pages" if written.pdf_pages else ""
    console.print(f"Review {review}: {written.events} events from {written.agency_records} agency records{pages} "
                  "(restricted: for the review panel and data team only).", highlight=False)
    if written.naive:
        console.print(f"Agencies' rows one after another: {written.naive['rows']} rows, {written.naive['pages']} "
                      f"printed pages ({written.naive['pdf']}).", highlight=False)
    if written.pdf_problem:
        err.print(f"[red]The PDF was not printed:[/red] {escape(written.pdf_problem)}", highlight=False)
        raise typer.Exit(1)


@identity_app.command("review")
def identity_review(
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse (its restricted store is read)."),
    limit: int = typer.Option(20, help="How many pairs to show, most likely first."),
) -> None:
    """Show the review queue: each pair's records side by side, why it is queued, and the fields
    that agree and disagree (restricted: names and identifiers)."""
    from casehistory import warehouse as wh

    settings = Settings(extracts=Path("."), warehouse=warehouse)
    if not settings.store.exists():
        err.print(f"[red]error:[/red] no restricted store at {settings.store}: run the pipeline first")
        raise typer.Exit(2)
    with wh.store(settings, read_only=True) as con:
        pairs = con.execute("""select subject_a, subject_b, probability, reason, agree, disagree from identity.review_queue
                               order by probability desc nulls last, subject_a, subject_b limit ?""", [limit]).fetchall()
        total = con.execute("select count(*) from identity.review_queue").fetchone()[0]
        for a, b, p, reason, agree, disagree in pairs:
            score = f"model probability {p:.4f}" if p is not None else "not scored by the model"
            console.print(f"[bold]{escape(a)}[/bold]  vs  [bold]{escape(b)}[/bold]   {score}", highlight=False)
            console.print(f"    queued: {reason}", markup=False, highlight=False)
            console.print(f"    agree: {', '.join(agree) or '-'}    disagree: {', '.join(disagree) or '-'}",
                          markup=False, highlight=False)
            for subject in (a, b):
                for r in con.execute("""select source, forename_key, surname_key, date_of_birth, sex, postcode, family_ref,
                                               nhs_number, upn from identity.subject_records where subject_key = ?""",
                                     [subject]).fetchall():
                    console.print(f"    {subject:<22} {r[0]:<20} {r[1] or '-':<12} {r[2] or '-':<14} {r[3] or '-'} "
                                  f"{r[4] or '-'} {r[5] or '-':<9} family {r[6] or '-'} NHS {r[7] or '-'} UPN {r[8] or '-'}",
                                  markup=False, highlight=False)
        apart = con.execute("select reason, count(*) from identity.kept_apart group by all order by 2 desc, 1").fetchall()
    console.print(f"{len(pairs)} of {total} pairs shown. Decide with: "
                  "casehistory identity decide A B --same|--different --by NAME --note WHY")
    if apart:  # never offered as links: a rail forbids them whatever a person says
        console.print("Not offered (identity.kept_apart): " + "; ".join(f"{reason} ({n})" for reason, n in apart),
                      markup=False, highlight=False)


@identity_app.command("decide")
def identity_decide(
    subject_a: str = typer.Argument(..., help="A subject key, e.g. police:PN00012345"),
    subject_b: str = typer.Argument(..., help="The other subject key."),
    same: bool = typer.Option(False, "--same", help="They are the same person."),
    different: bool = typer.Option(False, "--different", help="They are different people."),
    withdraw: bool = typer.Option(False, "--withdraw", help="Take back the decision standing on the pair."),
    by: str = typer.Option(..., "--by", help="Who decided (kept with the decision)."),
    note: str = typer.Option("", help="Why (kept with the decision)."),
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse whose restricted folder keeps decisions."),
) -> None:
    """Record a person's decision on a pair; every later run obeys it (latest decision wins). Both
    subjects must be in the restricted store; --withdraw leaves the pair to the evidence again."""
    from casehistory import warehouse as wh
    from casehistory.identity.decisions import (DECISIONS_FILE, WITHDRAWN, DecisionsError, key_problem,
                                                record_decision, unknown_subjects)

    if same + different + withdraw != 1:
        err.print("[red]error:[/red] say one of --same, --different or --withdraw")
        raise typer.Exit(2)
    settings = Settings(extracts=Path("."), warehouse=warehouse)
    decision = "same" if same else "different" if different else WITHDRAWN
    problems = [p for p in (key_problem(subject_a), key_problem(subject_b)) if p]
    if not problems and decision != WITHDRAWN:  # a decision that stood on a subject since gone may still be withdrawn
        if not settings.store.exists():
            err.print(f"[red]error:[/red] no restricted store at {settings.store} to check the subjects against: "
                      "run the pipeline first")
            raise typer.Exit(2)
        with wh.store(settings, read_only=True) as con:
            problems = [f"{k} is not a subject in {settings.store} (casehistory identity review shows subject keys)"
                        for k in unknown_subjects(con, [subject_a, subject_b])]
    if problems:
        for problem in problems:
            err.print(f"[red]error:[/red] {escape(problem)}", highlight=False)
        raise typer.Exit(2)
    try:
        d = record_decision(settings.restricted_dir / DECISIONS_FILE, subject_a, subject_b, decision, by, note)
    except DecisionsError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    said = {"same": "are the same person", "different": "are different people",
            WITHDRAWN: "have no standing decision: the evidence decides again"}[decision]
    console.print(f"Recorded: {d.subject_a} and {d.subject_b} {said} ({d.decided_by}, {d.decided_at}).",
                  markup=False, highlight=False)


@identity_app.command("decisions")
def identity_decisions(
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse whose restricted folder keeps decisions."),
) -> None:
    """Every decision ever recorded, oldest first: who decided what and when, and whether it stands,
    was superseded or withdrawn; a standing one naming a subject the store no longer holds is not applied."""
    from casehistory import warehouse as wh
    from casehistory.identity.decisions import DECISIONS_FILE, DecisionsError, read_history, unknown_subjects

    settings = Settings(extracts=Path("."), warehouse=warehouse)
    path = settings.restricted_dir / DECISIONS_FILE
    try:
        history = read_history(path)
    except DecisionsError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    missing: set[str] = set()
    if settings.store.exists():
        keys = sorted({k for e in history if e.status == "standing" for k in (e.decision.subject_a, e.decision.subject_b)})
        with wh.store(settings, read_only=True) as con:
            missing = set(unknown_subjects(con, keys))
    for e in history:
        d = e.decision
        status = e.status
        if status == "standing" and {d.subject_a, d.subject_b} & missing:
            status = "standing, not applied: " + ", ".join(sorted({d.subject_a, d.subject_b} & missing)) + " not in the store"
        console.print(f"{d.decided_at}  {d.decided_by:<20} {d.decision:<9} {d.subject_a}  {d.subject_b}  [{status}]"
                      + (f"  {d.note}" if d.note else ""), markup=False, highlight=False)
    console.print(f"{len(history)} decision(s) in {path}", highlight=False)


@app.command("evaluate-linking")
def evaluate_linking(
    children: list[int] = typer.Option([100_000], min=10, help="Children to generate (repeatable: one evaluation per size)."),
    noise: list[str] = typer.Option(["default", "high"], help="Noise levels to score (repeatable)."),
    seed: int = typer.Option(42),
    workdir: Path = typer.Option(Path("data/evaluation"), help="Where the generated data and store go."),
    out: Path = typer.Option(Path("docs/linking-evaluation.md"), help="Markdown report (with this command)."),
) -> None:
    """Generate data, load it, link it, score linking against the ground truth and explain every wrong merge."""
    import json
    import shutil

    from casehistory.identity.evaluate import evaluate, markdown
    from casehistory.synth.noise import LEVELS

    command = ("casehistory evaluate-linking " + " ".join(f"--children {c}" for c in children) + " "
               + " ".join(f"--noise {n}" for n in noise) + (f" --seed {seed}" if seed != 42 else ""))
    measured = f"{datetime.now():%Y-%m-%d %H:%M}"
    # figures of other sizes and noise levels already in the JSON are kept (a million children take an hour)
    kept = json.loads(out.with_suffix(".json").read_text()) if out.with_suffix(".json").exists() else []
    results = {(r["children"], r["noise"]): r for r in kept}
    for size in children:
        for level in noise:
            console.print(f"Evaluating {size:,} children at {level} noise ...")
            run_dir = workdir / f"{size}-{level}"
            result = {**evaluate(size, seed, level, run_dir), "command": command, "measured": measured}
            shutil.rmtree(run_dir, ignore_errors=True)  # a million children's extracts and store: gigabytes
            console.print({k: v for k, v in result.items() if k != "wrong_merge_list"})
            results[(size, level)] = result
    ordered = [results[k] for k in sorted(results, key=lambda k: (k[0], list(LEVELS).index(k[1])))]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown(ordered))
    out.with_suffix(".json").write_text(json.dumps(ordered, indent=2))
    console.print(f"Written to {out}")


@app.command()
def docs(
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse whose restricted store the last run built."),
) -> None:
    """Write the dbt docs site (every model, column, test and exposure) as one static page."""
    from casehistory.board.dbt_docs import publish_dbt_docs

    settings = Settings(extracts=Path("."), warehouse=warehouse)
    if not settings.store.exists():
        err.print(f"[red]error:[/red] no restricted store at {settings.store}: run the pipeline first")
        raise typer.Exit(2)
    try:
        page = publish_dbt_docs(settings)
    except RuntimeError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"dbt docs: {page}")


@app.command()
def rollback(
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="The published analyst warehouse."),
    to: Optional[str] = typer.Option(None, "--to", help="A kept version's name (default: the one before)."),
    list_only: bool = typer.Option(False, "--list", help="Only list the kept versions."),
) -> None:
    """Publish an earlier analyst warehouse again (kept in <stem>.versions/ by every publish)."""
    from casehistory import warehouse as wh

    settings = Settings(extracts=Path("."), warehouse=warehouse)
    kept = wh.versions(settings)
    if list_only:
        for v in kept:
            console.print(f"  {v.name}  {v.stat().st_size:>14,} bytes")
        console.print(f"{len(kept)} version(s) in {settings.versions_dir}")
        return
    try:
        with _sole_writer(settings):  # not while a run publishes
            chosen = wh.rollback(settings, to)
    except FileNotFoundError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"Published {chosen.name} again as {settings.warehouse}; the file it replaced is kept "
                  f"in {settings.versions_dir} (marked {wh.ROLLED_BACK}). New sessions see it; open ones keep theirs.")


@app.command()
def rebuild(
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse whose restricted store holds the ledger."),
    run_date: Optional[str] = typer.Option(None, help="ISO date the run treats as today (default: today)."),
) -> None:
    """Rebuild everything downstream of the ledger (identity, every dbt model, checks) and publish,
    loading no files: after changing a model, a threshold or the vocabulary."""
    from casehistory import pipeline

    settings = Settings(extracts=Path("."), warehouse=warehouse,
                        run_date=date.fromisoformat(run_date) if run_date else date.today())
    if not settings.store.exists():
        err.print(f"[red]error:[/red] no restricted store at {settings.store}: nothing to rebuild from")
        raise typer.Exit(2)
    run_id = f"rebuild__{datetime.now():%Y-%m-%dT%H:%M:%S}"
    code = 0
    with _sole_writer(settings):
        for step in ("link", "build", "check", "feeds", "publish"):
            console.print(f"  {step}")
            try:
                if step == "link":  # everything from scratch: the identity model is retrained too
                    pipeline.link(settings, run_id, full=True)
                elif step == "build":  # every dbt model rebuilt whole (--full-refresh)
                    pipeline.build(settings, run_id, full_refresh=True)
                else:
                    getattr(pipeline, step)(settings, run_id)
            except pipeline.StepFailed as exc:
                err.print(f"[red]{step} failed:[/red] {exc}")
                code = 1
                break
        try:
            pipeline.report(settings, run_id)
        except pipeline.StepFailed:
            code = 1
    print((settings.reports_dir / "run_summary.txt").read_text(), flush=True)
    raise typer.Exit(code)


def _store_settings(warehouse: Path) -> Settings:
    settings = Settings(extracts=Path("."), warehouse=warehouse)
    if not settings.store.exists():
        err.print(f"[red]error:[/red] no restricted store at {settings.store}: run the pipeline first")
        raise typer.Exit(2)
    return settings


@quarantine_app.command("list")
def quarantine_list(
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse (its restricted store is read)."),
    source: Optional[str] = typer.Option(None, help="Only this source's rows."),
) -> None:
    """Every open quarantined row: file, checksum, row, where in the file, and its reasons (no values)."""
    from casehistory import warehouse as wh
    from ingest import quarantine

    settings = _store_settings(warehouse)
    with wh.store(settings) as con:
        rows = quarantine.open_rows(con, source)
    for r in rows:
        part = " (loaded in part)" if r.row_outcome == "loaded_in_part" else ""
        console.print(f"{r.source:<20} {r.file_name} {r.file_checksum[:12]} row {r.row_number} "
                      f"[{r.table_name or '-'}] {r.locator}{part}: {', '.join(r.reasons)}", highlight=False)
    console.print(f"{len(rows)} open quarantined row(s). Load them after fixing the source's YAML with "
                  "`casehistory quarantine retry`, or dismiss one with "
                  "`casehistory quarantine dismiss CHECKSUM ROW --by NAME --note TEXT`.")


@quarantine_app.command("retry")
def quarantine_retry(
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse whose restricted store holds the ledger."),
    source: Optional[str] = typer.Option(None, help="Only this source's rows (default: every source with open rows)."),
) -> None:
    """Map the open rows again from the archived files with the current registry; load what maps."""
    from casehistory import warehouse as wh
    from ingest import quarantine
    from ingest.registry import RegistryError, load_registry

    settings = _store_settings(warehouse)
    try:
        registry = load_registry(settings.sources_dir)
    except RegistryError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if source is not None and source not in registry.sources:
        err.print(f"[red]error:[/red] no source {source!r} in {settings.sources_dir}")
        raise typer.Exit(2)
    run_id = f"quarantine_retry__{datetime.now():%Y-%m-%dT%H:%M:%S}"
    code = 0
    with _sole_writer(settings), wh.store(settings) as con:
        sources = [source] if source else sorted({r.source for r in quarantine.open_rows(con)} & set(registry.sources))
        for name in sources:
            result = quarantine.retry(con, registry, name, run_id=run_id)
            console.print(f"{name}: {result.rows_retried} row(s) retried, {result.rows_loaded} loaded "
                          f"({result.events_added} events, {result.persons_added} persons), {result.rows_open} still open")
            for problem in result.problems:
                err.print(f"  [red]not retried:[/red] {problem}", highlight=False)
                code = 1
    if not sources:
        console.print("No open quarantined rows.")
    raise typer.Exit(code)


@quarantine_app.command("dismiss")
def quarantine_dismiss(
    checksum: str = typer.Argument(..., help="The file's checksum, or its first 8 or more characters (as listed)."),
    row: int = typer.Argument(..., help="The row number (as listed)."),
    by: str = typer.Option(..., "--by", help="Who decided the row will not be loaded (kept with the decision)."),
    note: str = typer.Option(..., "--note", help="Why (kept with the decision)."),
    table: Optional[str] = typer.Option(None, help="The file's table, where several number their rows alike."),
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse whose restricted store holds the ledger."),
) -> None:
    """Record that a named person decided an open quarantined row will not be loaded."""
    from casehistory import warehouse as wh
    from ingest import quarantine

    settings = _store_settings(warehouse)
    with _sole_writer(settings), wh.store(settings) as con:
        try:
            dismissed = quarantine.dismiss(con, checksum, row, by=by, note=note, table=table)
        except quarantine.QuarantineError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(2) from None
    console.print(f"Dismissed: {dismissed.file_name} row {dismissed.row_number} ({dismissed.locator}) by {by.strip()}.",
                  highlight=False)
