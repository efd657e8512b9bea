/*
  What was known about the child on the day of each referral decision.

  Rule: the decision day is the referral date (the front door decides on the day; the ledger has
  no separate decision date). For each referral, every record of the child is taken in the
  version known by the end of that day (int_event_versions__known_from); records not yet known
  are left out, and a correction known only later is not applied. Then, from those versions:
    previous_referrals   the child's own earlier referrals (events, not records)
    open_plans           plan types (early help, child in need, child protection, looked after)
                         open on the day, by the same rules as marts.fct_plan_episodes (var
                         `plans`: a case closure closes a child in need or protection plan; the
                         pairing macro plan_episodes(); open on the days plan_open_until() gives,
                         so a plan started and ended on the decision day counts), applied to the
                         plan events recorded by the end of the day and dated on or before it
    police_incidents_12m police incidents of the child or its household in the 12 months
                         before the decision day: dated on or after the same calendar day 12
                         months before (calendar months, as the re-referral window in
                         fct_referrals; 29 February counts back to 28 February), up to the
                         decision day itself
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

plan_config as (
    {{ plan_events_config() }}
),

plan_events as (
    -- the child's own events that open, end or close a plan (var `plans`, as int_plan_events), in
    -- the versions recorded by the decision day and dated by then: one row per event
    select
        known.referral_id,
        known.decision_date,
        known.event_id,
        plan_config.plan_type,
        plan_config.level,
        plan_config.role,
        known.event_type,
        min(known.outcome) as outcome,
        min(known.event_date) as event_date
    from known
    join plan_config using (event_type)
    where not known.via_household
    group by all
    having min(known.event_date) <= known.decision_date
),

plan_episodes as (
    -- the same pairing as int_plan_episodes (macro plan_episodes), on what was known that day
    {{ plan_episodes('plan_events', ['referral_id', 'decision_date']) }}
),

open_plans as (
    select referral_id, count(distinct plan_type) as open_plans
    from plan_episodes
    where start_recorded and {{ plan_open_on('decision_date') }}
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
                and event_date between {{ twelve_months_before('decision_date') }} and decision_date
        ) as police_incidents_12m,
        count(distinct event_id) filter (
            where event_type = 'ed_attendance' and not via_household
                and event_date between {{ twelve_months_before('decision_date') }} and decision_date
        ) as ed_attendances_12m,
        count(distinct event_id) filter (
            where {{ counts_as_school_absence() }} and not via_household
                and event_date between {{ twelve_months_before('decision_date') }} and decision_date
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
