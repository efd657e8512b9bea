"""dbt's connection to the store, through the project's own profile (dbt/profiles.yml).

dbt-duckdb applies a profile's `settings` again on every cursor, one per node; DuckDB refuses to
set temp_directory again once a query has spilled into it, so from the first model too large for
memory_limit every later node failed (seen at 1,000,000 children). The spill folder is therefore
given when the store is opened (`config_options`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from casehistory.dbt_command import dbt_env, dbt_workdir
from casehistory.settings import DBT_DIR, Settings

PROJECT = """
name: spill_check
version: "1.0"
profile: casehistory
models:
  spill_check:
    +materialized: table
"""
# sorting six million rows cannot fit in 64 MB: DuckDB spills to the temp directory
SPILLS = "select i, random() as r, repeat('x', 20) as s from range(6000000) as t(i) order by r"
STORE_KEY = "store-key-for-tests-" + "1" * 32
# the `encrypted` target, as casehistory/encryption.py's dbt_env and dbt_target give it
ENCRYPTED = {"CASEHISTORY_STORE_ENCRYPTION_KEY": STORE_KEY, "CASEHISTORY_ENCRYPTION_ALLOW_MBEDTLS": "true"}


@pytest.mark.parametrize("target", ["local", "encrypted"])
def test_models_after_one_that_spilled_to_disk_still_build(tmp_path, target):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(PROJECT)
    (project / "models" / "a_spills.sql").write_text(SPILLS)
    (project / "models" / "b_after_the_spill.sql").write_text("select count(*) as n from {{ ref('a_spills') }}")
    settings = Settings(extracts=tmp_path, warehouse=tmp_path / "w.duckdb", memory_limit="64MB", threads=1)
    settings.ensure_dirs()
    env = {**os.environ, **dbt_env(settings), **(ENCRYPTED if target == "encrypted" else {})}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "run", "--project-dir", str(project), "--profiles-dir",
         str(DBT_DIR), "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
         "--target", target], env=env, cwd=dbt_workdir(settings), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(config={"force_mbedtls_unsafe": "true"}) as con:
        key = f", encryption_key '{STORE_KEY}'" if target == "encrypted" else ""
        con.execute(f"attach '{settings.store}' as store (read_only{key})")
        assert con.execute("select n from store.main.b_after_the_spill").fetchone()[0] == 6_000_000
