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
from collections import Counter, defaultdict
from pathlib import Path

import duckdb

from casehistory.warehouse import insert_rows

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
    if people_unchanged and con.execute("select inputs from identity.households_built").fetchall() == [(inputs,)]:
        return dict(zip(("households", "members"), con.execute(
            "select count(distinct household_id), count(*) from identity.household_members").fetchone()))
    evidence = con.execute(EVIDENCE_SQL).fetchall()
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    groups_of_person: dict[str, list[str]] = defaultdict(list)
    for person, group, _, _, _ in evidence:
        groups_of_person[person].append(group)
    for groups in groups_of_person.values():  # groups sharing a person are one household
        for other in groups[1:]:
            a, b = find(groups[0]), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)

    members: dict[tuple[str, str], dict] = {}
    for person, group, role, day, kind in evidence:
        root = find(group)
        m = members.setdefault((root, person), {"roles": Counter(), "from": day, "to": day, "evidence": set()})
        if role:
            m["roles"][role] += 1
        m["from"], m["to"] = min(m["from"], day), max(m["to"], day)
        m["evidence"].add(kind)
    people_of: dict[str, set[str]] = defaultdict(set)
    for root, person in members:
        people_of[root].add(person)
    household_id = {root: "H" + min(people) for root, people in people_of.items() if len(people) > 1}

    rows = []
    for (root, person), m in sorted(members.items()):
        if root not in household_id:
            continue  # a "household" of one is no household
        role = _role(m["roles"])
        rows.append((household_id[root], person, role, m["from"], m["to"], sorted(m["evidence"])))
    con.execute("""create or replace table identity.household_members (household_id varchar, person_id varchar,
                   role varchar, valid_from date, valid_to date, evidence varchar[])""")
    insert_rows(con, "identity.household_members",
                ["household_id", "person_id", "role", "valid_from", "valid_to", "evidence"], rows)
    con.execute(RELATIONSHIPS_SQL)
    con.execute("delete from identity.households_built")
    con.execute("insert into identity.households_built values (?)", [inputs])
    return {"households": len(household_id), "members": len(rows)}


def _role(roles: Counter) -> str:
    if not roles:
        return "other_adult"
    if roles.get("child"):
        return "child"  # a child in any agency's records is a child of the household
    return min(roles, key=lambda r: (-roles[r], ROLE_ORDER.index(r) if r in ROLE_ORDER else 99))


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
