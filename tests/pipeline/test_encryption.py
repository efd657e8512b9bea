"""With encryption keys set, the restricted store and the analyst warehouse are encrypted at rest:
their bytes hold no name, a session without the key cannot open them, the wrong key is refused,
and the whole pipeline (ingest, linking, dbt, checks, publish) runs on them."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import duckdb
import pytest

from casehistory import warehouse
from casehistory.encryption import EncryptionError
from casehistory.settings import PROJECT_ROOT, Settings
from casehistory.synth import generate

STORE_KEY = "store-key-for-tests-" + "1" * 32
ANALYST_KEY = "analyst-key-for-tests-" + "2" * 32
NAME = "Kelsey Ashworth-Quennell"


@pytest.fixture
def encrypted(monkeypatch):
    monkeypatch.setenv("CASEHISTORY_STORE_ENCRYPTION_KEY", STORE_KEY)
    monkeypatch.setenv("CASEHISTORY_WAREHOUSE_ENCRYPTION_KEY", ANALYST_KEY)
    # DuckDB's secure writer (httpfs) cannot be installed offline for DuckDB 1.5.6: see casehistory/encryption.py
    monkeypatch.setenv("CASEHISTORY_ENCRYPTION_ALLOW_MBEDTLS", "1")


def _open_with(path, key: str | None):
    con = duckdb.connect()
    con.execute(f"attach '{path}' as f" + (f" (encryption_key '{key}', read_only)" if key else " (read_only)"))
    return con


def test_the_store_and_the_analyst_file_hold_no_name_on_disk_and_need_their_own_key(encrypted, tmp_path):
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    with warehouse.store(settings) as con:
        con.execute("create schema marts; create schema restricted")
        con.execute(f"create table restricted.names as select '{NAME}' || range as name from range(2000)")
        con.execute(f"create table marts.dim_child as select '{NAME}' as probe, range as child_key from range(2000)")
    warehouse.publish(settings)
    for path in (settings.store, settings.warehouse):
        assert NAME.encode() not in path.read_bytes()
        with pytest.raises(duckdb.Error, match="without a key"):
            duckdb.connect(str(path), read_only=True)
    with pytest.raises(duckdb.Error, match="[Ww]rong encryption key"):
        _open_with(settings.warehouse, STORE_KEY)  # the store's key does not open the analyst file
    assert _open_with(settings.warehouse, ANALYST_KEY).execute("select count(*) from f.marts.dim_child").fetchone() == (2000,)
    with warehouse.store(settings, read_only=True) as con:  # the pipeline's own helpers open it with the key
        assert con.execute("select count(*) from restricted.names").fetchone() == (2000,)


def test_without_the_secure_writer_encryption_is_refused_with_a_clear_reason(encrypted, monkeypatch, tmp_path):
    monkeypatch.delenv("CASEHISTORY_ENCRYPTION_ALLOW_MBEDTLS")
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    try:
        con = warehouse.connect(settings)
    except EncryptionError as exc:
        assert "httpfs" in str(exc) and STORE_KEY not in str(exc)
    else:  # httpfs is installed here: the secure writer is used, and the file is encrypted
        con.execute("create table t as select 1")
        con.close()
        with pytest.raises(duckdb.Error, match="without a key"):
            duckdb.connect(str(settings.store), read_only=True)


def test_the_analyst_file_alone_can_be_encrypted(encrypted, monkeypatch, tmp_path):
    monkeypatch.delenv("CASEHISTORY_STORE_ENCRYPTION_KEY")
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb")
    with warehouse.store(settings) as con:
        con.execute(f"create schema marts; create table marts.dim_child as select '{NAME}' as probe")
    warehouse.publish(settings)
    assert NAME.encode() in settings.store.read_bytes()  # the probe is findable where it is not encrypted
    assert NAME.encode() not in settings.warehouse.read_bytes()
    assert _open_with(settings.warehouse, ANALYST_KEY).execute("select probe from f.marts.dim_child").fetchone() == (NAME,)


def test_a_missing_key_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("CASEHISTORY_STORE_ENCRYPTION_KEY_FILE", str(tmp_path / "nowhere.key"))
    with pytest.raises(EncryptionError, match="nowhere.key"):
        warehouse.connect(Settings(extracts=tmp_path, warehouse=tmp_path / "wh.duckdb"))


@pytest.mark.slow
def test_the_whole_pipeline_runs_on_encrypted_files_dbt_included(encrypted, tmp_path):
    demo = generate(tmp_path / "demo", children=60, seed=3)
    out = tmp_path / "out" / "warehouse.duckdb"
    proc = subprocess.run([sys.executable, "-m", "tests.pipeline.run_steps", str(demo.extracts), str(out), "run-1",
                           "2026-01-15", str(demo.reviews)], cwd=PROJECT_ROOT, env={**os.environ},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with (demo.ground_truth / "persons.csv").open() as f:
        people = list(csv.DictReader(f))
    store = out.with_name("warehouse.restricted") / "store.duckdb"
    for path in (store, out):
        data = path.read_bytes()
        assert not [p["nhs_number"] for p in people if p["nhs_number"] and p["nhs_number"].encode() in data]
        assert not [p["surname"] for p in people if len(p["surname"]) >= 7 and p["surname"].encode() in data]
    built = _open_with(store, STORE_KEY).execute("select count(*) from f.marts.fct_child_events").fetchone()[0]
    assert built > 100  # dbt wrote its models into the encrypted store
    assert _open_with(out, ANALYST_KEY).execute("select count(*) from f.marts.fct_child_events").fetchone()[0] == built
    checked = _open_with(store, STORE_KEY).execute("select distinct status from f.audit.agency_freshness").fetchall()
    assert checked and {s for (s,) in checked} <= {"pass", "warn", "error"}  # dbt source freshness read it too
    # the board step reads the encrypted analyst file (exports, report) and the store (timelines, dbt docs)
    from casehistory import pipeline

    board = pipeline.board(Settings(extracts=demo.extracts, warehouse=out, reviews=demo.reviews), "run-1")
    assert (out.with_name("warehouse.reports") / "board" / "board.xlsx").is_file() and board["tables"]
    assert board["timelines"] > 0 and board["dbt_docs"].endswith("static_index.html")
    leaked = [p for p in out.with_name("warehouse.reports").rglob("*") if p.is_file()
              and (STORE_KEY.encode() in p.read_bytes() or ANALYST_KEY.encode() in p.read_bytes())]
    assert leaked == [] and STORE_KEY not in proc.stdout + proc.stderr  # keys never reach logs or dbt's target
