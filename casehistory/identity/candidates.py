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

The links still pass every guard rail and the same-agency rule (cluster.py). Candidate pairs are
found by equi-joins, one per kind of date relation, so a million children cost a handful of hash
joins on name and date, never a comparison of every pair sharing a name.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from casehistory.identity.names import variants_table
from casehistory.identity.rules import dob_relation_sql

LINK_VERDICTS = ("exact_name_dob", "corroborated_typo")  # applied in this order, after identifiers and people
VERDICTS = (*LINK_VERDICTS, "corroborated", "uncorroborated")  # strongest first


@dataclass(frozen=True)
class Candidate:
    a: str  # subject keys, a < b
    b: str
    verdict: str  # one of VERDICTS
    forenames: str  # exact | variant
    dob: str  # rules.DOB_RELATIONS
    corroborated_by: tuple[str, ...]  # postcode, family_ref, identifier
    one_family: bool  # one agency files both under one family reference


MAX_FAMILY_SUBJECTS = 20  # more people than any household holds under one reference


def postcode_key_sql(column: str) -> str:
    """A full UK postcode without spaces, or null: what may corroborate an address."""
    return f"""case when regexp_full_match(replace({column}, ' ', ''), '[A-Z]{{1,2}}[0-9][A-Z0-9]?[0-9][A-Z]{{2}}')
                     and not starts_with({column}, 'ZZ99') then replace({column}, ' ', '') end"""


_PAIR_COLUMNS = """a.subject_key as subject_a, b.subject_key as subject_b, a.forename_key as forename_a,
       b.forename_key as forename_b, a.date_of_birth as dob_a, b.date_of_birth as dob_b, a.sex as sex_a, b.sex as sex_b,
       a.postcode is not distinct from b.postcode and a.postcode is not null as same_postcode,
       a.subject_namespace = b.subject_namespace and a.family_ref = b.family_ref as one_family,
       a.nhs_number = b.nhs_number or a.upn = b.upn as shared_identifier,
       a.la_child_id <> b.la_child_id or a.nhs_number <> b.nhs_number or a.upn <> b.upn as identifier_differs"""

# same name block (one forename variant group, or the forename itself) and surname, then each kind
# of date relation as its own equi-join; a subject pair found twice is one pair
_BLOCK = "a.name_block = b.name_block and a.surname_key = b.surname_key"
CANDIDATES_SQL = f"""
with families as (
    select subject_namespace, family_ref from identity.subject_records where family_ref is not null
    group by all having count(distinct subject_key) <= {MAX_FAMILY_SUBJECTS}
),
records as (
    select subject_key, subject_namespace, forename_key, surname_key, date_of_birth,
           case when sex in ('M', 'F') then sex end as sex,
           {postcode_key_sql('postcode')} as postcode,
           f.family_ref, nhs_number, upn, la_child_id
    from identity.subject_records left join families f using (subject_namespace, family_ref)
    -- an initial is no forename: twins J and J Smith must not match
    where length(forename_key) > 1 and surname_key is not null and date_of_birth is not null
),
named as (
    select r.*, coalesce('group ' || v.name_group, r.forename_key) as name_block
    from records r left join _forename_variants v using (forename_key)
),
pairs as (
    select {_PAIR_COLUMNS} from named a join named b
        on {_BLOCK} and a.date_of_birth = b.date_of_birth and a.subject_key < b.subject_key
    union all
    select {_PAIR_COLUMNS} from named a join named b
        on {_BLOCK} and year(a.date_of_birth) = year(b.date_of_birth) and month(a.date_of_birth) = day(b.date_of_birth)
           and day(a.date_of_birth) = month(b.date_of_birth) and a.subject_key < b.subject_key
    union all
    select {_PAIR_COLUMNS} from named a join named b
        on {_BLOCK} and b.date_of_birth = a.date_of_birth + 1 and a.subject_key <> b.subject_key
    union all
    select {_PAIR_COLUMNS} from named a join named b
        on {_BLOCK} and month(a.date_of_birth) = month(b.date_of_birth) and day(a.date_of_birth) = day(b.date_of_birth)
           and a.date_of_birth <> b.date_of_birth and a.subject_key < b.subject_key
),
judged as (
    select least(subject_a, subject_b) as a, greatest(subject_a, subject_b) as b,
           case when forename_a = forename_b then 'exact' else 'variant' end as forenames,
           {dob_relation_sql('dob_a', 'dob_b')} as dob,
           list_value(case when same_postcode then 'postcode' end, case when one_family then 'family_ref' end,
                      case when shared_identifier then 'identifier' end) as corroborated_by,
           coalesce(same_postcode, false) or coalesce(one_family, false) or coalesce(shared_identifier, false) as corroborated,
           coalesce(one_family, false) as one_family,
           coalesce(sex_a <> sex_b, false) as sexes_conflict,
           coalesce(sex_a = sex_b, false) as same_sex,
           coalesce(identifier_differs, false) as identifier_differs,
           same_postcode
    from pairs
),
verdicts as (
    select *, case
        when forenames = 'exact' and dob = 'exact' and corroborated and not sexes_conflict and not identifier_differs then 1
        when forenames = 'exact' and dob = 'day_month_swapped' and same_postcode and one_family and same_sex
             and not identifier_differs then 2
        when corroborated and not sexes_conflict then 3
        else 4 end as verdict
    from judged
    where dob is not null
)
select a, b, verdict, forenames, dob, list_filter(corroborated_by, x -> x is not null) as corroborated_by, one_family
from verdicts
qualify row_number() over (partition by a, b order by verdict, forenames, dob, one_family desc, corroborated_by) = 1
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
    return [Candidate(a, b, VERDICTS[verdict - 1], forenames, dob, tuple(corroborated_by), one_family)
            for a, b, verdict, forenames, dob, corroborated_by, one_family in rows]
