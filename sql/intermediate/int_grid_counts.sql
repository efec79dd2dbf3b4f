-- int_grid_counts
-- Grain: one row per grid cell (int_grid_cells) x theme x period role: crimes whose point lies in
-- the cell (record extracts; points inside the area or snapped to it), zeros included. MPS count
-- files have no points, so they add nothing here.
-- unique_key: grid_col, grid_row, theme, period_role
with cells as (
    select * from int_grid_cells
),

crimes as (
    select
        classified.theme,
        periods.period_role,
        cast(floor(classified.x_bng / getvariable('grid_cell_m')) as bigint) as grid_col,
        cast(floor(classified.y_bng / getvariable('grid_cell_m')) as bigint) as grid_row
    from int_offences_classified as classified
    join periods on classified.event_date between periods.period_start and periods.period_end
    where classified.x_bng is not null and classified.location_method in ('point_in_polygon', 'point_snapped')
),

themes as (
    select distinct theme, period_role from crimes
),

counted as (
    select theme, period_role, grid_col, grid_row, count(*) as n from crimes group by all
),

final as (
    select
        themes.theme,
        themes.period_role,
        cells.grid_col,
        cells.grid_row,
        coalesce(counted.n, 0) as count
    from themes
    cross join cells
    left join counted
      on counted.theme = themes.theme and counted.period_role = themes.period_role
     and counted.grid_col = cells.grid_col and counted.grid_row = cells.grid_row
    order by themes.theme, themes.period_role, cells.grid_col, cells.grid_row
)

select * from final
