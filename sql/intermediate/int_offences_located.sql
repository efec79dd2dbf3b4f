-- int_offences_located
-- Grain: one row per offence row read (every extract version): where it lies on the CURRENT
-- boundaries (ref_wards, ref_lsoas) and how that was decided (location_method).
-- unique_key: source_file, source_row
--   point_in_polygon  coordinates (BNG easting/northing, else WGS84 latitude/longitude) inside a ward;
--                     a point on a shared edge goes to the ward containing it, else the lowest ward code
--   point_snapped     coordinates outside every ward but within getvariable('snap_tolerance_m') of one
--                     (generalised boundaries, points on the borough edge): the nearest ward, lowest code on ties
--   outside_area      coordinates further out: quarantined by int_offences_checked
--   lsoa_best_fit     no usable coordinates; the recorded LSOA is a current LSOA: its best-fit ward
--   recorded_ward     no usable coordinates or LSOA; the recorded ward is in the current ward set
--   recorded_ward_name no usable coordinates, LSOA or ward code; the recorded ward name is a current ward's
--                     (names compared by norm_ward_name: case, '&'/'and', punctuation and spacing ignored)
--   previous_ward_name_best_fit  likewise, but the name is a previous ward's (reference.previous_wards):
--                     the current ward holding most of its residents (LSOA best fit, ref_previous_ward_weights)
--   unlocated         none of these: counted in area totals, in no ward
-- Coordinates outside Great Britain's ranges (e.g. 0,0 placeholders) count as no coordinates.
-- Points are placed through the grid index of int_location_cells: most by their cell alone, the
-- rest against the zones clipped to their cell. CTEs keep one row per point, so millions of
-- records locate in seconds and in little memory (benchmarks/bench_spatial.py).
with offences as (
    select source_file, source_row, easting, northing, latitude, longitude, lsoa_code, ward_code, ward_name
    from stg_offences
),

-- A name matches only when it names one ward of its set.
current_ward_names as (
    select norm_ward_name(ward_name) as name_key, min(ward_code) as ward_code
    from ref_wards
    where norm_ward_name(ward_name) is not null
    group by all
    having count(distinct ward_code) = 1
),

previous_ward_names as (
    select
        norm_ward_name(previous_ward_name) as name_key,
        arg_min(ward_code, (-weight, ward_code)) as ward_code
    from ref_previous_ward_weights
    where norm_ward_name(previous_ward_name) is not null and weight > 0
    group by all
    having count(distinct previous_ward_code) = 1
),

points as (
    select
        *,
        case
            when easting between 1 and 700000 and northing between 1 and 1300000 then 'easting_northing'
            when latitude between 49 and 61 and longitude between -9 and 2.5 then 'latitude_longitude'
            when coalesce(easting, northing, latitude, longitude) is not null then 'unusable'
            else 'none'
        end as coordinate_source
    from offences
),

-- x, y: metres on the British National Grid; null without usable coordinates.
projected as (
    select
        *,
        case coordinate_source
            when 'easting_northing' then easting
            when 'latitude_longitude'
                then st_x(st_transform(st_point(longitude, latitude), 'EPSG:4326', 'EPSG:27700', always_xy := true))
        end as x,
        case coordinate_source
            when 'easting_northing' then northing
            when 'latitude_longitude'
                then st_y(st_transform(st_point(longitude, latitude), 'EPSG:4326', 'EPSG:27700', always_xy := true))
        end as y
    from points
),

gridded as (
    select
        projected.*,
        case
            when x >= grid.x0 and x < grid.x0 + grid.nx * grid.cell_m and y >= grid.y0 and y < grid.y0 + grid.ny * grid.cell_m
                then floor((x - grid.x0) / grid.cell_m)::bigint * grid.ny + floor((y - grid.y0) / grid.cell_m)::bigint
        end as cell,
        exists (select 1 from ref_wards where geom is not null) as has_wards,
        exists (select 1 from ref_lsoas where geom is not null) as has_lsoas
    from projected
    left join int_location_grid as grid on true
),

-- Most points lie in a grid cell that one zone covers: placed by the cell alone.
placed as not materialized (
    select gridded.*, ward_cell.code as ward_by_cell, lsoa_cell.code as lsoa_by_cell
    from gridded
    left join int_location_cells as ward_cell
      on ward_cell.cell = gridded.cell and ward_cell.level = 'ward' and ward_cell.sole_cover
    left join int_location_cells as lsoa_cell
      on lsoa_cell.cell = gridded.cell and lsoa_cell.level = 'lsoa' and lsoa_cell.sole_cover
),

unresolved as not materialized (
    select
        *,
        has_wards and ward_by_cell is null as ward_open,
        has_lsoas and lsoa_by_cell is null as lsoa_open
    from placed
    where x is not null and ((has_wards and ward_by_cell is null) or (has_lsoas and lsoa_by_cell is null))
),

-- The rest: tested against the zones clipped to their cell. Per level the zone containing the point
-- wins, else (a point on a shared edge) the lowest code: '0' || code sorts before '1' || code.
piece_matches as (
    select
        unresolved.source_file,
        unresolved.source_row,
        cells.level,
        (not st_contains(cells.piece, st_point(unresolved.x, unresolved.y)))::int || cells.code as ranked_code
    from unresolved
    join int_location_cells as cells on cells.cell = unresolved.cell and not cells.sole_cover
    where ((cells.level = 'ward' and unresolved.ward_open) or (cells.level = 'lsoa' and unresolved.lsoa_open))
      and st_intersects(cells.piece, st_point(unresolved.x, unresolved.y))
),

-- One row per unresolved point that lies on a piece: its ward and LSOA.
pieces_hit as (
    select
        source_file,
        source_row,
        substr(min(ranked_code) filter (where level = 'ward'), 2) as ward_piece,
        substr(min(ranked_code) filter (where level = 'lsoa'), 2) as lsoa_piece
    from piece_matches
    group by source_file, source_row
),

unresolved_placed as (
    select
        unresolved.*,
        coalesce(unresolved.ward_by_cell, pieces_hit.ward_piece) as ward_hit,
        coalesce(unresolved.lsoa_by_cell, pieces_hit.lsoa_piece) as lsoa_hit
    from unresolved
    left join pieces_hit using (source_file, source_row)
),

missed as (
    select *, ward_open and ward_hit is null as ward_missed, lsoa_open and lsoa_hit is null as lsoa_missed
    from unresolved_placed
    where (ward_open and ward_hit is null) or (lsoa_open and lsoa_hit is null)
),

-- Points just outside every zone (generalised boundaries): the nearest zone within the snap
-- tolerance. A plain st_intersects with the zones grown by the tolerance lets DuckDB use its
-- R-tree spatial join.
zone_reach as (
    select 'ward' as level, ward_code as code, geom, st_buffer(geom, getvariable('snap_tolerance_m')) as reach
    from ref_wards where geom is not null
    union all
    select 'lsoa' as level, lsoa_code as code, geom, st_buffer(geom, getvariable('snap_tolerance_m')) as reach
    from ref_lsoas where geom is not null
),

reached as (
    select
        missed.source_file,
        missed.source_row,
        zone_reach.level,
        zone_reach.code,
        st_distance(zone_reach.geom, st_point(missed.x, missed.y)) as distance_m
    from missed
    join zone_reach on st_intersects(zone_reach.reach, st_point(missed.x, missed.y))
),

snaps as (
    select
        reached.source_file,
        reached.source_row,
        arg_min(reached.code, (reached.distance_m, reached.code)) filter (where reached.level = 'ward' and missed.ward_missed)
            as ward_code,
        min(reached.distance_m) filter (where reached.level = 'ward' and missed.ward_missed) as ward_distance_m,
        arg_min(reached.code, (reached.distance_m, reached.code)) filter (where reached.level = 'lsoa' and missed.lsoa_missed)
            as lsoa_code
    from reached
    join missed using (source_file, source_row)
    where reached.distance_m <= getvariable('snap_tolerance_m')
    group by all
),

outside as (
    select missed.source_file, missed.source_row, round(st_distance(ref_area.geom, st_point(missed.x, missed.y))) as distance_m
    from missed
    cross join ref_area
    where missed.ward_missed
),

-- One row per point, from its cell or from the pieces and snapping (no join over every point).
points_placed as (
    select
        source_file, source_row, coordinate_source, x, y, lsoa_code, ward_code, ward_name,
        ward_by_cell as ward_hit,
        lsoa_by_cell as lsoa_hit,
        null::varchar as ward_snap,
        null::varchar as lsoa_snap,
        null::double as distance_outside_m,
        false as outside_area
    from placed
    where not (x is not null and ((has_wards and ward_by_cell is null) or (has_lsoas and lsoa_by_cell is null)))
    union all
    select
        unresolved_placed.source_file, unresolved_placed.source_row, unresolved_placed.coordinate_source,
        unresolved_placed.x, unresolved_placed.y, unresolved_placed.lsoa_code, unresolved_placed.ward_code,
        unresolved_placed.ward_name,
        ward_hit,
        lsoa_hit,
        snaps.ward_code as ward_snap,
        snaps.lsoa_code as lsoa_snap,
        case when ward_hit is null then coalesce(round(snaps.ward_distance_m, 1), outside.distance_m) end,
        outside.source_row is not null
    from unresolved_placed
    left join snaps on snaps.source_file = unresolved_placed.source_file and snaps.source_row = unresolved_placed.source_row
    left join outside
      on outside.source_file = unresolved_placed.source_file and outside.source_row = unresolved_placed.source_row
),

joined as (
    select
        points_placed.*,
        case
            when x is not null and ward_hit is not null then 'point_in_polygon'
            when x is not null and ward_snap is not null then 'point_snapped'
            when x is not null and outside_area then 'outside_area'
            when recorded_lsoa.ward_code is not null then 'lsoa_best_fit'
            when recorded_ward.ward_code is not null then 'recorded_ward'
            when named_ward.ward_code is not null then 'recorded_ward_name'
            when named_previous_ward.ward_code is not null then 'previous_ward_name_best_fit'
            else 'unlocated'
        end as location_method,
        coalesce(ward_hit, ward_snap) as point_ward_code,
        coalesce(lsoa_hit, lsoa_snap) as point_lsoa_code,
        recorded_lsoa.lsoa_code as recorded_lsoa_code,
        recorded_lsoa.ward_code as recorded_lsoa_ward_code,
        recorded_ward.ward_code as recorded_ward_code,
        named_ward.ward_code as named_ward_code,
        named_previous_ward.ward_code as named_previous_ward_code
    from points_placed
    left join ref_lsoa_to_ward as recorded_lsoa on recorded_lsoa.lsoa_code = points_placed.lsoa_code
    left join ref_wards as recorded_ward on recorded_ward.ward_code = points_placed.ward_code
    left join current_ward_names as named_ward on named_ward.name_key = norm_ward_name(points_placed.ward_name)
    left join previous_ward_names as named_previous_ward
      on named_previous_ward.name_key = norm_ward_name(points_placed.ward_name)
),

final as (
    select
        source_file,
        source_row,
        coordinate_source,
        x as x_bng,
        y as y_bng,
        location_method,
        case location_method
            when 'point_in_polygon' then point_ward_code
            when 'point_snapped' then point_ward_code
            when 'lsoa_best_fit' then recorded_lsoa_ward_code
            when 'recorded_ward' then recorded_ward_code
            when 'recorded_ward_name' then named_ward_code
            when 'previous_ward_name_best_fit' then named_previous_ward_code
        end as current_ward_code,
        case
            when location_method in ('point_in_polygon', 'point_snapped') then point_lsoa_code
            when location_method = 'lsoa_best_fit' then recorded_lsoa_code
        end as current_lsoa_code,
        case when location_method in ('point_snapped', 'outside_area') then distance_outside_m end as distance_outside_m
    from joined
)

select * from final
