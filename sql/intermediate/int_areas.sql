-- int_areas
-- Grain: one row per area: every borough in the MPS borough-level count files, the focus area
-- (config `area:`) and the focus area's neighbours in the boundary file (reference.areas).
-- unique_key: area_key
-- Selection (`areas:`, run variable areas_mode): focus = the focus area only; list = it and the
-- areas named; all = every area in the inputs; neighbours = it and its neighbours. Neighbours share
-- at least neighbour_min_border_m of border, borders within neighbour_tolerance_m of each other
-- counting as shared (slivers); a point-only touch is not a neighbour (see pipeline/reference/areas.py).
-- Residents: Census 2021 LSOAs of reference.area_population, by the local authority in the LSOA
-- name ("Merton 001A"); for the focus area, else the LSOAs of reference.population.
with input_areas as (
    select area_key(borough_name) as area_key, min(borough_name) as area_name
    from int_mps_counts_current
    where area_level = 'borough'
    group by all
),

boundaries as (
    select area_key(area_name) as area_key, area_code, area_name, geom from ref_area_boundaries
),

focus_boundary as (
    select * from boundaries where area_key = area_key(getvariable('area_name'))
),

neighbours as (
    select
        boundaries.area_key,
        st_length(st_intersection(
            st_boundary(focus_boundary.geom),
            st_buffer(boundaries.geom, getvariable('neighbour_tolerance_m'))
        )) as shared_border_m
    from focus_boundary
    join boundaries
      on boundaries.area_key <> focus_boundary.area_key
     and st_dwithin(focus_boundary.geom, boundaries.geom, getvariable('neighbour_tolerance_m'))
),

named as (
    select area_key, area_name, 1 as preference from input_areas
    union all
    select area_key(getvariable('area_name')), getvariable('area_name'), 2
    union all
    select neighbours.area_key, boundaries.area_name, 3
    from neighbours join boundaries using (area_key)
    where neighbours.shared_border_m >= getvariable('neighbour_min_border_m')
),

area_list as (
    select area_key, arg_min(area_name, preference) as area_name from named group by area_key
),

lsoa_population as (
    select
        area_key(regexp_replace(lsoa_name, '\s+[0-9]{3}[A-Z]$', '')) as area_key,
        cast(sum(residents) as bigint) as residents,
        count(*) as lsoas
    from ref_area_population
    where lsoa_name is not null
    group by all
),

focus_population as (
    select cast(sum(residents) as bigint) as residents, count(distinct lsoa_code) as lsoas
    from ref_population
    having count(*) > 0
),

listed as (
    select distinct area_key(area_name) as area_key from ref_area_selection
),

flagged as (
    select
        area_list.area_key,
        boundaries.area_code as boundary_code,
        area_list.area_name,
        area_list.area_key = area_key(getvariable('area_name')) as is_focus,
        coalesce(neighbours.shared_border_m >= getvariable('neighbour_min_border_m'), false) as is_neighbour,
        round(neighbours.shared_border_m, 1) as shared_border_m,
        input_areas.area_key is not null as in_inputs,
        listed.area_key is not null as is_listed
    from area_list
    left join boundaries using (area_key)
    left join neighbours using (area_key)
    left join input_areas using (area_key)
    left join listed using (area_key)
),

final as (
    select
        flagged.area_key,
        case when flagged.is_focus  -- the code the config gives wins for the focus area
            then coalesce(nullif(getvariable('area_code'), ''), flagged.boundary_code, getvariable('area_code'))
            else flagged.boundary_code end as area_code,
        flagged.area_name,
        flagged.is_focus,
        flagged.is_neighbour,
        flagged.shared_border_m,
        flagged.in_inputs,
        flagged.is_focus or case getvariable('areas_mode')
            when 'list' then flagged.is_listed
            when 'all' then flagged.in_inputs
            when 'neighbours' then flagged.is_neighbour
            else false end as is_selected,
        coalesce(lsoa_population.residents, case when flagged.is_focus then focus_population.residents end)
            as residents,
        case
            when lsoa_population.residents is not null then 'Census 2021 usual residents, LSOAs named for the area (reference.area_population)'
            when flagged.is_focus and focus_population.residents is not null then 'the area''s LSOAs in reference.population'
            else 'residents unknown: no population for this area' end as residents_source
    from flagged
    left join lsoa_population using (area_key)
    left join focus_population on true
    order by flagged.area_name
)

select * from final
