-- int_grid_month_counts
-- Grain: one row per grid cell (int_grid_cells) x theme x calendar month of the run's two periods
-- (previous and current, the time steps of emerging_hotspots): crimes whose point lies in the cell
-- (record extracts; points inside the area or snapped to it), zeros included, for the themes with
-- a located point in those months.
-- unique_key: grid_col, grid_row, theme, month_start
with cells as (
    select * from int_grid_cells
),

months as (
    select distinct cast(date_trunc('month', day) as date) as month_start
    from periods
    cross join unnest(generate_series(period_start, period_end, interval 1 day)) as days(day)
),

crimes as (
    select
        classified.theme,
        cast(date_trunc('month', classified.event_date) as date) as month_start,
        cast(floor(classified.x_bng / getvariable('grid_cell_m')) as bigint) as grid_col,
        cast(floor(classified.y_bng / getvariable('grid_cell_m')) as bigint) as grid_row
    from int_offences_classified as classified
    where exists (select 1 from periods where classified.event_date between periods.period_start and periods.period_end)
      and classified.x_bng is not null and classified.location_method in ('point_in_polygon', 'point_snapped')
),

themes as (
    select distinct theme from crimes
),

counted as (
    select theme, month_start, grid_col, grid_row, count(*) as n from crimes group by all
),

final as (
    select
        themes.theme,
        months.month_start,
        cells.grid_col,
        cells.grid_row,
        coalesce(counted.n, 0) as count
    from themes
    cross join months
    cross join cells
    left join counted
      on counted.theme = themes.theme and counted.month_start = months.month_start
     and counted.grid_col = cells.grid_col and counted.grid_row = cells.grid_row
    order by themes.theme, months.month_start, cells.grid_col, cells.grid_row
)

select * from final
