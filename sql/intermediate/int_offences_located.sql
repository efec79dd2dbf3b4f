-- int_offences_located
-- Grain: one row per offence row read (every extract version): where it lies on the CURRENT
-- boundaries (ref_wards, ref_lsoas) and how that was decided (location_method).
--   point_in_polygon  coordinates (BNG easting/northing, else WGS84 latitude/longitude) inside a ward;
--                     a point on a shared edge goes to the ward containing it, else the lowest ward code
--   point_snapped     coordinates outside every ward but within getvariable('snap_tolerance_m') of one
--                     (generalised boundaries, points on the borough edge): the nearest ward, lowest code on ties
--   outside_area      coordinates further out: quarantined by int_offences_checked
--   lsoa_best_fit     no usable coordinates; the recorded LSOA is a current LSOA: its best-fit ward
--   recorded_ward     no usable coordinates or LSOA; the recorded ward is in the current ward set
--   unlocated         none of these: counted in area totals, in no ward
-- Coordinates outside Great Britain's ranges (e.g. 0,0 placeholders) count as no coordinates.
with offences as (
    select source_file, source_row, easting, northing, latitude, longitude, lsoa_code, ward_code
    from stg_offences
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

geocoded as (
    select
        source_file,
        source_row,
        case coordinate_source
            when 'easting_northing' then st_point(easting, northing)
            when 'latitude_longitude'
                then st_transform(st_point(longitude, latitude), 'EPSG:4326', 'EPSG:27700', always_xy := true)
        end as geom
    from points
    where coordinate_source in ('easting_northing', 'latitude_longitude')
),

zones as (
    select 'ward' as level, ward_code as code, geom from ref_wards where geom is not null
    union all
    select 'lsoa' as level, lsoa_code as code, geom from ref_lsoas where geom is not null
),

hits as (
    select geocoded.source_file, geocoded.source_row, zones.level, zones.code
    from geocoded
    join zones on st_intersects(zones.geom, geocoded.geom)
    qualify row_number() over (
        partition by geocoded.source_file, geocoded.source_row, zones.level
        order by st_contains(zones.geom, geocoded.geom) desc, zones.code
    ) = 1
),

missed as (
    select geocoded.*, levels.level
    from geocoded
    cross join (values ('ward'), ('lsoa')) as levels(level)
    where not exists (
        select 1 from hits
        where hits.source_file = geocoded.source_file and hits.source_row = geocoded.source_row and hits.level = levels.level
    )
),

snaps as (
    select missed.source_file, missed.source_row, missed.level, zones.code, st_distance(zones.geom, missed.geom) as distance_m
    from missed
    join zones on zones.level = missed.level and st_dwithin(zones.geom, missed.geom, getvariable('snap_tolerance_m'))
    qualify row_number() over (
        partition by missed.source_file, missed.source_row, missed.level order by distance_m, zones.code
    ) = 1
),

outside as (
    select missed.source_file, missed.source_row, round(st_distance(ref_area.geom, missed.geom)) as distance_m
    from missed
    cross join ref_area
    where missed.level = 'ward'
),

current_lsoas as (
    select lsoa_code, ward_code from ref_lsoa_to_ward
),

current_wards as (
    select ward_code from ref_wards
),

joined as (
    select
        points.source_file,
        points.source_row,
        points.coordinate_source,
        st_x(geocoded.geom) as x_bng,
        st_y(geocoded.geom) as y_bng,
        case
            when geocoded.geom is not null and ward_hit.code is not null then 'point_in_polygon'
            when geocoded.geom is not null and ward_snap.code is not null then 'point_snapped'
            when geocoded.geom is not null and outside.source_row is not null then 'outside_area'
            when recorded_lsoa.ward_code is not null then 'lsoa_best_fit'
            when recorded_ward.ward_code is not null then 'recorded_ward'
            else 'unlocated'
        end as location_method,
        coalesce(ward_hit.code, ward_snap.code) as point_ward_code,
        coalesce(lsoa_hit.code, lsoa_snap.code) as point_lsoa_code,
        recorded_lsoa.lsoa_code as recorded_lsoa_code,
        recorded_lsoa.ward_code as recorded_lsoa_ward_code,
        recorded_ward.ward_code as recorded_ward_code,
        case when ward_hit.code is null then coalesce(round(ward_snap.distance_m, 1), outside.distance_m) end
            as distance_outside_m
    from points
    left join geocoded on geocoded.source_file = points.source_file and geocoded.source_row = points.source_row
    left join hits as ward_hit
      on ward_hit.source_file = points.source_file and ward_hit.source_row = points.source_row and ward_hit.level = 'ward'
    left join hits as lsoa_hit
      on lsoa_hit.source_file = points.source_file and lsoa_hit.source_row = points.source_row and lsoa_hit.level = 'lsoa'
    left join snaps as ward_snap
      on ward_snap.source_file = points.source_file and ward_snap.source_row = points.source_row and ward_snap.level = 'ward'
    left join snaps as lsoa_snap
      on lsoa_snap.source_file = points.source_file and lsoa_snap.source_row = points.source_row and lsoa_snap.level = 'lsoa'
    left join outside on outside.source_file = points.source_file and outside.source_row = points.source_row
    left join current_lsoas as recorded_lsoa on recorded_lsoa.lsoa_code = points.lsoa_code
    left join current_wards as recorded_ward on recorded_ward.ward_code = points.ward_code
),

final as (
    select
        source_file,
        source_row,
        coordinate_source,
        x_bng,
        y_bng,
        location_method,
        case location_method
            when 'point_in_polygon' then point_ward_code
            when 'point_snapped' then point_ward_code
            when 'lsoa_best_fit' then recorded_lsoa_ward_code
            when 'recorded_ward' then recorded_ward_code
        end as current_ward_code,
        case
            when location_method in ('point_in_polygon', 'point_snapped') then point_lsoa_code
            when location_method = 'lsoa_best_fit' then recorded_lsoa_code
        end as current_lsoa_code,
        case when location_method in ('point_snapped', 'outside_area') then distance_outside_m end as distance_outside_m
    from joined
)

select * from final
