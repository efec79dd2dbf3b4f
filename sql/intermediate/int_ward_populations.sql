-- int_ward_populations
-- Grain: one row per current ward (ref_wards): usual residents, all ages and under 25, summed from
-- LSOA populations (ref_population) through the LSOA -> ward best-fit lookup (ref_lsoa_to_ward),
-- with the ward's sub-area. Populations are null when no population file is configured, and the
-- under-25 count is null when the age bands do not say who is under 25.
-- unique_key: ward_code
with wards as (
    select ward_code, ward_name from ref_wards
),

lsoa_residents as (
    select
        lsoa_code,
        sum(residents) as residents,
        sum(residents) filter (where under_25) as residents_u25,
        bool_and(under_25 is not null) as u25_known
    from ref_population
    group by lsoa_code
),

by_ward as (
    select
        lookup.ward_code,
        count(*) as lsoas,
        cast(sum(lsoa_residents.residents) as bigint) as population,
        cast(sum(coalesce(lsoa_residents.residents_u25, 0)) as bigint) as population_u25,
        bool_and(lsoa_residents.u25_known) as u25_known
    from ref_lsoa_to_ward as lookup
    join lsoa_residents on lsoa_residents.lsoa_code = lookup.lsoa_code
    group by lookup.ward_code
),

sub_areas as (
    select ward_code, sub_area from ref_sub_areas
),

final as (
    select
        wards.ward_code,
        wards.ward_name,
        case
            when sub_areas.sub_area is not null then sub_areas.sub_area
            when exists (select 1 from ref_sub_areas) then 'Unassigned'
        end as sub_area,
        by_ward.lsoas,
        by_ward.population,
        case when by_ward.u25_known then by_ward.population_u25 end as population_u25
    from wards
    left join by_ward on by_ward.ward_code = wards.ward_code
    left join sub_areas on sub_areas.ward_code = wards.ward_code
    order by wards.ward_code
)

select * from final
