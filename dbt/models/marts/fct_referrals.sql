/*
  One row per referral to children's social care (the child's own referral events).

  Rules (each unit-tested in _marts__referrals.yml):
  - source_agency: the referrer, as csc names it (related_agency of csc's record), else the
    agency that reported the referral (the referrer's own record, or csc when only csc recorded it).
  - referral_number: 1 = the child's first referral; referrals on one day in chronology order.
  - A second referral on the day of the first (two referrals, not one recorded by two agencies) is
    a re-referral, the later in chronology order: it is within 12 months of a previous referral,
    the DfE definition, and the CIN census accepts it as a referral of its own (validation rule
    8820, "The dates on the CIN episodes for this child overlap", lets a referral start on the day
    the previous one closed). The census would not record a referral made while the child's case
    is still open (it is part of that case); the chronology does not say when csc closed a case
    after a referral, so every referral recorded counts. The earlier one counts in the later one's
    referrals_in_previous_12_months, times_passed_back_before and under-three past referrals.
  - referrals_in_previous_12_months (Annex A list 3 "Number of Referrals in Last 12 Months"):
    the child's earlier referrals dated on or after the same calendar day 12 months before
    (macro twelve_months_before: 365 days back, 366 across 29 February; never a fixed number of
    days), this one excluded (Annex A reports 0 for a first referral).
  - is_re_referral (DfE children in need census: "a re-referral occurs when a child is referred
    within 12 months of a previous referral"): at least one such earlier referral. A previous
    referral exactly 12 months before (same calendar day; 29 February -> 28 February) counts;
    12 months and one day before does not.
  - times_passed_back_before: earlier referrals whose outcome was early help or no further action.
  - is_under_three_with_three_or_more (Baby E review: "any referral involving a child under three
    with three or more past referrals"): under three on the referral date (an unborn child
    included) and at least var('under_three_past_referrals') earlier referrals; null when the
    date of birth is unknown. Age and this rule share one birthday rule (macro age_in_years: a
    child born on 29 February turns three on 1 March in a year without one).
  - known_at_decision_*: int_referrals__known_at_decision (what had been recorded by the day).
*/
with referrals as (
    select event_id as referral_id, child_key, event_date as referral_date, event_seq, outcome
    from {{ ref('fct_child_events') }}
    where event_type = 'referral' and not via_household
),

records as (
    select event_id, agency, related_agency
    from {{ ref('int_events__matched') }}
    where event_type = 'referral' and not via_household
),

referrers as (
    select
        event_id as referral_id,
        coalesce(
            min(related_agency) filter (where agency = 'csc' and related_agency <> 'csc'),
            min(related_agency) filter (where agency = 'csc'),
            min(agency) filter (where agency <> 'csc'),
            min(agency)
        ) as source_agency
    from records
    group by event_id
),

children as (
    select person_key as child_key, date_of_birth from {{ ref('int_persons__profile') }}
),

numbered as (
    select
        referrals.*,
        row_number() over (partition by child_key order by referral_date, event_seq) as referral_number
    from referrals
),

history as (
    -- each referral against the child's earlier referrals
    select
        this.referral_id,
        count(earlier.referral_id) filter (
            where earlier.referral_date >= {{ twelve_months_before('this.referral_date') }}
        ) as referrals_in_previous_12_months,
        count(earlier.referral_id) filter (
            where earlier.outcome in ('early_help', 'nfa')
        ) as times_passed_back_before
    from numbered as this
    left join numbered as earlier
        on earlier.child_key = this.child_key and earlier.referral_number < this.referral_number
    group by this.referral_id
),

known as (
    select * from {{ ref('int_referrals__known_at_decision') }}
)

select
    -- ids
    numbered.referral_id,
    numbered.child_key,
    -- the referral
    numbered.referral_date,
    referrers.source_agency,
    numbered.outcome,
    numbered.outcome = 'early_help' as is_passed_to_early_help,
    -- the child's referral history
    numbered.referral_number,
    history.referrals_in_previous_12_months,
    history.referrals_in_previous_12_months > 0 as is_re_referral,
    history.times_passed_back_before,
    -- age (exact years; negative before birth)
    {{ age_in_years('children.date_of_birth', 'numbered.referral_date') }} as age_at_referral_years,
    case when children.date_of_birth is not null then
        {{ age_in_years('children.date_of_birth', 'numbered.referral_date') }} < 3
        and numbered.referral_number - 1 >= {{ var('under_three_past_referrals') }}
    end as is_under_three_with_three_or_more,
    -- what was known on the day of the decision
    known.previous_referrals as known_at_decision_previous_referrals,
    known.open_plans as known_at_decision_open_plans,
    known.police_incidents_12m as known_at_decision_police_incidents_12m,
    known.ed_attendances_12m as known_at_decision_ed_attendances_12m,
    known.school_absences_12m as known_at_decision_school_absences_12m
from numbered
join history using (referral_id)
left join referrers using (referral_id)
left join children using (child_key)
left join known using (referral_id)
