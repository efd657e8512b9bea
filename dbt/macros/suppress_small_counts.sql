{#
  Small-number suppression for the board tables (published to analysts and exported).

  suppress_small_counts(relation, count_column, groupings, cell_by, rounds=3):
    primary:   a count from 1 to var('board_min_count') - 1 is withheld (0 is shown: an absent
               cell discloses nothing about a child).
    secondary: each grouping (a list of columns) is a set of cells whose total is published
               somewhere (a month's referrals, say). A group with exactly one withheld cell would
               give it away by subtraction, and withheld cells adding up to a small number would
               give that number away (two cells of 1 and 2: "3 between them"), so in either case
               the group's next smallest cell is withheld too. Withholding
               a cell for one grouping can leave another grouping with a single withheld cell, so
               the groupings are applied in turn, `rounds` times (tests/board checks that no group
               ends with exactly one, or with a small withheld sum).
    `cell_by` names the columns that tell cells apart (they break ties, so the choice is stable).
  The result keeps every input column, `count_column` null when withheld, and `is_suppressed`.
#}
{% macro suppress_small_counts(relation, count_column, groupings, cell_by, rounds=3) %}
(
    with pass_0 as (
        select *, {{ count_column }} between 1 and {{ var('board_min_count') }} - 1 as _suppressed
        from {{ relation }}
    ),
    {%- set passes = [] %}
    {%- for round in range(rounds) %}{% for group in groupings %}{% do passes.append(group) %}{% endfor %}{% endfor %}
    {%- for group in passes %}
    pass_{{ loop.index }} as (
        select
            * exclude (_suppressed, _withheld_in_group, _withheld_sum_in_group, _rank_in_group),
            _suppressed or (
                _withheld_in_group >= 1 and _rank_in_group = _withheld_in_group + 1
                and (_withheld_in_group = 1 or _withheld_sum_in_group < {{ var('board_min_count') }})
            ) as _suppressed
        from (
            select
                *,
                count(*) filter (where _suppressed) over (partition by {{ group | join(', ') }}) as _withheld_in_group,
                sum({{ count_column }}) filter (where _suppressed) over (partition by {{ group | join(', ') }}) as _withheld_sum_in_group,
                row_number() over (
                    partition by {{ group | join(', ') }}
                    order by _suppressed desc, {{ count_column }}, {{ cell_by | join(', ') }}
                ) as _rank_in_group
            from pass_{{ loop.index0 }}
        )
    ){{ "," if not loop.last }}
    {%- endfor %}
    select
        * exclude ({{ count_column }}, _suppressed),
        case when _suppressed then null else {{ count_column }} end as {{ count_column }},
        _suppressed as is_suppressed
    from pass_{{ passes | length }}
)
{% endmacro %}
