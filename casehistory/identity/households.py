"""Households: who lived with whom, when, from what the agencies' records carry.

Evidence, each piece dated by the events it came with:
  family_ref   an agency's own id for the family or household (police household refs, the
               chronology template's family_ref), with the person's role in it
  address      people an agency records at the same postcode with the same surname (weaker:
               a postcode holds a street; the surname narrows it to a family)
Groups of evidence that share a person are one household (a police household and a GP's family
sharing the mother are one family). Membership runs from the first to the last date evidence
shows the person there; an event up to `household_window_days` outside it still counts.

Writes identity.household_members (household, person, role, valid_from, valid_to, evidence) and
identity.relationships (person, related person, relationship, household). Relationships are what
the roles say: mother, father, carer, sibling, and half-sibling where a source records it (the
chronology template's person_role); two children of one household are otherwise siblings, as no
extract here carries each child's own parents.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pyarrow as pa

EVIDENCE_SQL = """
with subject_person as (select subject_key, person_id from identity.subject_person),
current_events as (
    select * from ledger.event_records
    qualify row_number() over (partition by source, agency, record_id order by version desc) = 1
),
by_ref as (  -- an agency's family or household id, on its event rows
    select sp.person_id, e.subject_namespace || ':' || e.family_ref as group_key, e.person_role as role,
           e.event_date as evidence_date, 'family_ref' as evidence
    from current_events e
    join subject_person sp on sp.subject_key = e.subject_namespace || ':' || e.subject_ref
    where e.family_ref is not null
),
subject_dates as (
    select subject_namespace || ':' || subject_ref as subject_key, min(event_date) as first_date,
           max(event_date) as last_date
    from current_events group by 1
),
by_address as (  -- same postcode and surname in one agency's records
    select sp.person_id, r.agency || ':' || r.postcode || ':' || r.surname_key as group_key, r.person_role as role,
           unnest([d.first_date, d.last_date]) as evidence_date, 'address' as evidence
    from identity.subject_records r
    join subject_person sp using (subject_key)
    join subject_dates d using (subject_key)
    where r.postcode is not null and r.surname_key is not null
)
select * from by_ref
union all
select * from by_address
where group_key in (select group_key from by_address group by 1 having count(distinct person_id) > 1)
"""

ROLE_ORDER = ("mother", "father", "carer", "child", "sibling", "half_sibling", "other_adult")


def build_households(con: duckdb.DuckDBPyConnection, people_unchanged: bool = False) -> dict[str, int]:
    """people_unchanged: no subject record and no subject's person changed since the last run. If
    no event record arrived either (and this code is the same), the households are as built then."""
    # the ledger only ever grows, so its count of event versions says whether one arrived
    inputs = "{}:{}".format(con.execute("select count(*) from ledger.event_records").fetchone()[0],
                            hashlib.sha256(Path(__file__).read_bytes()).hexdigest())
    con.execute("create table if not exists identity.households_built (inputs varchar not null)")
    built = con.execute("select inputs from identity.households_built").fetchall()
    if not (people_unchanged and built == [(inputs,)]):
        con.execute(f"create or replace temp table _household_evidence as {EVIDENCE_SQL}")
        try:
            # Python does only what SQL cannot: joining groups that share a person (union-find over
            # the distinct pairs); SQL gathers each member's dates, roles and evidence
            pairs = con.execute("select distinct person_id, group_key from _household_evidence").fetchall()
            con.register("_group_root", _group_roots(pairs))
            con.execute(MEMBERS_SQL)
            con.unregister("_group_root")
        finally:
            con.execute("drop table if exists _household_evidence")
        con.execute(RELATIONSHIPS_SQL)
        con.execute("delete from identity.households_built")
        con.execute("insert into identity.households_built values (?)", [inputs])
    return dict(zip(("households", "members"), con.execute(
        "select count(distinct household_id), count(*) from identity.household_members").fetchone()))


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
MEMBERS_SQL = f"""
create or replace table identity.household_members as
with placed as (
    select g.root, e.person_id, e.role, e.evidence_date, e.evidence
    from _household_evidence e join _group_root g using (group_key)
),
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
),
households as (
    select root, 'H' || min(person_id) as household_id from members group by root having count(*) > 1
)
select h.household_id, m.person_id, coalesce(r.role, 'other_adult') as role, m.valid_from, m.valid_to,
       m.evidence
from members m
join households h using (root)
left join roles r using (root, person_id)
order by h.household_id, m.person_id
"""


RELATIONSHIPS_SQL = """
create or replace table identity.relationships as
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
where c.role = 'child'
"""
