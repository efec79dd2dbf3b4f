-- theme_monthly
-- Grain: one row per source x area role x area x theme x month, for every month the inputs cover (not
-- only the two periods): the series behind trend charts and the monthly refresh.
-- area_role: 'area' = the focus area, 'other_area' = each other area the run selects (`areas:`; MPS
-- count files only), 'comparator' (area_name = the comparator's name, area_code null).
-- police_uk rows are data.police.uk files in limited mode (their definitions: int_police_uk_themes).
-- unique_key: source, area_role, area_name, theme, month_start
with focus as (
    select area_code, getvariable('area_name') as area_name from int_areas where is_focus
),

selected_areas as (
    select
        area_key,
        case when is_focus then getvariable('area_name') else area_name end as area_name,
        area_code,
        case when is_focus then 'area' else 'other_area' end as area_role
    from int_areas
    where is_selected
),

record_months as (
    select 'record_extract' as source, 'area' as area_role, focus.area_code, focus.area_name, theme,
           cast(date_trunc('month', event_date) as date) as month_start, count(*) as count
    from int_offences_classified
    cross join focus
    group by all
),

mps_months as (
    select 'mps_counts' as source, selected_areas.area_role, selected_areas.area_code, selected_areas.area_name,
           theme, month_start, cast(sum(count) as bigint) as count
    from int_mps_counts_classified
    join selected_areas on selected_areas.area_key = area_key(borough_name)
    where area_level = 'borough'
    group by all
    union all
    select 'mps_counts', 'comparator', cast(null as varchar), cast(getvariable('comparator_name') as varchar),
           theme, month_start, cast(sum(count) as bigint)
    from int_mps_counts_classified
    where area_level = 'borough' and getvariable('comparator_name') is not null
    group by all
),

police_months as (
    select 'police_uk' as source, roles.area_role,
           case roles.area_role when 'area' then (select area_code from focus) end as area_code,
           roles.area_name, theme, month_start, cast(sum(crimes) as bigint) as count
    from int_police_uk_classified
    cross join (values ('area', cast(getvariable('area_name') as varchar)),
                       ('comparator', cast(getvariable('comparator_name') as varchar)))
        as roles(area_role, area_name)
    where (roles.area_role = 'area' and in_area) or (roles.area_role = 'comparator' and in_comparator)
    group by all
),

final as (
    select *, getvariable('run_id') as run_id from record_months
    union all
    select *, getvariable('run_id') as run_id from mps_months
    union all
    select *, getvariable('run_id') as run_id from police_months
    order by source, area_role, area_name, theme, month_start
)

select * from final
