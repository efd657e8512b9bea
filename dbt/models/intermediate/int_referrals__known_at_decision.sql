/*
  What was known about the child on the day of each referral decision.

  Rule: the decision day is the referral date (the front door decides on the day; the ledger has
  no separate decision date). For each referral, every record of the child is taken in the
  version known by the end of that day (int_event_versions__known_from); records not yet known
  are left out, and a correction known only later is not applied. Then, from those versions:
    previous_referrals   the child's own earlier referrals (events, not records)
    open_plans           plan types (early help, child in need, child protection, looked after)
                         open on the day: a start on or before it with no end since (an end on
                         the same day as the latest start closes it)
    police_incidents_12m police incidents of the child or its household in the 12 months
                         before the decision day (the day itself included)
    ed_attendances_12m   emergency department attendances in those 12 months
    school_absences_12m  school absence records in those 12 months (not the census codes that
                         are not absence: outcome not_counted)
  Restricted (person_id). Incremental by child: a referral's row reads only its child's records
  (macros/incremental_persons.sql).
*/
{{ config(materialized='incremental', incremental_strategy='affected_persons', affected_key='child_key',
          on_schema_change='fail', full_refresh=incremental_full_refresh()) }}
with referrals as (
    select event_id as referral_id, child_key, event_date as decision_date, event_seq
    from {{ ref('fct_child_events') }}
    where event_type = 'referral' and not via_household and {{ only_affected_persons('child_key', 'person_key') }}
),

known as (
    -- per referral, each of the child's records in its current version (the latest recorded) among
    -- those known on the decision day
    select referrals.referral_id, referrals.decision_date, referrals.event_seq as referral_seq, versions.*
    from referrals
    join {{ ref('int_event_versions__known_from') }} as versions
        on versions.child_key = referrals.child_key
        and versions.known_from_date <= referrals.decision_date
    qualify row_number() over (
        partition by referrals.referral_id, versions.source_name, versions.agency, versions.record_id, versions.via_household
        order by {{ newest_version_first('versions') }}
    ) = 1
),

plan_events as (
    select
        referral_id,
        case
            when event_type in ('early_help_start', 'early_help_end') then 'early_help'
            when event_type in ('cin_plan_start', 'cin_plan_end') then 'cin'
            when event_type in ('cp_plan_start', 'cp_plan_end') then 'cp'
            when event_type in ('lac_start', 'lac_end') then 'lac'
        end as plan_type,
        max(event_date) filter (where event_type like '%_start') as last_start,
        max(event_date) filter (where event_type like '%_end') as last_end
    from known
    where not via_household
        and event_type in ('early_help_start', 'early_help_end', 'cin_plan_start', 'cin_plan_end',
                           'cp_plan_start', 'cp_plan_end', 'lac_start', 'lac_end')
        and event_date <= decision_date
    group by all
),

open_plans as (
    select referral_id, count(*) as open_plans
    from plan_events
    where last_start is not null and (last_end is null or last_end < last_start)
    group by referral_id
),

counts as (
    select
        known.referral_id,
        count(distinct event_id) filter (
            where event_type = 'referral' and not via_household and event_id <> referral_id
                and (event_date < decision_date
                     or (event_date = decision_date and earlier_seq < referral_seq))
        ) as previous_referrals,
        count(distinct event_id) filter (
            where event_type = 'police_incident'
                and event_date between decision_date - interval 12 month and decision_date
        ) as police_incidents_12m,
        count(distinct event_id) filter (
            where event_type = 'ed_attendance' and not via_household
                and event_date between decision_date - interval 12 month and decision_date
        ) as ed_attendances_12m,
        count(distinct event_id) filter (
            where {{ counts_as_school_absence() }} and not via_household
                and event_date between decision_date - interval 12 month and decision_date
        ) as school_absences_12m
    from known
    -- two referrals on one day: the earlier in the chronology counts for the later
    left join (select referral_id as earlier_id, event_seq as earlier_seq from referrals) as earlier
        on earlier.earlier_id = known.event_id
    group by known.referral_id
)

select
    referrals.referral_id,
    referrals.child_key,
    referrals.decision_date,
    coalesce(counts.previous_referrals, 0) as previous_referrals,
    coalesce(open_plans.open_plans, 0) as open_plans,
    coalesce(counts.police_incidents_12m, 0) as police_incidents_12m,
    coalesce(counts.ed_attendances_12m, 0) as ed_attendances_12m,
    coalesce(counts.school_absences_12m, 0) as school_absences_12m
from referrals
left join counts using (referral_id)
left join open_plans using (referral_id)
