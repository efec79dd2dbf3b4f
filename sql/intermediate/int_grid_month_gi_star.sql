-- int_grid_month_gi_star
-- Grain: one row per grid cell x theme x month (int_grid_month_counts) of a theme with at least
-- getvariable('gi_min_crimes') located crimes in every month, and ten months or more: the Getis-Ord Gi* z-score from PySAL
-- esda (gi_star_grid, as int_grid_gi_star, analytical z only: no permutations), its two-sided p-value,
-- the Benjamini-Hochberg q-value across the area's cells for that theme and month, and the hot/cold
-- class at getvariable('fdr_alpha'): the time steps of emerging_hotspots.
-- unique_key: grid_col, grid_row, theme, month_start
with counts as (
    select * from int_grid_month_counts
),

grouped as (
    select
        theme,
        month_start,
        list(grid_col order by grid_col, grid_row) as grid_cols,
        list(grid_row order by grid_col, grid_row) as grid_rows,
        list(cast(count as double) order by grid_col, grid_row) as counts,
        sum(count) as crimes
    from counts
    group by theme, month_start
    -- only themes emerging_hotspots can classify: enough crimes in every month, at least ten months
    qualify min(sum(count)) over (partition by theme) >= getvariable('gi_min_crimes')
        and count(*) over (partition by theme) >= 10
),

computed as (
    select
        theme,
        month_start,
        crimes,
        unnest(gi_star_grid(grid_cols, grid_rows, counts, 0, getvariable('geo_seed'))) as gi
    from grouped
),

tested as (
    select
        theme,
        month_start,
        crimes as month_crimes,
        gi.grid_col,
        gi.grid_row,
        gi.gi_z,
        p_two_sided(gi.gi_z) as p_value
    from computed
),

ranked as (
    select
        *,
        row_number() over (partition by theme, month_start order by p_value nulls last, grid_col, grid_row) as p_rank,
        count(p_value) over (partition by theme, month_start) as p_tests
    from tested
),

adjusted as (
    select
        *,
        case when p_value is not null then min(bh_step(p_value, p_tests, p_rank)) over (
            partition by theme, month_start order by p_value desc nulls first, p_rank desc
            rows between unbounded preceding and current row
        ) end as q_value
    from ranked
),

final as (
    select
        theme,
        month_start,
        grid_col,
        grid_row,
        month_crimes,
        gi_z,
        p_value,
        q_value,
        hotspot_class(gi_z, q_value, getvariable('fdr_alpha')) as hotspot_class
    from adjusted
    order by theme, month_start, grid_col, grid_row
)

select * from final
