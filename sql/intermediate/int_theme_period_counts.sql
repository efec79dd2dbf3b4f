-- int_theme_period_counts
-- Grain: one row per source x area role (area | comparator) x theme, with the counts for the
-- current and previous periods. Every theme a source supports gets a row, with 0 where it had no crimes.
-- unique_key: source, area_role, theme
-- Record extracts count at day precision; MPS files by month of recording; data.police.uk files by
-- month (area and comparator as int_police_uk_located decides; approximate themes: int_police_uk_themes).
with record_counts as (
    select 'record_extract' as source, 'area' as area_role, theme, period_role, count(*) as n
    from int_offences_classified
    join periods on event_date between period_start and period_end
    group by all
),

mps_rows as (
    select roles.area_role, classified.*
    from int_mps_counts_classified as classified
    cross join (values ('area'), ('comparator')) as roles(area_role)
    where classified.area_level = 'borough'
      and (
          (roles.area_role = 'area' and lower(classified.borough_name) = lower(getvariable('area_name')))
          or (roles.area_role = 'comparator' and getvariable('comparator_name') is not null)
      )
),

mps_counts as (
    select 'mps_counts' as source, area_role, theme, period_role, cast(sum(count) as bigint) as n
    from mps_rows
    join periods on month_start between period_start and period_end
    group by all
),

police_rows as (
    select roles.area_role, classified.*
    from int_police_uk_classified as classified
    cross join (values ('area'), ('comparator')) as roles(area_role)
    where (roles.area_role = 'area' and classified.in_area)
       or (roles.area_role = 'comparator' and classified.in_comparator)
),

police_counts as (
    select 'police_uk' as source, area_role, theme, period_role, count(*) as n
    from police_rows
    join periods on month_start between period_start and period_end
    group by all
),

available as (
    select distinct 'record_extract' as source, 'area' as area_role from int_offences_current
    union all
    select distinct 'mps_counts' as source, area_role from mps_rows
    union all
    select distinct 'police_uk' as source, area_role from police_rows
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
        supported.theme,
        cast(coalesce(sum(counts.n) filter (where counts.period_role = 'current'), 0) as bigint) as current_count,
        cast(coalesce(sum(counts.n) filter (where counts.period_role = 'previous'), 0) as bigint) as previous_count
    from available
    join supported on supported.source = available.source
    left join counts
      on counts.source = available.source
     and counts.area_role = available.area_role
     and counts.theme = supported.theme
    group by all
)

select * from final
