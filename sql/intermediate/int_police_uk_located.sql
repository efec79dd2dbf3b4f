-- int_police_uk_located
-- Grain: one row per valid data.police.uk row (the rows loaded): where it lies on the CURRENT wards,
-- how that was decided, and whether it belongs to the area and the comparator.
-- unique_key: source_file, source_row
--   point_in_polygon  the (snapped) point lies in a current ward polygon (ref_wards); on a shared edge,
--                     the lowest ward code
--   lsoa_best_fit     otherwise, the row's LSOA code is in the best-fit lookup (ref_lsoa_to_ward)
--   outside_wards     a point or LSOA, but on no current ward
--   no_location       no coordinates and no LSOA code (published without a location)
-- The area: when a `Falls within` force name equals the area name (e.g. City of London Police), the
-- area is that force's rows (area_basis 'force'); otherwise it is the rows placed on a current ward
-- (area_basis 'wards', e.g. a borough's wards inside the Met's files). The comparator is the rows of
-- the force named by the comparator name, where the inputs hold it.
-- Points are projected only when there are ward polygons to test them against.
with valid as (
    select source_file, source_row, crime_ref, month_start, falls_within, longitude, latitude, lsoa_code,
           crime_type, not_notifiable
    from int_police_uk_checked
    where quarantine_rule is null
),

ward_polygons as (
    select ward_code, geom from ref_wards where geom is not null
),

projected as (
    select
        *,
        case when longitude is not null and exists (select 1 from ward_polygons)
             then st_transform(st_point(longitude, latitude), 'EPSG:4326', 'EPSG:27700', always_xy := true) end as point
    from valid
),

in_polygon as (
    select projected.source_file, projected.source_row, min(ward_polygons.ward_code) as ward_code
    from projected
    join ward_polygons on st_intersects(ward_polygons.geom, projected.point)
    where projected.point is not null
    group by all
),

placed as (
    select
        projected.* exclude (point),
        st_x(projected.point) as x_bng,
        st_y(projected.point) as y_bng,
        in_polygon.ward_code as polygon_ward_code,
        lookup.ward_code as lsoa_ward_code
    from projected
    left join in_polygon using (source_file, source_row)
    left join ref_lsoa_to_ward as lookup on lookup.lsoa_code = projected.lsoa_code
),

area_basis as (
    select case when exists (
        select 1 from valid where lower(falls_within) = lower(cast(getvariable('area_name') as varchar))
    ) then 'force' else 'wards' end as area_basis
),

final as (
    select
        placed.*,
        case
            when polygon_ward_code is not null then 'point_in_polygon'
            when lsoa_ward_code is not null then 'lsoa_best_fit'
            when x_bng is not null or lsoa_code is not null then 'outside_wards'
            else 'no_location'
        end as location_method,
        coalesce(polygon_ward_code, lsoa_ward_code) as current_ward_code,
        area_basis.area_basis,
        case area_basis.area_basis
            when 'force' then lower(placed.falls_within) = lower(cast(getvariable('area_name') as varchar))
            else coalesce(polygon_ward_code, lsoa_ward_code) is not null
        end as in_area,
        coalesce(lower(placed.falls_within) = lower(cast(getvariable('comparator_name') as varchar)), false) as in_comparator
    from placed
    cross join area_basis
)

select * from final
