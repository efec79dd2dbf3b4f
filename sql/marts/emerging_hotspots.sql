-- emerging_hotspots
-- Grain: one row per grid cell x theme (record extracts with points only): the cell's Gi* series
-- over the calendar months of the previous and current periods (int_grid_month_gi_star, oldest
-- first), the months it was a hot or cold spot (FDR, getvariable('fdr_alpha')), the Mann-Kendall
-- trend of its monthly z-scores (Kendall's tau against time, scipy) and its emerging hot spot class
-- as ArcGIS's Emerging Hot Spot Analysis defines them (new, consecutive, intensifying, persistent,
-- diminishing, sporadic, oscillating, historical hot or cold spot, or no_pattern;
-- pipeline.transform.spacetime.emerging_class), the trend tested at getvariable('significance_alpha').
-- A theme gets classes only when Gi* was computed in every month (each month at least
-- getvariable('gi_min_crimes') located crimes) and there are at least ten months; otherwise its cells
-- are 'not_computed'. Like grid_hotspots, a statistical surface: no location finer than the cell.
-- unique_key: area_code, theme, grid_col, grid_row
with counts as (
    select * from int_grid_month_counts
),

gi as (
    select * from int_grid_month_gi_star
),

cells as (
    select * from int_grid_cells
),

months as (
    select theme, count(distinct month_start) as months, min(month_start) as first_month, max(month_start) as last_month
    from counts
    group by all
),

computed_months as (
    select theme, count(distinct month_start) as months_computed from gi group by all
),

series as (
    select
        counts.theme,
        counts.grid_col,
        counts.grid_row,
        sum(counts.count) as crimes,
        count(gi.gi_z) as months_with_z,
        list(gi.gi_z order by counts.month_start) as z_series,
        list(coalesce(gi.hotspot_class, 'not_computed') order by counts.month_start) as class_series,
        count(*) filter (where gi.hotspot_class = 'hot') as hot_months,
        count(*) filter (where gi.hotspot_class = 'cold') as cold_months,
        arg_max(coalesce(gi.hotspot_class, 'not_computed'), counts.month_start) as last_month_class
    from counts
    left join gi using (theme, month_start, grid_col, grid_row)
    group by all
),

classified as (
    select
        series.*,
        months.months,
        months.first_month,
        months.last_month,
        coalesce(computed_months.months_computed, 0) as months_computed,
        case when coalesce(computed_months.months_computed, 0) = months.months and series.months_with_z = months.months
            then emerging_hotspot(series.z_series, series.class_series, getvariable('significance_alpha')) end as eh
    from series
    join months using (theme)
    left join computed_months using (theme)
),

final as (
    select
        getvariable('area_code') as area_code,
        classified.theme,
        classified.first_month,
        classified.last_month,
        classified.grid_col,
        classified.grid_row,
        cells.x_centre,
        cells.y_centre,
        cells.cell_m,
        classified.months,
        classified.months_computed,
        classified.crimes,
        classified.hot_months,
        classified.cold_months,
        classified.last_month_class,
        classified.eh.trend_tau as trend_tau,
        classified.eh.trend_p as trend_p,
        coalesce(classified.eh.emerging_class, 'not_computed') as emerging_class,
        getvariable('run_id') as run_id
    from classified
    join cells using (grid_col, grid_row)
    order by classified.theme, classified.grid_col, classified.grid_row
)

select * from final
