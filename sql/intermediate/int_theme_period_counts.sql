-- int_theme_period_counts
-- Grain: one row per source x area role x area x theme, with the counts for the current and previous
-- periods. Every theme a source supports gets a row, with 0 where it had no crimes.
-- unique_key: source, area_role, area_name, theme
-- area_role: 'area' = the focus area (config `area:`), 'other_area' = each other area the run selects
-- (`areas:`, int_areas; MPS count files only, the one source that holds other areas), 'comparator'.
-- Record extracts count at day precision; MPS files by month of recording; data.police.uk files by
-- month (area and comparator as int_police_uk_located decides; approximate themes: int_police_uk_themes).
with focus as (
    select cast(getvariable('area_name') as varchar) as area_name
),

record_counts as (
    select 'record_extract' as source, 'area' as area_role, (select area_name from focus) as area_name,
           theme, period_role, count(*) as n
    from int_offences_classified
    join periods on event_date between period_start and period_end
    group by all
),

selected_areas as (
    select
        area_key,
        case when is_focus then getvariable('area_name') else area_name end as area_name,  -- as today for the focus
        case when is_focus then 'area' else 'other_area' end as area_role
    from int_areas
    where is_selected
),

mps_rows as (
    select selected_areas.area_role, selected_areas.area_name, classified.*
    from int_mps_counts_classified as classified
    join selected_areas on selected_areas.area_key = area_key(classified.borough_name)
    where classified.area_level = 'borough'
    union all
    select 'comparator', cast(getvariable('comparator_name') as varchar), classified.*
    from int_mps_counts_classified as classified
    where classified.area_level = 'borough' and getvariable('comparator_name') is not null
),

mps_counts as (
    select 'mps_counts' as source, area_role, area_name, theme, period_role, cast(sum(count) as bigint) as n
    from mps_rows
    join periods on month_start between period_start and period_end
    group by all
),

police_rows as (
    select roles.area_role, roles.area_name, classified.*
    from int_police_uk_classified as classified
    cross join (values ('area', cast(getvariable('area_name') as varchar)),
                       ('comparator', cast(getvariable('comparator_name') as varchar)))
        as roles(area_role, area_name)
    where (roles.area_role = 'area' and classified.in_area)
       or (roles.area_role = 'comparator' and classified.in_comparator)
),

police_counts as (
    select 'police_uk' as source, area_role, area_name, theme, period_role, cast(sum(crimes) as bigint) as n
    from police_rows
    join periods on month_start between period_start and period_end
    group by all
),

available as (
    select distinct 'record_extract' as source, 'area' as area_role, (select area_name from focus) as area_name
    from int_offences_current
    union all
    select distinct 'mps_counts' as source, area_role, area_name from mps_rows
    union all
    select distinct 'police_uk' as source, area_role, area_name from police_rows
),

area_codes as (
    select case when is_focus then 'area' else 'other_area' end as area_role, area_name, area_code from int_areas
),

supported as (
    select 'record_extract' as source, theme from seed_themes
    union all
    select distinct 'mps_counts' as source, theme from seed_mps_category_themes where theme is not null
    union all
    select 'police_uk' as source, theme from int_police_uk_themes
),

counts as (
    select * from record_counts
    union all
    select * from mps_counts
    union all
    select * from police_counts
),

final as (
    select
        available.source,
        available.area_role,
        area_codes.area_code,
        available.area_name,
        available.area_role = 'area' as is_focus,
        supported.theme,
        cast(coalesce(sum(counts.n) filter (where counts.period_role = 'current'), 0) as bigint) as current_count,
        cast(coalesce(sum(counts.n) filter (where counts.period_role = 'previous'), 0) as bigint) as previous_count
    from available
    join supported on supported.source = available.source
    left join area_codes
      on area_codes.area_role = available.area_role
     and (available.area_role = 'area' or area_codes.area_name = available.area_name)
    left join counts
      on counts.source = available.source
     and counts.area_role = available.area_role
     and counts.area_name is not distinct from available.area_name
     and counts.theme = supported.theme
    group by all
)

select * from final
