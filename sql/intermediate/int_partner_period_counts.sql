-- int_partner_period_counts
-- Grain: one row per partner measure x run period role (current, previous): the area's count over
-- the partner periods that lie inside the run's period, and how many of the period's months they cover.
-- unique_key: measure, period_role
-- A partner period that straddles the run's period (a financial year in a calendar-year run) is not
-- counted in either: the months covered then fall short and no change is shown.
with area_rows as (
    select * from int_partner_area
),

inside as (
    select area_rows.*, periods.period_role, periods.period_label
    from area_rows
    join periods on area_rows.period_start >= periods.period_start and area_rows.period_end <= periods.period_end
),

months_in as (
    select period_role, datediff('month', period_start, period_end) + 1 as months_in_period from periods
),

final as (
    select
        inside.measure,
        inside.period_role,
        any_value(inside.period_label) as period_label,
        sum(inside.count) as count,
        sum(inside.period_months) as months_covered,
        any_value(months_in.months_in_period) as months_in_period,
        string_agg(distinct inside.provider, '; ') as provider
    from inside
    join months_in using (period_role)
    group by all
)

select * from final
