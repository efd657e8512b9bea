-- persistent_school_absence: unauthorised school absence recorded at least
-- warning_signs.persistent_school_absence.count times within its window_days. (Counts absence
-- records, not sessions: the chronology keeps no session counts; the national 10% measure needs
-- possible sessions, which no extract carries.)
{%- set rule = var('warning_signs')['persistent_school_absence'] %}
{{ repeated_events_sign('persistent_school_absence',
    "event_type = 'school_absence' and outcome = 'unauthorised' and not via_household",
    rule['count'], rule['window_days'], 'records of unauthorised absence') }}
