-- grid_hotspots
-- Grain: one row per grid cell x theme x period role (record extracts with points only): the
-- crimes in each cell, the Getis-Ord Gi* z-score (PySAL esda, int_grid_gi_star), its two-sided
-- p-value, the Benjamini-Hochberg q-value across the area's cells for that theme and period, the
-- hot/cold class at getvariable('fdr_alpha'), and on current-period rows the change from the
-- previous period (new / persistent / former hot or cold spot). Cells of themes with fewer than
-- getvariable('gi_min_crimes') crimes in a period are 'not_computed'. The grid is a statistical
-- surface, not a point map: no cell shows a location finer than the cell.
-- unique_key: area_code, theme, period_role, grid_col, grid_row
with counts as (
    select * from int_grid_counts
),

cells as (
    select * from int_grid_cells
),

gi as (
    select * from int_grid_gi_star
),

joined as (
    select
        counts.*,
        gi.gi_z,
        gi.p_sim,
        p_two_sided(gi.gi_z) as p_value
    from counts
    left join gi using (theme, period_role, grid_col, grid_row)
),

ranked as (
    select
        *,
        row_number() over (partition by theme, period_role order by p_value nulls last, grid_col, grid_row) as p_rank,
        count(p_value) over (partition by theme, period_role) as p_tests
    from joined
),

adjusted as (
    select
        *,
        case when p_value is not null then min(bh_step(p_value, p_tests, p_rank)) over (
            partition by theme, period_role order by p_value desc nulls first, p_rank desc
            rows between unbounded preceding and current row
        ) end as q_value
    from ranked
),

classed as (
    select *, hotspot_class(gi_z, q_value, getvariable('fdr_alpha')) as hotspot_class from adjusted
),

final as (
    select
        getvariable('area_code') as area_code,
        cur.theme,
        cur.period_role,
        periods.period_label,
        cur.grid_col,
        cur.grid_row,
        cells.x_centre,
        cells.y_centre,
        cells.cell_m,
        cur.count,
        round(cur.gi_z, 4) as gi_z,
        round(cur.p_value, 6) as p_value,
        round(cur.q_value, 6) as q_value,
        round(cur.p_sim, 4) as p_sim,
        cur.hotspot_class,
        case
            when cur.period_role <> 'current' then null
            when cur.hotspot_class = 'not_computed' or coalesce(prev.hotspot_class, 'not_computed') = 'not_computed'
                then 'not_computed'
            when cur.hotspot_class = 'hot' and prev.hotspot_class = 'hot' then 'persistent_hot'
            when cur.hotspot_class = 'hot' then 'new_hot'
            when prev.hotspot_class = 'hot' then 'former_hot'
            when cur.hotspot_class = 'cold' and prev.hotspot_class = 'cold' then 'persistent_cold'
            when cur.hotspot_class = 'cold' then 'new_cold'
            when prev.hotspot_class = 'cold' then 'former_cold'
            else 'no_hotspot'
        end as hotspot_change,
        getvariable('run_id') as run_id
    from classed as cur
    join cells using (grid_col, grid_row)
    join periods on periods.period_role = cur.period_role
    -- equalities only, so DuckDB hashes the join (a condition on cur here made it a nested loop over
    -- every pair of cells, 9 s on the demo); previous rows find themselves, and hotspot_change is null there
    left join classed as prev
      on prev.period_role = 'previous' and prev.theme = cur.theme
     and prev.grid_col = cur.grid_col and prev.grid_row = cur.grid_row
    order by cur.theme, cur.period_role, cur.grid_col, cur.grid_row
)

select * from final
