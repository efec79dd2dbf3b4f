-- int_police_uk_located
-- Grain: one row per valid data.police.uk row (the rows loaded: stg_police_uk less the rows
-- int_police_uk_checked holds back): where it lies on the CURRENT wards, how that was decided, and
-- whether it belongs to the area and the comparator. Only what the marts read is kept; a row's other
-- columns are in stg_police_uk under the same row_id.
-- unique_key: row_id
--   point_in_polygon  the (snapped) point lies in a current ward polygon (ref_wards); on a shared edge,
--                     the lowest ward code
--   lsoa_best_fit     otherwise, the row's LSOA code is in the best-fit lookup (ref_lsoa_to_ward)
--   outside_wards     a point or LSOA, but on no current ward
--   no_location       no coordinates and no LSOA code (published without a location)
-- The area: when a `Falls within` force name equals the area name (e.g. City of London Police), the
-- area is that force's rows (area_basis 'force'); otherwise it is the rows placed on a current ward
-- (area_basis 'wards', e.g. a borough's wards inside the Met's files). The comparator is the rows of
-- the force named by the comparator name, where the inputs hold it.
-- Points are projected only when there are ward polygons to test them against; without them, a point
-- with no LSOA code is a row without a location.
with crime_types as (
    select distinct lower(crime_type) as crime_type_key, theme is null and match = 'excluded' as excluded
    from seed_police_uk_crime_type_themes
),

valid as (
    select stg.row_id, stg.file_id, stg.month_start, stg.falls_within, stg.longitude, stg.lsoa_code,
           stg.crime_type, crime_types.excluded as not_notifiable
    from stg_police_uk as stg
    left join crime_types on crime_types.crime_type_key = lower(stg.crime_type)
    where stg.row_id not in (select row_id from int_police_uk_checked)
),

ward_polygons as (
    select ward_code, geom from ref_wards where geom is not null
),

in_polygon as (  -- read from staging: a held-back row placed here is simply never joined
    select stg.row_id, min(ward_polygons.ward_code) as ward_code
    from stg_police_uk as stg
    join ward_polygons
        on st_intersects(ward_polygons.geom,
                         st_transform(st_point(stg.longitude, stg.latitude), 'EPSG:4326', 'EPSG:27700', always_xy := true))
    where stg.longitude is not null and stg.latitude is not null
    group by all
),

run_facts as (  -- the force filter first: the area's name is on few rows or none
    select exists (select 1 from ward_polygons) as has_polygons, case when exists (
        select 1 from stg_police_uk as stg
        where lower(stg.falls_within) = lower(cast(getvariable('area_name') as varchar))
          and stg.row_id not in (select row_id from int_police_uk_checked)
    ) then 'force' else 'wards' end as area_basis
),

placed as (
    select
        valid.*,
        in_polygon.ward_code as polygon_ward_code,
        lookup.ward_code as lsoa_ward_code
    from valid
    left join in_polygon using (row_id)
    left join ref_lsoa_to_ward as lookup on lookup.lsoa_code = valid.lsoa_code
),

final as (
    select
        placed.row_id,
        placed.file_id,
        placed.month_start,
        placed.crime_type,
        placed.not_notifiable,
        case
            when polygon_ward_code is not null then 'point_in_polygon'
            when lsoa_ward_code is not null then 'lsoa_best_fit'
            when (longitude is not null and run_facts.has_polygons) or lsoa_code is not null then 'outside_wards'
            else 'no_location'
        end as location_method,
        coalesce(polygon_ward_code, lsoa_ward_code) as current_ward_code,
        run_facts.area_basis,
        case run_facts.area_basis
            when 'force' then lower(placed.falls_within) = lower(cast(getvariable('area_name') as varchar))
            else coalesce(polygon_ward_code, lsoa_ward_code) is not null
        end as in_area,
        coalesce(lower(placed.falls_within) = lower(cast(getvariable('comparator_name') as varchar)), false) as in_comparator
    from placed
    cross join run_facts
)

select * from final
