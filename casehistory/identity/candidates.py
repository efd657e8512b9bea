"""Name and date of birth: pairs of subjects whose names agree and whose dates of birth are the same
or a plausible typo of each other, judged on what corroborates them. Needs no trained model, so a
small run (a review's template chronologies alone) links and queues exactly as a large one does.

Names agree when the surname keys are equal and the forename keys are equal or known variants
(names.py). Dates: rules.dob_relation. Corroboration, on one pair of records: the same full
postcode (not the NHS's ZZ99 no-fixed-abode codes, not "NFA" or a district alone); the same family
reference within one agency (an agency's own family id means nothing in another's), unless the
agency files more than MAX_FAMILY_SUBJECTS people under it (a placeholder such as "N/A", not a
family); a shared valid NHS number or UPN (which links by itself already; an LA child id counts
through the council's record it names).

Each pair of subjects gets the strongest verdict any pair of their records earns:

  exact_name_dob     link: same forename and surname, same date of birth, corroborated, the sexes
                     recorded do not conflict and no identifier differs. Name and birth date alone are not enough: a
                     million children hold many same-name, same-birthday strangers.
  corroborated_typo  link: same forename and surname, day and month transposed, same postcode AND
                     the same family reference in one agency, the same sex recorded on both, and no
                     identifier (NHS number, UPN, LA child id) differing. Two children of one family
                     born weeks apart under one forename do not exist; twins share a birth date
                     and never a forename.
  corroborated       review queue: anything weaker that is corroborated and whose sexes do not
                     conflict (a known variant of the forename, one day apart, one digit of the
                     year, a transposition with only one corroboration...).
  uncorroborated     names and dates agree, nothing corroborates (or the sexes conflict): left to
                     the model's score; to the review queue when no model scored the pairs.
  surname_differs    the same forename (or a variant) and date of birth, corroborated, the sexes not
                     conflicting, no identifier differing, but another surname: a child known under
                     a mother's and a father's surname (domain: "changed surnames"). Left to the
                     model's score (which weighs the surname against the rest); to the review
                     queue when no model scored the pairs. Never a link by itself.

The links still pass every guard rail and the same-agency rule (cluster.py). Candidate pairs are
found by equi-joins on name and date, one per kind of date relation, so a million children cost a
handful of hash joins, never a comparison of every pair sharing a name.
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb

from casehistory.identity.names import variants_table
from casehistory.identity.rules import dob_relation_sql

LINK_VERDICTS = ("exact_name_dob", "corroborated_typo")  # applied in this order, after identifiers and people
VERDICTS = (*LINK_VERDICTS, "corroborated", "uncorroborated", "surname_differs")  # strongest first


class Candidate(NamedTuple):  # a tuple: a million of them are made at a million children
    a: str  # subject keys, a < b
    b: str
    verdict: str  # one of VERDICTS
    one_family: bool  # one agency files both under one family reference (cluster.py)


MAX_FAMILY_SUBJECTS = 20  # more people than any household holds under one reference


def postcode_key_sql(column: str) -> str:
    """A full UK postcode without spaces, or null: what may corroborate an address."""
    return f"""case when regexp_full_match(replace({column}, ' ', ''), '[A-Z]{{1,2}}[0-9][A-Z0-9]?[0-9][A-Z]{{2}}')
                     and not starts_with({column}, 'ZZ99') then replace({column}, ' ', '') end"""


# Each record's name as one number: its forename's variant group (or the forename itself, when in
# none) and surname, hashed. The joins compare numbers, not strings (three times faster on 1.5
# million records); the names themselves are compared again on every pair found. Materialized
# CTEs fix the join order: a pair is joined to its records one side at a time.
CANDIDATES_SQL = f"""
with families as (
    select subject_namespace, family_ref from identity.subject_records where family_ref is not null
    group by all having count(distinct subject_key) <= {MAX_FAMILY_SUBJECTS}
),
records as materialized (
    select s.rowid as rid, subject_key, subject_namespace, forename_key, surname_key, date_of_birth as dob,
           case when sex in ('M', 'F') then sex end as sex,
           {postcode_key_sql('postcode')} as postcode,
           f.family_ref, nhs_number, upn, la_child_id
    from identity.subject_records s left join families f using (subject_namespace, family_ref)
    -- an initial is no forename: twins J and J Smith must not match
    where length(forename_key) > 1 and surname_key is not null and date_of_birth is not null
),
named as materialized (
    select r.rid, v.name_group from records r join _forename_variants v using (forename_key)
),
name_keys as materialized (
    select r.rid, r.subject_key, r.dob, year(r.dob) as y, month(r.dob) as m, day(r.dob) as d, r.dob + 1 as next_day,
           hash(coalesce('group ' || n.name_group, r.forename_key), r.surname_key) as name_key,
           hash(coalesce('group ' || n.name_group, r.forename_key)) as forename_key_hash
    from records r left join named n using (rid)
),
pairs as materialized (  -- record pairs of two subjects, each kind of date relation its own equi-join
    select a.rid as rid_a, b.rid as rid_b from name_keys a join name_keys b
        on a.name_key = b.name_key and a.dob = b.dob and a.subject_key < b.subject_key
    union all
    select a.rid, b.rid from name_keys a join name_keys b
        on a.name_key = b.name_key and a.y = b.y and a.m = b.d and a.d = b.m and a.subject_key < b.subject_key
    union all
    select a.rid, b.rid from name_keys a join name_keys b
        on a.name_key = b.name_key and a.next_day = b.dob and a.subject_key <> b.subject_key
    union all
    select a.rid, b.rid from name_keys a join name_keys b
        on a.name_key = b.name_key and a.m = b.m and a.d = b.d and a.y <> b.y and a.subject_key < b.subject_key
    union all  -- another surname: the same forename and date of birth
    select a.rid, b.rid from name_keys a join name_keys b
        on a.forename_key_hash = b.forename_key_hash and a.dob = b.dob and a.name_key <> b.name_key
           and a.subject_key < b.subject_key
),
groups as materialized (select rid, list(name_group) as name_groups from named group by rid),
first_of_pair as materialized (  -- joined one side at a time, so no join ever pairs records by surname alone
    select p.rid_b, a.*, g.name_groups from pairs p join records a on a.rid = p.rid_a left join groups g using (rid)
),
judged as (
    select least(a.subject_key, b.subject_key) as a, greatest(a.subject_key, b.subject_key) as b,
           a.forename_key = b.forename_key as same_forename,
           a.surname_key = b.surname_key as same_surname,
           {dob_relation_sql('a.dob', 'b.dob')} as dob,
           a.postcode = b.postcode as same_postcode,  -- null unless both hold a full postcode
           coalesce(a.subject_namespace = b.subject_namespace and a.family_ref = b.family_ref, false) as one_family,
           coalesce(a.nhs_number = b.nhs_number or a.upn = b.upn, false) as shared_identifier,
           coalesce(a.la_child_id <> b.la_child_id or a.nhs_number <> b.nhs_number or a.upn <> b.upn, false)
               as identifier_differs,
           coalesce(a.sex <> b.sex, false) as sexes_conflict,
           coalesce(a.sex = b.sex, false) as same_sex
    from first_of_pair a
    join records b on b.rid = a.rid_b
    left join groups gb on gb.rid = a.rid_b
    where (a.surname_key = b.surname_key or a.dob = b.dob)  -- another surname only on the same birthday
      and (a.forename_key = b.forename_key or len(list_intersect(a.name_groups, gb.name_groups)) > 0)
),
verdicts as (
    select a, b, one_family, case
        when not same_surname then
            case when dob = 'exact' and (coalesce(same_postcode, false) or one_family or shared_identifier)
                      and not sexes_conflict and not identifier_differs then 5 end
        when same_forename and dob = 'exact' and (coalesce(same_postcode, false) or one_family or shared_identifier)
             and not sexes_conflict and not identifier_differs then 1
        when same_forename and dob = 'day_month_swapped' and same_postcode and one_family and same_sex
             and not identifier_differs then 2
        when (coalesce(same_postcode, false) or one_family or shared_identifier) and not sexes_conflict then 3
        else 4 end as verdict
    from judged
    where dob is not null
)
select a, b, verdict, one_family
from verdicts
where verdict is not null
qualify row_number() over (partition by a, b order by verdict, one_family desc) = 1
order by a, b
"""


def candidate_pairs(con: duckdb.DuckDBPyConnection) -> list[Candidate]:
    """Every pair of subjects the name and date of birth rules have a verdict on (subject records
    in identity.subject_records)."""
    con.register("_forename_variants", variants_table())
    try:
        rows = con.execute(CANDIDATES_SQL).fetchall()
    finally:
        con.unregister("_forename_variants")
    return [Candidate(a, b, VERDICTS[verdict - 1], one_family) for a, b, verdict, one_family in rows]
