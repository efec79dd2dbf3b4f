-- int_grid_gi_star
-- Grain: one row per grid cell x theme x period role with at least getvariable('gi_min_crimes')
-- crimes: the Getis-Ord Gi* z-score from PySAL esda.G_Local (binary queen contiguity among the
-- area's cells, the cell itself included), computed by gi_star_grid (pipeline.transform.hotspots, registered
-- as a DuckDB function) once per theme x period. p_norm: one-sided normal tail of |z|; p_sim:
-- conditional-permutation pseudo p-value (getvariable('gi_permutations'), fixed seed).
-- unique_key: grid_col, grid_row, theme, period_role
with counts as (
    select * from int_grid_counts
),

grouped as (
    select
        theme,
        period_role,
        list(grid_col order by grid_col, grid_row) as grid_cols,
        list(grid_row order by grid_col, grid_row) as grid_rows,
        list(cast(count as double) order by grid_col, grid_row) as counts,
        sum(count) as crimes
    from counts
    group by all
    having sum(count) >= getvariable('gi_min_crimes')
),

computed as (
    select
        theme,
        period_role,
        crimes,
        unnest(gi_star_grid(grid_cols, grid_rows, counts, getvariable('gi_permutations'), getvariable('geo_seed'))) as gi
    from grouped
),

final as (
    select
        theme,
        period_role,
        gi.grid_col,
        gi.grid_row,
        gi.gi_z,
        gi.p_norm,
        gi.p_sim,
        crimes as theme_period_crimes
    from computed
)

select * from final
