-- int_location_grid
-- Grain: one row (none without boundaries): the regular grid (EPSG:27700) that indexes the current
-- wards and LSOAs for placing points (int_location_cells). Cell side: sqrt(extent area / 2,000,000),
-- at least 20 m: about 2 million cells over the area's bounding box, fewer inside its zones.
-- Cell of (x, y) = column * rows + row.
-- unique_key: x0, y0
with extent as (
    select st_xmin(box) as x0, st_ymin(box) as y0, st_xmax(box) as x1, st_ymax(box) as y1
    from (
        select st_extent_agg(geom)::geometry as box
        from (select geom from ref_wards union all select geom from ref_lsoas)
        where geom is not null
    )
    where box is not null
),

sized as (
    select *, greatest(20.0, sqrt((x1 - x0) * (y1 - y0) / 2000000.0)) as cell_m from extent
)

select
    x0,
    y0,
    cell_m,
    floor((x1 - x0) / cell_m)::bigint + 1 as nx,
    floor((y1 - y0) / cell_m)::bigint + 1 as ny
from sized
