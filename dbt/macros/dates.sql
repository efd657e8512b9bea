{#
  Calendar rules used by more than one model, each in one place.
#}

{#
  age_in_years(date_of_birth, on_date): completed years of age on a date (negative before birth).
  A birthday is reached on the anniversary of the date of birth (Family Law Reform Act 1969 s.9: a
  person attains an age at the commencement of the relevant anniversary of their birth). For a
  child born on 29 February the Act does not say which day that is in a year without one, and
  secondary sources differ (some say 28 February). The reading taken here is 1 March: while 28
  February lasts the anniversary has not begun (the ACT Supreme Court read an Australian provision
  worded like s.9 so in 2018). Comparing month and day as 'MMDD' text gives exactly that: '0228' <
  '0229' <= '0301'. Never date_of_birth + interval N year, which DuckDB clamps to 28 February.
#}
{% macro age_in_years(date_of_birth, on_date) -%}
    (year({{ on_date }}) - year({{ date_of_birth }})
     - case when strftime({{ on_date }}, '%m%d') < strftime({{ date_of_birth }}, '%m%d') then 1 else 0 end)
{%- endmacro %}

{#
  twelve_months_before(day): the first day of "the 12 months before" a day, in calendar months
  (DfE children in need census: "a re-referral occurs when a child is referred within 12 months of
  a previous referral"; Annex A list 3 "Number of Referrals in Last 12 Months"): the same calendar
  day a year earlier, so a window from it is 365 days long, or 366 when it spans 29 February. A day
  that does not exist a year earlier (29 February) counts back to 28 February. Never a fixed number
  of days.
#}
{% macro twelve_months_before(day) -%}
    cast({{ day }} - interval 12 month as date)
{%- endmacro %}
