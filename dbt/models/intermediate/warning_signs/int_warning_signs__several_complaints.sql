-- several_complaints: complaints by or about the family recorded by any agency, at least
-- warning_signs.several_complaints.count within its window_days (days with a complaint).
-- A table rebuilt whole (few complaints: too cheap to be worth a night's bookkeeping).
{%- set rule = var('warning_signs')['several_complaints'] %}
{{ repeated_events_sign('several_complaints', "event_type = 'complaint'",
    rule['count'], rule['window_days'], 'days with a complaint') }}
