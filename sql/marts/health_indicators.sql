-- health_indicators
-- Grain: one row per Fingertips indicator x sex x age for the run's area (matched on its ONS code, else
-- its name): the latest time period's value with its 95% interval, OHID's recent trend and comparison
-- with England, the latest period before it that does not overlap it (a 3-year value: the one 3 years
-- earlier), and the area's rank among the areas of its type in the files.
-- unique_key: indicator_id, sex, age
-- Only whole-population rows (no Category Type) are shown; rank 1 is the highest value.
with indicator_rows as (
    select * from int_fingertips_current where category_type is null
),

area as (
    select *
    from indicator_rows
    where area_code = upper(getvariable('area_code'))
       or (area_key(area_name) = area_key(getvariable('area_name'))
           and not exists (select 1 from indicator_rows where area_code = upper(getvariable('area_code'))))
),

ranked as (  -- areas of the run's area type in the same indicator, breakdown and period
    select
        indicator_rows.indicator_id, indicator_rows.sex, indicator_rows.age, indicator_rows.time_period_sortable, indicator_rows.area_code,
        rank() over (partition by indicator_rows.indicator_id, indicator_rows.sex, indicator_rows.age, indicator_rows.time_period_sortable
                     order by indicator_rows.value desc) as rank_in_file,
        count(*) over (partition by indicator_rows.indicator_id, indicator_rows.sex, indicator_rows.age, indicator_rows.time_period_sortable) as areas_in_file
    from indicator_rows
    where indicator_rows.value is not null
      and indicator_rows.area_type in (select area_type from area)
),

periods_of_area as (
    select
        area.*,
        row_number() over (partition by indicator_id, sex, age order by time_period_sortable desc) as recency,
        -- the years a value pools ('3y'; Time period Sortable counts years in units of 10,000)
        coalesce(try_cast(regexp_extract(time_period_range, '^([0-9]+)y$', 1) as integer), 1) as range_years
    from area
),

previous_periods as (  -- the latest period that does not overlap the latest one (a 3-year value: 3 years before)
    select latest.indicator_id, latest.sex, latest.age, max(earlier.time_period_sortable) as time_period_sortable
    from periods_of_area as latest
    join periods_of_area as earlier
        on earlier.indicator_id = latest.indicator_id and earlier.sex = latest.sex and earlier.age = latest.age
        and earlier.time_period_sortable <= latest.time_period_sortable - 10000 * latest.range_years
    where latest.recency = 1
    group by all
),

england as (
    select indicator_id, sex, age, time_period_sortable, value as england_value
    from indicator_rows where area_code = 'E92000001'
),

final as (
    select
        latest.indicator_id,
        latest.indicator_name,
        latest.sex,
        latest.age,
        latest.area_code,
        latest.area_name,
        latest.time_period,
        latest.value,
        latest.lower_ci_95,
        latest.upper_ci_95,
        latest.count,
        latest.denominator,
        latest.value_note,
        earlier.time_period as previous_time_period,
        earlier.value as previous_value,
        earlier.count as previous_count,
        latest.recent_trend,
        latest.compared_to_england,
        england.england_value,
        ranked.rank_in_file,
        ranked.areas_in_file,
        'fingertips' as source,
        'source: OHID Fingertips indicator ' || latest.indicator_id || ' (' || latest.indicator_name || '), '
            || latest.time_period_range || '; rank among the ' || coalesce(ranked.areas_in_file, 0)
            || ' areas of type ' || coalesce(latest.area_type, 'unknown') || ' in the files (1 = highest)' as definition,
        getvariable('run_id') as run_id
    from periods_of_area as latest
    left join previous_periods
        on previous_periods.indicator_id = latest.indicator_id and previous_periods.sex = latest.sex
        and previous_periods.age = latest.age
    left join periods_of_area as earlier
        on earlier.indicator_id = latest.indicator_id and earlier.sex = latest.sex and earlier.age = latest.age
        and earlier.time_period_sortable = previous_periods.time_period_sortable
    left join england
        on england.indicator_id = latest.indicator_id and england.sex = latest.sex and england.age = latest.age
        and england.time_period_sortable = latest.time_period_sortable
    left join ranked
        on ranked.indicator_id = latest.indicator_id and ranked.sex = latest.sex and ranked.age = latest.age
        and ranked.time_period_sortable = latest.time_period_sortable and ranked.area_code = latest.area_code
    where latest.recency = 1
    order by latest.indicator_id, latest.sex, latest.age
)

select * from final
