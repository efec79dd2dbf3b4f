-- mth_source_months
-- Grain: one row per source x unit level (area | comparator | ward) x month the inputs cover
-- completely, with the extract that month's counts came from.
-- unique_key: source, unit_level, month_start
--   record_extract  every month from the first recorded crime to the last month that ended before
--                   the newest extract date (a month still in progress at extraction is not complete)
--   mps_counts      every month column the files hold for the area (area, ward) or for any borough
--                   (comparator); int_mps_counts_current has already kept the newest extract per month
with record_extract as (
    select
        cast(date_trunc('month', min(event_date)) as date) as first_month,
        cast(date_trunc('month', coalesce(max(extract_date) - interval 1 month, max(event_date))) as date) as last_month,
        max(extract_date) as extract_date,
        arg_max(source_file, extract_date) as source_file
    from int_offences_current
    having count(*) > 0
),

record_months as (
    select
        'record_extract' as source,
        levels.unit_level,
        cast(months.month_start as date) as month_start,
        record_extract.extract_date,
        record_extract.source_file
    from record_extract
    cross join generate_series(record_extract.first_month, record_extract.last_month, interval 1 month) as months(month_start)
    cross join (values ('area'), ('ward')) as levels(unit_level)
    where levels.unit_level = 'area' or exists (select 1 from ref_wards)
),

mps_rows as (
    select
        case
            when area_level = 'ward' then 'ward'
            when lower(borough_name) = lower(getvariable('area_name')) then 'area'
        end as unit_level,
        month_start,
        extract_date,
        source_file
    from int_mps_counts_current
    where area_level = 'borough' or lower(borough_name) = lower(getvariable('area_name'))
),

mps_levels as (
    select * from mps_rows where unit_level is not null
    union all
    select 'comparator' as unit_level, month_start, extract_date, source_file
    from mps_rows
    where getvariable('comparator_name') is not null and unit_level is distinct from 'ward'
),

mps_months as (
    select
        'mps_counts' as source,
        unit_level,
        month_start,
        max(extract_date) as extract_date,
        arg_max(source_file, (extract_date, source_file)) as source_file
    from mps_levels
    group by all
),

final as (
    select * from record_months
    union all
    select * from mps_months
)

select * from final
