{#
  Small-number suppression for the board tables (published to analysts and exported).

  suppress_small_counts(relation, count_column, group_by, cell_by):
    primary:   a count from 1 to var('board_min_count') - 1 becomes null (0 is shown: an absent
               cell discloses nothing about a child).
    secondary: the board tables publish their group totals elsewhere (referrals per month in
               board_referrals_monthly, per source agency in board_referral_outcomes_by_source), so a
               group with exactly one suppressed cell would give it away by subtraction; the next
               smallest cell of that group is suppressed too. A group whose total is itself small
               is suppressed whole.
  `cell_by` names the columns that tell a group's cells apart (they break ties).
  The result keeps every input column, with `count_column` replaced by its published value and
  `is_suppressed` saying why a null is a null.
#}
{% macro suppress_small_counts(relation, count_column, group_by, cell_by) %}
(
    with cells as (
        select
            *,
            {{ count_column }} between 1 and {{ var('board_min_count') }} - 1 as _is_small,
            sum({{ count_column }}) over (partition by {{ group_by | join(', ') }}) as _group_total
        from {{ relation }}
    ),
    ranked as (
        select
            *,
            count(*) filter (where _is_small) over (partition by {{ group_by | join(', ') }}) as _small_in_group,
            -- order cells smallest first; ties broken by the cell's other keys, so the choice is stable
            row_number() over (
                partition by {{ group_by | join(', ') }}
                order by _is_small desc, {{ count_column }}, {{ cell_by | join(', ') }}
            ) as _rank_in_group
        from cells
    )
    select
        * exclude ({{ count_column }}, _is_small, _group_total, _small_in_group, _rank_in_group),
        case
            when _is_small then null
            when _group_total between 1 and {{ var('board_min_count') }} - 1 then null
            when _small_in_group = 1 and _rank_in_group = 2 and {{ count_column }} > 0 then null
            else {{ count_column }}
        end as {{ count_column }},
        _is_small
            or _group_total between 1 and {{ var('board_min_count') }} - 1
            or (_small_in_group = 1 and _rank_in_group = 2 and {{ count_column }} > 0) as is_suppressed
    from ranked
)
{% endmacro %}
