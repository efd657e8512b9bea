{#
  A part of a published total (re-referrals of the month's referrals, say) is shown only when the
  total, the part and what remains (total minus part) are each 0 or at least var('board_min_count'):
  otherwise subtracting it from the total would give a small count away.
#}
{% macro board_part(part, total) %}
    case
        when {{ total }} between 1 and {{ var('board_min_count') }} - 1 then null
        when {{ part }} between 1 and {{ var('board_min_count') }} - 1 then null
        when {{ total }} - {{ part }} between 1 and {{ var('board_min_count') }} - 1 then null
        else {{ part }}
    end
{% endmacro %}

{% macro board_total(total) %}
    case when {{ total }} between 1 and {{ var('board_min_count') }} - 1 then null else {{ total }} end
{% endmacro %}
