-- int_indicator_quarters
-- Grain: one row per quarter of the run's periods (three months from each period's start: a financial
-- year's quarters when the period is one), with the same quarter a year earlier.
-- unique_key: quarter_start
with quarters as (
    select
        periods.period_role,
        periods.period_label,
        n as quarter_number,
        cast(periods.period_start + to_months(3 * (n - 1)) as date) as quarter_start,
        cast(periods.period_start + to_months(3 * n) - interval 1 day as date) as quarter_end
    from periods,
         range(1, cast((datediff('month', periods.period_start, periods.period_end) + 1) / 3 as integer) + 1) as q(n)
),

final as (
    select
        *,
        'Q' || quarter_number || ' ' || period_label as quarter_label,
        cast(quarter_start - interval 12 month as date) as year_earlier_start
    from quarters
)

select * from final
