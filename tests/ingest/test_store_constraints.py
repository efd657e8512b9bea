"""The store's own constraints that dbt's data tests rely on instead of repeating them every night
(dbt/models/staging/*/_*__sources.yml): if a constraint goes, this fails, and the data tests must
come back."""

import duckdb
import pytest

from casehistory.identity.resolve import DDL as IDENTITY_DDL
from ingest import ledger


@pytest.fixture
def con():
    con = duckdb.connect(":memory:")
    ledger.ensure_schema(con)
    con.execute(IDENTITY_DDL)
    yield con
    con.close()


@pytest.mark.parametrize("table", ["event_records", "person_records"])
def test_ledger_id_is_each_ledger_table_s_primary_key(con, table):
    keys = con.execute(
        """select constraint_column_names from duckdb_constraints()
           where schema_name = 'ledger' and table_name = ? and constraint_type = 'PRIMARY KEY'""",
        [table]).fetchall()
    assert keys == [(["ledger_id"],)]


def test_subject_person_refuses_a_second_row_for_a_subject_and_any_null(con):
    con.execute("insert into identity.subject_person values ('csc:1', 'P1', 'k1')")
    with pytest.raises(duckdb.ConstraintException):
        con.execute("insert into identity.subject_person values ('csc:1', 'P2', 'k2')")
    for row in [(None, "P3", "k3"), ("csc:2", None, "k3"), ("csc:3", "P3", None)]:
        with pytest.raises(duckdb.ConstraintException):
            con.execute("insert into identity.subject_person values (?, ?, ?)", list(row))
    assert con.execute("select count(*) from identity.subject_person").fetchone()[0] == 1
