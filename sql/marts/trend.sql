-- trend
-- Grain: one row per source x area role (area | comparator) x theme x year: the run's current period
-- and the same period in each earlier year the inputs cover in full (the MPS borough files go back to
-- April 2010), counting back from the current period until a year is not covered; never a partial year.
--   count, previous_count     the year and the year before it (null for the earliest year)
--   p_value, change_flag      exact test of the year against the year before (as in theme_summary)
--   trend_*                   on the latest year's row: over the last 3 to 5 years, the change from the
--                             first year of that window, the average annual change (log-linear fit),
--                             and trend_direction rising / falling (exact test of the latest year against
--                             the window's first, p <= significance.alpha) or no_clear_change
-- unique_key: source, area_role, theme, period_start
with current_period as (
    select * from periods where period_role = 'current'
),

offsets as (
    select
        offs.year_offset,
        cast(current_period.period_start - to_years(cast(offs.year_offset as integer)) as date) as period_start,
        cast(current_period.period_end - to_years(cast(offs.year_offset as integer)) as date) as period_end,
        current_period.period_label as current_label
    from current_period
    cross join range(0, 40) as offs(year_offset)
),

record_range as (
    select min(date_trunc('month', event_date)) as first_month, max(date_trunc('month', event_date)) as last_month
    from int_offences_current
    having count(*) > 0
),

mps_months as (
    select 'area' as area_role, month_start from int_mps_counts_current
    where area_level = 'borough' and lower(borough_name) = lower(getvariable('area_name'))
    union
    select 'comparator', month_start from int_mps_counts_current
    where area_level = 'borough' and getvariable('comparator_name') is not null
),

coverage as (
    select 'record_extract' as source, 'area' as area_role, offsets.year_offset,
           record_range.first_month <= offsets.period_start and record_range.last_month >= date_trunc('month', offsets.period_end)
               as covered
    from offsets cross join record_range
    union all
    select 'mps_counts', roles.area_role, offsets.year_offset,
           (select count(distinct month_start) from mps_months
            where mps_months.area_role = roles.area_role and month_start between offsets.period_start and offsets.period_end)
               = datediff('month', offsets.period_start, offsets.period_end) + 1
    from offsets cross join (select distinct area_role from mps_months) as roles
),

series_years as (
    select coverage.source, coverage.area_role, coverage.year_offset
    from coverage
    where coverage.covered
      and coverage.year_offset < coalesce((select min(gap.year_offset) from coverage as gap
                                           where gap.source = coverage.source and gap.area_role = coverage.area_role
                                             and not gap.covered), 40)
),

supported as (
    select 'record_extract' as source, theme from seed_themes
    union all
    select distinct 'mps_counts', theme from seed_mps_category_themes where theme is not null
),

record_counts as (
    select 'record_extract' as source, 'area' as area_role, classified.theme, offsets.year_offset, count(*) as n
    from int_offences_classified as classified
    join offsets on classified.event_date between offsets.period_start and offsets.period_end
    group by all
),

mps_counts as (
    select 'mps_counts' as source, roles.area_role, classified.theme, offsets.year_offset, sum(classified.count) as n
    from int_mps_counts_classified as classified
    cross join (values ('area'), ('comparator')) as roles(area_role)
    join offsets on classified.month_start between offsets.period_start and offsets.period_end
    where classified.area_level = 'borough'
      and ((roles.area_role = 'area' and lower(classified.borough_name) = lower(getvariable('area_name')))
           or (roles.area_role = 'comparator' and getvariable('comparator_name') is not null))
    group by all
),

counts as (
    select * from record_counts
    union all
    select * from mps_counts
),

yearly as (
    select
        series_years.source,
        series_years.area_role,
        supported.theme,
        series_years.year_offset,
        offsets.period_start,
        offsets.period_end,
        offsets.current_label,
        cast(coalesce(counts.n, 0) as bigint) as count
    from series_years
    join supported on supported.source = series_years.source
    join offsets on offsets.year_offset = series_years.year_offset
    left join counts
      on counts.source = series_years.source and counts.area_role = series_years.area_role
     and counts.theme = supported.theme and counts.year_offset = series_years.year_offset
),

paired as (
    select
        *,
        lead(count) over series as previous_count,
        lead(period_end - period_start + 1) over series as previous_days,
        period_end - period_start + 1 as days,
        count(*) over (partition by source, area_role, theme) as years_in_series
    from yearly
    window series as (partition by source, area_role, theme order by year_offset)
),

windowed as (
    select
        source,
        area_role,
        theme,
        least(max(year_offset), 4) as window_offset,
        regr_slope(case when count > 0 then ln(count) end, -year_offset) filter (where year_offset <= 4) as log_slope,
        bool_and(count > 0) filter (where year_offset <= 4) as all_positive
    from paired
    group by all
),

trend_start as (
    select windowed.*, paired.count as start_count, paired.period_start as start_period_start,
           paired.period_end as start_period_end, paired.days as start_days
    from windowed
    join paired using (source, area_role, theme)
    where paired.year_offset = windowed.window_offset
),

labelled as (
    select
        paired.*,
        case
            when regexp_full_match(current_label, '[0-9]{4}') then cast(year(period_start) as varchar)
            when regexp_full_match(current_label, '[0-9]{4}/[0-9]{2}')
                then cast(year(period_start) as varchar) || '/' || right(cast(year(period_start) + 1 as varchar), 2)
            when current_label like '12 months to %' then '12 months to ' || strftime(period_end, '%b %Y')
            else strftime(period_start, '%d %b %Y') || ' to ' || strftime(period_end, '%d %b %Y')
        end as period_label
    from paired
),

tested as (
    select
        labelled.*,
        case when previous_count is not null
             then round(exact_change_p(count, previous_count, days, previous_days), 6) end as p_value,
        case when trend_start.window_offset >= 2 and labelled.year_offset = 0 then trend_start.window_offset + 1 end
            as trend_years,
        case when trend_start.window_offset >= 2 and labelled.year_offset = 0 then trend_start.start_count end
            as trend_start_count,
        case when trend_start.window_offset >= 2 and labelled.year_offset = 0
             then exact_change_p(labelled.count, trend_start.start_count, labelled.days, trend_start.start_days) end
            as trend_p,
        case when trend_start.window_offset >= 2 and labelled.year_offset = 0 and trend_start.all_positive
             then round(100 * (exp(trend_start.log_slope) - 1), 1) end as trend_avg_annual_pct,
        trend_start.start_period_start,
        trend_start.start_period_end
    from labelled
    join trend_start using (source, area_role, theme)
),

final as (
    select
        getvariable('area_code') as area_code,
        tested.source,
        tested.area_role,
        case tested.area_role when 'area' then cast(getvariable('area_name') as varchar)
             else cast(getvariable('comparator_name') as varchar) end as area_name,
        tested.theme,
        tested.year_offset,
        tested.period_label,
        tested.period_start,
        tested.period_end,
        tested.count,
        tested.previous_count,
        tested.count - tested.previous_count as change,
        pct_change(tested.count, tested.previous_count) as pct_change,
        tested.p_value,
        change_flag(tested.count, tested.previous_count, tested.p_value, getvariable('significance_alpha')) as change_flag,
        tested.years_in_series,
        tested.trend_years,
        case when tested.trend_years is not null then (
            select l.period_label from labelled as l
            where l.source = tested.source and l.area_role = tested.area_role and l.theme = tested.theme
              and l.period_start = tested.start_period_start) end as trend_start_label,
        tested.trend_start_count,
        tested.count - tested.trend_start_count as trend_change,
        pct_change(tested.count, tested.trend_start_count) as trend_pct_change,
        tested.trend_avg_annual_pct,
        round(tested.trend_p, 6) as trend_p_value,
        case
            when tested.trend_years is null then null
            when tested.count + tested.trend_start_count < getvariable('significance_min_total') then 'too_few_to_test'
            when tested.trend_p <= getvariable('significance_alpha') and tested.count > tested.trend_start_count then 'rising'
            when tested.trend_p <= getvariable('significance_alpha') and tested.count < tested.trend_start_count then 'falling'
            else 'no_clear_change'
        end as trend_direction,
        concat_ws('; ',
            case tested.source when 'record_extract' then 'record extract, counted once per crime by ' || getvariable('date_basis') || ' date'
                 else 'MPS count files, by month of recording' end
                || case when tested.area_role = 'comparator' then ', all areas in the files' else '' end,
            'years: the current period and the same period in each earlier year the inputs cover in full',
            'trend over the last 3-5 years: exact test of the latest year against the first') as definition,
        getvariable('run_id') as run_id
    from tested
)

select * from final
