-- fct_plan_status_daily has one row per child per day.
select child_key, status_date, count(*) as rows
from {{ ref('fct_plan_status_daily') }}
group by child_key, status_date
having count(*) > 1
