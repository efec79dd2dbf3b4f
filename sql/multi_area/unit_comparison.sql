-- unit_comparison
-- Grain: one row per fan-out unit (a force, or a year) x theme x period, from the units' combined
-- theme_summary: what needs every unit at once, computed once after the combine (pipeline.runs.multi_area).
-- unique_key: unit, theme, period_label
-- For force units: each force's share of the total over all forces in the run, its rank (1 = most
-- crimes; ties share a rank), and the total's change against the previous period. For year units the
-- "total" is the sum over the years listed, and the rank orders the years.
-- Themes a source cannot count (null count, e.g. vwi from data.police.uk) have null shares and ranks.
with units as (
    select unit, area_name, theme, period_label, count, previous_count, pct_change
    from theme_summary
),

totals as (
    select
        theme,
        period_label,
        count(*) filter (where count is not null) as units_with_count,
        sum(count) as total_count,
        sum(previous_count) as total_previous_count
    from units
    group by theme, period_label
),

final as (
    select
        units.unit,
        getvariable('fan_out_by') as unit_kind,
        units.area_name,
        units.theme,
        units.period_label,
        units.count,
        units.previous_count,
        units.pct_change,
        totals.total_count,
        totals.total_previous_count,
        pct_change(totals.total_count, totals.total_previous_count) as total_pct_change,
        round(units.pct_change - pct_change(totals.total_count, totals.total_previous_count), 1)
            as pct_change_gap_points,
        pct(units.count, totals.total_count) as share_of_total_pct,
        case when units.count is not null
             then rank() over (partition by units.theme, units.period_label, units.count is null
                               order by units.count desc) end as rank_by_count,
        totals.units_with_count as units_ranked,
        getvariable('run_id') as run_id
    from units
    join totals using (theme, period_label)
)

select * from final
