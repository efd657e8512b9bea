"""Where the pipeline reads and writes, and what it may use of the machine.

One `Settings` is built per run, from command-line options or DAG params, with defaults and
resource limits from environment variables (CASEHISTORY_*), so the CLI, the DAG and the tests
agree on every path.

Files next to the analyst warehouse W (default data/warehouse.duckdb):
  W                       the published analyst warehouse: pseudonymised marts, board tables,
                          quality results. Replaced atomically at the end of a run, never written
                          in place, so analysts never see a half-built file nor block the run.
  <W stem>.restricted/    the restricted layer, for the data team only:
      store.duckdb        the append-only ledger, quarantine, identity, every dbt model
      archive/            every file received, kept by checksum
      tmp/                DuckDB spill space
      reviews/<id>/       each review's chronology (XLSX, HTML, PDF): names and free text
      timelines/          each review subject's timeline picture
  <W stem>.versions/      the previously published warehouses (newest CASEHISTORY_KEEP_VERSIONS)
  <W stem>.reports/       run summary, Great Expectations Data Docs, logs
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_WAREHOUSE = DATA_DIR / "warehouse.duckdb"
DEMO_DIR = DATA_DIR / "demo"
SOURCES_DIR = PROJECT_ROOT / "ingest" / "sources"
DBT_DIR = PROJECT_ROOT / "dbt"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"CASEHISTORY_{name}", default)


@dataclass(frozen=True)
class Settings:
    extracts: Path
    warehouse: Path = DEFAULT_WAREHOUSE
    reviews: Path | None = None
    # the source registry: the project's own, or a deployment's (CASEHISTORY_SOURCES_DIR)
    sources_dir: Path = field(default_factory=lambda: Path(_env("SOURCES_DIR", str(SOURCES_DIR))))
    # The day the run treats as "today": dates after it are in the future.
    run_date: date = field(default_factory=date.today)
    # DuckDB takes nearly all memory by default; a nightly job on a shared machine must not.
    memory_limit: str = field(default_factory=lambda: _env("MEMORY_LIMIT", "4GB"))
    threads: int = field(default_factory=lambda: int(_env("THREADS", "2")))
    # Published warehouses kept for `casehistory rollback` (in <stem>.versions/).
    keep_versions: int = field(default_factory=lambda: int(_env("KEEP_VERSIONS", "3")))
    # The review chronology marks a silence where no agency recorded anything about the children
    # or their household for more than this many days (casehistory/board/chronology.py).
    chronology_silence_days: int = field(default_factory=lambda: int(_env("CHRONOLOGY_SILENCE_DAYS", "90")))
    # Reviews whose deadline is at most this many days ahead (or already passed) are checked nightly.
    review_window_days: int = field(default_factory=lambda: int(_env("REVIEW_WINDOW_DAYS", "28")))

    def __post_init__(self) -> None:
        for name in ("extracts", "warehouse", "sources_dir"):
            object.__setattr__(self, name, Path(getattr(self, name)).expanduser().resolve())
        if self.reviews is not None:
            object.__setattr__(self, "reviews", Path(self.reviews).expanduser().resolve())

    @property
    def restricted_dir(self) -> Path:
        return self.warehouse.with_name(self.warehouse.stem + ".restricted")

    @property
    def store(self) -> Path:
        """The restricted DuckDB file the whole pipeline writes to."""
        return self.restricted_dir / "store.duckdb"

    @property
    def archive_dir(self) -> Path:
        return self.restricted_dir / "archive"

    @property
    def temp_dir(self) -> Path:
        return self.restricted_dir / "tmp"

    @property
    def versions_dir(self) -> Path:
        """Earlier published warehouses, newest kept (CASEHISTORY_KEEP_VERSIONS), for rollback."""
        return self.warehouse.with_name(self.warehouse.stem + ".versions")

    @property
    def reports_dir(self) -> Path:
        return self.warehouse.with_name(self.warehouse.stem + ".reports")

    def ensure_dirs(self) -> None:
        for d in (self.warehouse.parent, self.restricted_dir, self.archive_dir, self.temp_dir,
                  self.reports_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.restricted_dir.chmod(0o700)  # the data team's account only: names and identifiers are inside

    def as_params(self) -> dict[str, str]:
        """What the CLI hands to the nightly DAG (JSON-serialisable)."""
        return {
            "extracts": str(self.extracts),
            "warehouse": str(self.warehouse),
            "reviews": str(self.reviews) if self.reviews else "",
            "run_date": self.run_date.isoformat(),
        }

    @classmethod
    def from_params(cls, params: dict) -> Settings:
        return cls(
            extracts=Path(params["extracts"]),
            warehouse=Path(params.get("warehouse") or DEFAULT_WAREHOUSE),
            reviews=Path(params["reviews"]) if params.get("reviews") else None,
            run_date=date.fromisoformat(params["run_date"]) if params.get("run_date") else date.today(),
        )
