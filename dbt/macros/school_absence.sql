{#
  counts_as_school_absence: the one rule for which school_absence events are absence. The school
  census also returns codes that are not absence in the national measures (X, Y, Z, #, D: outcome
  not_counted); they are kept in the chronology but never counted as absence. Authorised and
  unauthorised absence both count, as in the national persistent absence measure.
  Use in a where / filter clause over fct_child_events-shaped rows.
#}
{% macro counts_as_school_absence(event_type='event_type', outcome='outcome') -%}
({{ event_type }} = 'school_absence' and {{ outcome }} is distinct from 'not_counted')
{%- endmacro %}
