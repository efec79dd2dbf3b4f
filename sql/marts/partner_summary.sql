-- partner_summary
-- Grain: one row per partner measure in the partner tables (sql/seeds/partner_measures.csv) for the
-- run's area: the current period's count against the previous period's, with the exact test.
-- unique_key: measure, period_label
-- change, pct_change, p_value and change_flag are null unless the partner's periods cover both run
-- periods in full (change_note says why).
with counts as (
    select * from int_partner_period_counts
),

measures as (
    select measure from int_partner_area group by all
),

current_period as (
    select * from periods where period_role = 'current'
),

previous_period as (
    select * from periods where period_role = 'previous'
),

side_by_side as (
    select
        measures.measure,
        current_counts.count,
        previous_counts.count as previous_count,
        coalesce(current_counts.months_covered, 0) as months_covered,
        coalesce(previous_counts.months_covered, 0) as previous_months_covered,
        datediff('month', current_period.period_start, current_period.period_end) + 1 as months_in_period,
        datediff('month', previous_period.period_start, previous_period.period_end) + 1 as previous_months_in_period,
        coalesce(current_counts.provider, previous_counts.provider) as provider
    from measures
    cross join current_period
    cross join previous_period
    left join counts as current_counts on current_counts.measure = measures.measure and current_counts.period_role = 'current'
    left join counts as previous_counts on previous_counts.measure = measures.measure and previous_counts.period_role = 'previous'
),

compared as (
    select
        *,
        coalesce(change_comparable(months_covered, months_in_period, previous_months_covered, previous_months_in_period), false)
            as comparable,
        change_note(months_covered, months_in_period, previous_months_covered, previous_months_in_period) as change_note
    from side_by_side
),

final as (
    select
        compared.measure,
        partner_measures.label,
        (select period_label from current_period) as period_label,
        (select period_label from previous_period) as previous_period_label,
        compared.count,
        compared.previous_count,
        case when comparable then count - previous_count end as change,
        case when comparable then pct_change(count, previous_count) end as pct_change,
        case when comparable then round(change_p_value(count, previous_count), 6) end as p_value,
        case when comparable then change_flag(count, previous_count, change_p_value(count, previous_count),
                                             getvariable('significance_alpha')) end as change_flag,
        compared.change_note,
        compared.months_covered,
        compared.previous_months_covered,
        partner_measures.unit as measure_unit,   -- not "unit": multi-area runs add a unit column
        'partner_table' as source,
        'source: partner_table (' || coalesce(compared.provider, 'partner') || '); ' || partner_measures.definition
            as definition,
        getvariable('run_id') as run_id
    from compared
    join seed_partner_measures as partner_measures using (measure)
    order by compared.measure
)

select * from final
