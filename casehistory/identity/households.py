"""Households: who lived with whom, when, from what the agencies' records carry.

Evidence, each piece dated by the events it came with:
  family_ref   an agency's own id for the family or household (police household refs, the
               chronology template's family_ref), with the person's role in it
  address      people an agency records at the same postcode with the same surname (weaker:
               a postcode holds a street; the surname narrows it to a family; it counts only
               where it names two people or more)
Groups of evidence that share a person are one household (a police household and a GP's family
sharing the mother are one family). Membership runs from the first to the last date evidence
shows the person there; an event up to `household_window_days` outside it still counts.

Writes identity.household_evidence (every piece, per subject), identity.household_members
(household, person, role, valid_from, valid_to, evidence) and identity.relationships (person,
related person, relationship, household). Relationships are what the roles say: mother, father,
carer, sibling, and half-sibling where a source records it (the chronology template's
person_role); two children of one household are otherwise siblings, as no extract here carries
each child's own parents.

A night on which no person changed but events arrived recomputes the evidence of the subjects
those events are about. When that leaves every person's groups as they were, the households and
their members stand and only those persons' dates, roles and relationships are recomputed
("patched"); otherwise the groups are joined again from the kept evidence ("regrouped").
tests/identity/test_household_members.py compares both with a whole rebuild.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pyarrow as pa


EVIDENCE_COLUMNS = "subject_key, person_id, group_key, role, evidence_date, evidence"


def _evidence_sql(subjects: str | None = None) -> str:
    """Every piece of evidence; or, with `subjects` (a table of subject_key), only theirs: the
    current version of each record with any version about one of them (a new version may move a
    record from one subject to another), kept where it is about one of them now."""
    records = "ledger.event_records" if subjects is None else f"""(
        select * from ledger.event_records semi join (
            select source, agency, record_id from ledger.event_records
            where subject_namespace || ':' || subject_ref in (select subject_key from {subjects})
        ) about using (source, agency, record_id))"""
    theirs = "" if subjects is None else f"where subject_key in (select subject_key from {subjects})"
    # a record's current version is the one no newer version of it outranks (the rule of
    # ingest/ledger.py NEWEST_FIRST: the latest recorded, recorded_at or else when received; equal
    # times to the later arrival): an anti join with the versions of the few records that have
    # several, not a window over every event (a million children: 5 million)
    return f"""
with subject_person as (select subject_key, person_id from identity.subject_person),
current_events as (
    select * from (
        select e.*, e.subject_namespace || ':' || e.subject_ref as subject_key
        from {records} e
        anti join (
            select source, agency, record_id, coalesce(recorded_at, received_at) as recorded, ledger_id
            from ledger.event_records semi join (
                select source, agency, record_id from ledger.event_records where version > 1
            ) several using (source, agency, record_id)
        ) newer
            on newer.source = e.source and newer.agency = e.agency and newer.record_id = e.record_id
               and (newer.recorded, newer.ledger_id) > (coalesce(e.recorded_at, e.received_at), e.ledger_id)
    ) {theirs}
),
by_ref as (  -- an agency's family or household id, on its event rows
    select e.subject_key, sp.person_id, e.subject_namespace || ':' || e.family_ref as group_key,
           e.person_role as role, e.event_date as evidence_date, 'family_ref' as evidence
    from current_events e join subject_person sp using (subject_key)
    where e.family_ref is not null
),
subject_dates as (
    select subject_key, min(event_date) as first_date, max(event_date) as last_date
    from current_events group by 1
),
by_address as (  -- same postcode and surname in one agency's records
    select r.subject_key, sp.person_id, r.agency || ':' || r.postcode || ':' || r.surname_key as group_key,
           r.person_role as role, unnest([d.first_date, d.last_date]) as evidence_date, 'address' as evidence
    from identity.subject_records r
    join subject_person sp using (subject_key)
    join subject_dates d using (subject_key)
    where r.postcode is not null and r.surname_key is not null
)
select {EVIDENCE_COLUMNS} from by_ref
union all
select {EVIDENCE_COLUMNS} from by_address
"""


def _counted(persons: str | None = None) -> str:
    """The evidence that counts (an address only where it names two people or more), of everyone
    or of the persons in table `persons`."""
    theirs = "" if persons is None else f"and person_id in (select person_id from {persons})"
    return f"""(
    select * from identity.household_evidence
    where (evidence = 'family_ref' or (evidence = 'address' and group_key in (
        select group_key from identity.household_evidence where evidence = 'address'
        group by 1 having count(distinct person_id) > 1))) {theirs})"""


ROLE_ORDER = ("mother", "father", "carer", "child", "sibling", "half_sibling", "other_adult")


def build_households(con: duckdb.DuckDBPyConnection, people_unchanged: bool = False) -> dict:
    """people_unchanged: no subject record and no subject's person changed since the last run (and
    this is not a rebuild). Then only the evidence of tonight's events is recomputed; otherwise
    all of it. Returns the households, members, and how they were brought up to date."""
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    # the ledger's ids only grow, so the greatest says whether an event version arrived, and which
    newest = con.execute("select coalesce(max(ledger_id), 0) from ledger.event_records").fetchone()[0]
    built = _built(con)
    if people_unchanged and built == (code, newest):
        how = "unchanged"
    elif people_unchanged and built is not None and built[0] == code:
        how = _follow_events(con, since=built[1])
    else:
        con.execute(f"create or replace table identity.household_evidence as {_evidence_sql()}")
        _group(con)
        how = "rebuilt"
    con.execute("delete from identity.households_built")
    con.execute("insert into identity.households_built values (?, ?)", [code, newest])
    households, members = con.execute(
        "select count(distinct household_id), count(*) from identity.household_members").fetchone()
    return {"households": households, "members": members, "how": how}


def _built(con: duckdb.DuckDBPyConnection) -> tuple[str, int] | None:
    """The code and the newest event version the kept households were built with; None when there
    is no record (or only one in the shape of an earlier version of this code: rebuilt)."""
    shape = [c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema = 'identity' "
        "and table_name = 'households_built' order by ordinal_position").fetchall()]
    if shape != ["code", "event_ledger_id"]:
        con.execute("drop table if exists identity.households_built")
        con.execute("create table identity.households_built (code varchar not null, event_ledger_id bigint not null)")
    built = con.execute("select code, event_ledger_id from identity.households_built").fetchall()
    evidence_kept = con.execute("select count(*) from information_schema.tables where table_schema = 'identity' "
                                "and table_name = 'household_evidence'").fetchone()[0]
    return built[0] if len(built) == 1 and evidence_kept else None


def _follow_events(con: duckdb.DuckDBPyConnection, *, since: int) -> str:
    """Recompute the evidence of the subjects of event versions after ledger id `since` (and of
    the subjects their earlier versions were about), then patch or regroup."""
    con.execute("""
        create or replace temp table _touched_subjects as
        select distinct subject_namespace || ':' || subject_ref as subject_key
        from ledger.event_records semi join (
            select source, agency, record_id from ledger.event_records where ledger_id > ?
        ) arrived using (source, agency, record_id)""", [since])
    con.execute("""
        create or replace temp table _touched_persons as
        select distinct person_id from identity.subject_person
        where subject_key in (select subject_key from _touched_subjects)""")
    groups_of_touched = ("select distinct person_id, group_key, evidence from identity.household_evidence "
                         "where person_id in (select person_id from _touched_persons)")
    con.execute(f"create or replace temp table _groups_before as {groups_of_touched}")
    con.execute(f"create or replace temp table _fresh_evidence as {_evidence_sql('_touched_subjects')}")
    con.execute("delete from identity.household_evidence "
                "where subject_key in (select subject_key from _touched_subjects)")
    con.execute(f"insert into identity.household_evidence select {EVIDENCE_COLUMNS} from _fresh_evidence")
    before = "select * from _groups_before"
    regroup = con.execute(f"select (select count(*) from ({groups_of_touched} except {before}))"
                          f" + (select count(*) from ({before} except {groups_of_touched}))").fetchone()[0] > 0
    if regroup:  # a person joined or left a group: households may merge, split or appear
        _group(con)
    else:  # every group holds the same people, so every household does: patch its members' rows
        _patch(con)
    for table in ("_touched_subjects", "_touched_persons", "_groups_before", "_fresh_evidence"):
        con.execute(f"drop table {table}")
    return "regrouped" if regroup else "patched"


def _group(con: duckdb.DuckDBPyConnection) -> None:
    """Households, members and relationships, whole, from identity.household_evidence."""
    # Python does only what SQL cannot: joining groups that share a person (union-find over the
    # distinct pairs); SQL gathers each member's dates, roles and evidence
    con.execute(f"create or replace temp table _counted_evidence as {_counted()}")  # read twice below
    pairs = con.execute("select distinct person_id, group_key from _counted_evidence").fetchall()
    con.register("_group_root", _group_roots(pairs))
    try:
        con.execute(f"""
            create or replace table identity.household_members as
            with {_member_aggregates("select g.root, e.* from _counted_evidence e join _group_root g using (group_key)")},
            households as (
                select root, 'H' || min(person_id) as household_id from members group by root having count(*) > 1
            )
            select h.household_id, {MEMBER_COLUMNS}
            from members m join households h using (root) left join roles r using (root, person_id)
            order by h.household_id, m.person_id""")
    finally:
        con.unregister("_group_root")
        con.execute("drop table if exists _counted_evidence")
    con.execute(f"create or replace table identity.relationships as {_relationships_sql()}")


def _patch(con: duckdb.DuckDBPyConnection) -> None:
    """The touched persons' rows of their (unchanged) households: dates, roles, relationships."""
    con.execute(f"""
        create or replace temp table _patched as
        with {_member_aggregates(f'''select m.household_id as root, e.* from {_counted("_touched_persons")} e
                                     join identity.household_members m using (person_id)''')}
        select m.root as household_id, {MEMBER_COLUMNS}
        from members m left join roles r using (root, person_id)""")
    con.execute("delete from identity.household_members where person_id in (select person_id from _patched)")
    con.execute("insert into identity.household_members select * from _patched")
    con.execute("delete from identity.relationships where household_id in (select household_id from _patched)")
    con.execute("insert into identity.relationships "
                + _relationships_sql("c.household_id in (select household_id from _patched)"))
    con.execute("drop table _patched")


def _group_roots(pairs: list[tuple[str, str]]) -> pa.Table:
    """Each evidence group's household: groups sharing a person are one (a police household and a
    GP's family sharing the mother are one family), named by the least group key among them."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first_group: dict[str, str] = {}
    for person, group in pairs:
        a, b = find(first_group.setdefault(person, group)), find(group)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups = list(parent)
    return pa.table({"group_key": groups, "root": [find(g) for g in groups]})


# A member's role: child if any agency records them as one (a child in any agency's records is a
# child of the household); otherwise the role recorded most often, ties in ROLE_ORDER; with no
# role recorded, other_adult. A "household" of one is no household.
def _member_aggregates(placed: str) -> str:
    """CTEs members and roles, per (root, person_id), from `placed`: evidence rows with a root."""
    return f"""
placed as ({placed}),
members as (
    select root, person_id, min(evidence_date) as valid_from, max(evidence_date) as valid_to,
           list_sort(list(distinct evidence)) as evidence
    from placed group by all
),
role_counts as (
    select root, person_id, role, count(*) as times,
           coalesce(list_position({list(ROLE_ORDER)!r}, role), 99) as rank
    from placed where role is not null group by all
),
roles as (
    select root, person_id,
           case when bool_or(role = 'child') then 'child' else arg_min(role, (-times, rank)) end as role
    from role_counts group by all
)"""


MEMBER_COLUMNS = "m.person_id, coalesce(r.role, 'other_adult') as role, m.valid_from, m.valid_to, m.evidence"


def _relationships_sql(only: str = "true") -> str:
    return f"""
select c.person_id, o.person_id as related_person_id, c.household_id,
       case
           when o.role in ('mother', 'father', 'carer') then o.role
           when o.role = 'half_sibling' then 'half_sibling'
           when o.role in ('child', 'sibling') then 'sibling'
           else 'household_member'
       end as relationship,
       greatest(c.valid_from, o.valid_from) as overlap_from, least(c.valid_to, o.valid_to) as overlap_to
from identity.household_members c
join identity.household_members o on o.household_id = c.household_id and o.person_id <> c.person_id
where c.role = 'child' and {only}
"""
