/*
  One row per household the identity stage found (family references and shared addresses), with
  its members as pseudonymous keys. household_key is a hash of the pseudonymous key of the member
  the household is named after, so it reveals no internal id; it changes if that member leaves.
*/
with members as (
    select members.*, persons.person_key, persons.is_child
    from {{ ref('stg_identity__household_members') }} as members
    join {{ ref('int_persons__profile') }} as persons using (person_id)
),

named_after as (
    -- identity names a household "H" + its lowest person id
    select household_id, md5('household|' || person_key) as household_key
    from members
    where person_id = substr(household_id, 2)
)

select
    -- ids
    named_after.household_key,
    -- members
    count(*) as members,
    count(*) filter (where members.role = 'child') as children,
    count(*) filter (where members.role <> 'child') as adults,
    list(members.person_key order by members.person_key) filter (where members.role = 'child') as child_keys,
    list(distinct members.role order by members.role) as roles,
    -- evidence and dates
    list_sort(list_distinct(flatten(list(members.evidence)))) as evidence,
    min(members.valid_from) as first_evidence_date,
    max(members.valid_to) as last_evidence_date
from members
join named_after using (household_id)
group by named_after.household_key
