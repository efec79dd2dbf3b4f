-- int_period_coverage
-- Grain: one row per source x area level (borough | ward) x period role: how many of the period's
-- months the area's inputs hold. The one definition of "covered" every mart that shows a change uses
-- (with the macros change_comparable and change_note): a change between two periods is shown only
-- when both are covered in full, so 9 months are never compared with 12.
--   record_extract  the months of the period between the first and last month of the extract's
--                   crimes (a small extract can have quiet months; it is one continuous extract)
--   mps_counts      the months with the area's rows at that level in int_mps_counts_current (ward: the
--                   ward set of the newest ward-level file, as ward_summary reads it)
--   police_uk       the months with rows placed in the area (int_police_uk_located)
-- Only sources with rows for the area appear.
-- unique_key: source, area_level, period_role
with periods_sized as (
    select *, datediff('month', period_start, period_end) + 1 as months_in_period from periods
),

record_range as (
    select min(date_trunc('month', event_date)) as first_month, max(date_trunc('month', event_date)) as last_month
    from int_offences_current
    having count(*) > 0
),

record_months as (
    select 'record_extract' as source, levels.area_level, cast(months.month_start as date) as month_start
    from record_range
    cross join range(record_range.first_month, record_range.last_month + interval 1 month, interval 1 month)
        as months(month_start)
    cross join (values ('borough'), ('ward')) as levels(area_level)
),

area_mps_rows as (
    select * from int_mps_counts_current
    where area_level in ('borough', 'ward') and lower(borough_name) = lower(getvariable('area_name'))
),

newest_ward_set as (
    select distinct ward_code from area_mps_rows
    where area_level = 'ward'
      and source_file = (select arg_max(source_file, (extract_date, source_file)) from area_mps_rows
                         where area_level = 'ward')
),

mps_months as (
    select distinct 'mps_counts' as source, area_level, month_start
    from area_mps_rows
    where area_level = 'borough' or ward_code in (select ward_code from newest_ward_set)
),

police_months as (
    select distinct 'police_uk' as source, levels.area_level, month_start
    from int_police_uk_located
    cross join (values ('borough'), ('ward')) as levels(area_level)
    where in_area
),

months as (
    select * from record_months
    union all
    select * from mps_months
    union all
    select * from police_months
),

sources as (
    select distinct source, area_level from months
),

final as (
    select
        sources.source,
        sources.area_level,
        periods_sized.period_role,
        periods_sized.months_in_period,
        count(distinct months.month_start) as months_covered
    from sources
    cross join periods_sized
    left join months
      on months.source = sources.source and months.area_level = sources.area_level
     and months.month_start between periods_sized.period_start and periods_sized.period_end
    group by all
)

select * from final
