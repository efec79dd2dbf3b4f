-- int_grid_cells
-- Grain: one row per cell of a regular square grid (side getvariable('grid_cell_m'), in metres of
-- British National Grid) that overlaps the area's interior (ref_area, the union of the current wards).
-- unique_key: grid_col, grid_row
-- Cells are indexed from the grid origin (0, 0), so a cell keeps its id across runs of one cell size.
with area as (
    select geom, getvariable('grid_cell_m') as cell from ref_area
),

bounds as (
    select
        cell,
        geom,
        cast(floor(st_xmin(geom) / cell) as bigint) as col_min,
        cast(ceil(st_xmax(geom) / cell) as bigint) as col_max,
        cast(floor(st_ymin(geom) / cell) as bigint) as row_min,
        cast(ceil(st_ymax(geom) / cell) as bigint) as row_max
    from area
),

candidates as (
    select
        bounds.cell,
        bounds.geom as area_geom,
        cols.grid_col,
        grid_rows.grid_row
    from bounds
    cross join unnest(range(bounds.col_min, bounds.col_max)) as cols(grid_col)
    cross join unnest(range(bounds.row_min, bounds.row_max)) as grid_rows(grid_row)
),

final as (
    select
        grid_col,
        grid_row,
        grid_col * cell as x_min,
        grid_row * cell as y_min,
        (grid_col + 0.5) * cell as x_centre,
        (grid_row + 0.5) * cell as y_centre,
        cell as cell_m
    from candidates
    where st_intersects(area_geom, st_makeenvelope(grid_col * cell, grid_row * cell, (grid_col + 1) * cell, (grid_row + 1) * cell))
      and not st_touches(area_geom, st_makeenvelope(grid_col * cell, grid_row * cell, (grid_col + 1) * cell, (grid_row + 1) * cell))
    order by grid_col, grid_row
)

select * from final
