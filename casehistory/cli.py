"""`casehistory`: the commands the README talks about.

    casehistory run                the nightly DAG end to end through Airflow (make run)
    casehistory generate           synthetic agency extracts with ground truth
    casehistory sources            validate the source registry and show what a folder's files are
    casehistory identity review    pairs the linking model is unsure of, for a person to decide
    casehistory identity decide    record that decision (obeyed on every later run)
    casehistory evaluate-linking   score linking against generated ground truth
    casehistory docs               the dbt docs site for analysts (a static page)
    casehistory rollback           publish an earlier analyst warehouse again
    casehistory rebuild            rebuild identity, dbt and checks from the ledger, and publish
    casehistory timeline           a child's merged timeline picture, for a review panel (restricted)
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

from casehistory.settings import DEFAULT_WAREHOUSE, DEMO_DIR, SOURCES_DIR, Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
identity_app = typer.Typer(no_args_is_help=True, help="Review and decide pairs the linking model is unsure of.")
app.add_typer(identity_app, name="identity")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DEMO_CHILDREN = 5000


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
        code = run_nightly(settings.as_params(), log_file)
    summary = settings.reports_dir / "run_summary.txt"
    if summary.exists() and summary.stat().st_mtime >= started:
        print("\n" + summary.read_text(), flush=True)
    else:
        err.print(f"[red]The run ended before writing its summary.[/red] Last lines of {log_file}:")
        print("\n".join(log_file.read_text().splitlines()[-30:]), file=sys.stderr)
    if code != 0:
        err.print(f"[red]The nightly run failed[/red] (see above and {log_file}).")
    raise typer.Exit(code)


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
    code = run_dag("review_readiness", {**settings.as_params(), "review_id": review_id}, log_file)
    report = settings.reports_dir / "reviews" / f"{review_id}.html"
    console.print(f"report: {report if report.exists() else '(not written)'}; log: {log_file}")
    if code != 0:
        err.print(f"[red]Review {review_id} is not ready, or the check failed[/red] (see {log_file}).")
    raise typer.Exit(code)


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


@identity_app.command("review")
def identity_review(
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse (its restricted store is read)."),
    limit: int = typer.Option(20, help="How many pairs to show, most likely first."),
) -> None:
    """Show the review queue: pairs of records side by side (restricted: names and identifiers)."""
    from casehistory import warehouse as wh

    settings = Settings(extracts=Path("."), warehouse=warehouse)
    if not settings.store.exists():
        err.print(f"[red]error:[/red] no restricted store at {settings.store}: run the pipeline first")
        raise typer.Exit(2)
    with wh.store(settings, read_only=True) as con:
        pairs = con.execute("select subject_a, subject_b, probability from identity.review_queue "
                            "order by probability desc, subject_a, subject_b limit ?", [limit]).fetchall()
        total = con.execute("select count(*) from identity.review_queue").fetchone()[0]
        for a, b, p in pairs:
            console.print(f"[bold]{a}[/bold]  vs  [bold]{b}[/bold]   model probability {p:.4f}")
            for subject in (a, b):
                for r in con.execute("""select source, forename_key, surname_key, date_of_birth, sex, postcode,
                                               nhs_number, upn from identity.subject_records where subject_key = ?""",
                                     [subject]).fetchall():
                    console.print(f"    {subject:<22} {r[0]:<20} {r[1] or '-':<12} {r[2] or '-':<14} {r[3] or '-'} "
                                  f"{r[4] or '-'} {r[5] or '-':<9} NHS {r[6] or '-'} UPN {r[7] or '-'}")
    console.print(f"{len(pairs)} of {total} pairs shown. Decide with: casehistory identity decide A B --same|--different --by NAME")


@identity_app.command("decide")
def identity_decide(
    subject_a: str = typer.Argument(..., help="A subject key, e.g. police:PN00012345"),
    subject_b: str = typer.Argument(..., help="The other subject key."),
    same: bool = typer.Option(False, "--same", help="They are the same person."),
    different: bool = typer.Option(False, "--different", help="They are different people."),
    by: str = typer.Option(..., "--by", help="Who decided (kept with the decision)."),
    note: str = typer.Option("", help="Why (kept with the decision)."),
    warehouse: Path = typer.Option(DEFAULT_WAREHOUSE, help="Analyst warehouse whose restricted folder keeps decisions."),
) -> None:
    """Record a person's decision on a pair; every later run obeys it (latest decision wins)."""
    from casehistory.identity.decisions import DECISIONS_FILE, record_decision

    if same == different:
        err.print("[red]error:[/red] say --same or --different")
        raise typer.Exit(2)
    settings = Settings(extracts=Path("."), warehouse=warehouse)
    decision = record_decision(settings.restricted_dir / DECISIONS_FILE, subject_a, subject_b,
                               "same" if same else "different", by, note)
    console.print(f"Recorded: {decision.subject_a} and {decision.subject_b} are "
                  f"{'the same person' if same else 'different people'} ({decision.decided_by}, {decision.decided_at}).")


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
