"""The pseudonym key is required outside demo mode, and never kept inside the repository."""

from __future__ import annotations

import pytest

from casehistory.identity.pseudonym import PseudonymKeyMissing, load_key
from casehistory.settings import PROJECT_ROOT


@pytest.fixture
def no_key(monkeypatch, tmp_path):
    monkeypatch.delenv("CASEHISTORY_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("CASEHISTORY_DEMO", raising=False)
    monkeypatch.setenv("CASEHISTORY_PSEUDONYM_KEY_FILE", str(tmp_path / "keys" / "pseudonym.key"))
    return tmp_path / "keys" / "pseudonym.key"


def test_without_a_key_a_real_run_stops_and_says_how_to_provide_one(no_key):
    with pytest.raises(PseudonymKeyMissing, match="CASEHISTORY_PSEUDONYM_KEY_FILE"):
        load_key()
    assert not no_key.exists()  # nothing invented behind the operator's back


def test_the_demo_creates_its_own_key_once_and_keeps_it(no_key, monkeypatch):
    monkeypatch.setenv("CASEHISTORY_DEMO", "1")
    first = load_key()
    assert no_key.exists() and oct(no_key.stat().st_mode & 0o777) == "0o600"
    assert load_key() == first and len(first) >= 32


def test_a_key_file_inside_the_project_is_refused(no_key, monkeypatch):
    monkeypatch.setenv("CASEHISTORY_PSEUDONYM_KEY_FILE", str(PROJECT_ROOT / "config" / "pseudonym.key"))
    monkeypatch.setenv("CASEHISTORY_DEMO", "1")
    with pytest.raises(PseudonymKeyMissing, match="outside the repository"):
        load_key()
    assert not (PROJECT_ROOT / "config" / "pseudonym.key").exists()


def test_a_short_key_is_refused(no_key):
    no_key.parent.mkdir()
    no_key.write_text("short\n")
    with pytest.raises(ValueError, match="too short"):
        load_key()


@pytest.mark.parametrize("key", [b"k" * 32, b"0123456789abcdef" * 4, b"a longer secret than a SHA-256 block holds " * 3])
def test_duckdb_computes_the_same_pseudonym_as_python(key):
    """Keys are computed in DuckDB for speed; they must be the HMAC-SHA256 pseudonym() gives, for a
    key shorter than, as long as and longer than SHA-256's 64-byte block (hashed first, RFC 2104)."""
    import duckdb

    from casehistory.identity.pseudonym import pseudonym, pseudonym_sql

    ids = ["P000000001", "P000123456", "P999999999"]
    expression, params = pseudonym_sql(key, "person_id")
    con = duckdb.connect()
    got = [r[0] for r in con.execute(f"select {expression} from unnest(?::varchar[]) t(person_id) order by person_id",
                                     [*params, ids]).fetchall()]
    assert got == [pseudonym(key, p) for p in ids]
