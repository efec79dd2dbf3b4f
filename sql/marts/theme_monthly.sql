-- theme_monthly
-- Grain: one row per source x area role (area | comparator) x theme x month, for every month the
-- inputs cover (not only the two periods): the series behind trend charts and the monthly refresh.
-- police_uk rows are data.police.uk files in limited mode (their definitions: int_police_uk_themes).
-- unique_key: source, area_role, theme, month_start
with record_months as (
    select 'record_extract' as source, 'area' as area_role, theme,
           cast(date_trunc('month', event_date) as date) as month_start, count(*) as count
    from int_offences_classified
    group by all
),

mps_months as (
    select 'mps_counts' as source, roles.area_role, theme, month_start, cast(sum(count) as bigint) as count
    from int_mps_counts_classified
    cross join (values ('area'), ('comparator')) as roles(area_role)
    where area_level = 'borough'
      and ((roles.area_role = 'area' and lower(borough_name) = lower(getvariable('area_name')))
           or (roles.area_role = 'comparator' and getvariable('comparator_name') is not null))
    group by all
),

police_months as (
    select 'police_uk' as source, roles.area_role, theme, month_start, count(*) as count
    from int_police_uk_classified
    cross join (values ('area'), ('comparator')) as roles(area_role)
    where (roles.area_role = 'area' and in_area) or (roles.area_role = 'comparator' and in_comparator)
    group by all
),

final as (
    select *, getvariable('run_id') as run_id from record_months
    union all
    select *, getvariable('run_id') as run_id from mps_months
    union all
    select *, getvariable('run_id') as run_id from police_months
    order by source, area_role, theme, month_start
)

select * from final
