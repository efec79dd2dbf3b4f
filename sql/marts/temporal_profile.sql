-- temporal_profile
-- Grain: one row per area x theme x period x view x bucket, both periods. Views:
--   month_of_year   crimes by month of their counting date (recorded date unless date_basis is committed);
--                   from the record extract, else from MPS count files (month of recording)
--   day_hour        day of week (1 = Monday) x hour of the committed time, aoristic weights
--                   (int_offence_hour_weights): all 168 cells, plus `time_unknown` for crimes with no
--                   committed time or a window over temporal.max_window_hours (record extracts only)
--   school_period   crimes with a victim under 18 by the committed time's day: `term_weekday` (a school
--                   day), `term_weekend`, `holiday`, from ref_term_dates (reference.term_dates, else the
--                   seed's typical English term dates); `no_term_dates` outside the dates given
-- weighted_count sums to `crimes` over a view's buckets (sql/tests/temporal_weights_sum_to_counts.sql);
-- expected_share_pct is the bucket's share of the period's time, the share if crimes were spread evenly.
-- Count-only inputs get one `needs_record_extract` row for the views that need committed times.
-- unique_key: area_code, theme, period_label, view, bucket
with area_counts as (
    select *
    from int_theme_period_counts
    where area_role = 'area'
    qualify row_number() over (partition by theme order by source = 'record_extract' desc) = 1
),

record_crimes as (
    select classified.theme, classified.crime_ref, classified.event_date, periods.period_role
    from int_offences_classified as classified
    join periods on classified.event_date between periods.period_start and periods.period_end
    join area_counts on area_counts.theme = classified.theme and area_counts.source = 'record_extract'
),

-- month of year ---------------------------------------------------------------------------------
month_counts as (
    select theme, period_role, month(event_date) as month_of_year, count(*) as n
    from record_crimes
    group by all
    union all
    select classified.theme, periods.period_role, month(classified.month_start), sum(classified.count)
    from int_mps_counts_classified as classified
    join periods on classified.month_start between periods.period_start and periods.period_end
    join area_counts on area_counts.theme = classified.theme and area_counts.source = 'mps_counts'
    where classified.area_level = 'borough' and lower(classified.borough_name) = lower(getvariable('area_name'))
    group by all
),

period_days as (
    select periods.period_role, cast(days.day as date) as day
    from periods
    cross join unnest(generate_series(periods.period_start, periods.period_end, interval 1 day)) as days(day)
),

months as (
    select period_role, month(day) as month_of_year, count(*) / sum(count(*)) over (partition by period_role) as time_share
    from period_days
    group by period_role, month(day)
),

month_view as (
    select
        area_counts.theme,
        months.period_role,
        'month_of_year' as view,
        lpad(cast(months.month_of_year as varchar), 2, '0') as bucket,
        months.month_of_year,
        cast(null as integer) as day_of_week,
        cast(null as integer) as hour_of_day,
        cast(null as varchar) as school_period,
        cast(coalesce(month_counts.n, 0) as double) as weighted_count,
        months.time_share,
        area_counts.source
    from area_counts
    cross join months
    left join month_counts
      on month_counts.theme = area_counts.theme and month_counts.period_role = months.period_role
     and month_counts.month_of_year = months.month_of_year
),

-- day of week x hour ----------------------------------------------------------------------------
weights as (
    select record_crimes.theme, record_crimes.period_role, record_crimes.crime_ref, hours.hour_start, hours.weight,
           hours.time_basis
    from record_crimes
    join int_offence_hour_weights as hours on hours.crime_ref = record_crimes.crime_ref
),

cells as (
    select period_role, isodow(day) as day_of_week, hour_of_day,
           count(*) / sum(count(*)) over (partition by period_role) as time_share
    from period_days
    cross join range(24) as hours(hour_of_day)
    group by period_role, isodow(day), hour_of_day
),

record_themes as (
    select distinct theme, period_role from area_counts cross join (select period_role from periods) as p
    where area_counts.source = 'record_extract'
),

cell_weights as (
    select theme, period_role, isodow(hour_start) as day_of_week, hour(hour_start) as hour_of_day,
           sum(cast(weight as decimal(18, 9))) as w
    from weights
    where hour_start is not null
    group by all
),

day_hour_view as (
    select
        record_themes.theme,
        record_themes.period_role,
        'day_hour' as view,
        cast(cells.day_of_week as varchar) || '-' || lpad(cast(cells.hour_of_day as varchar), 2, '0') as bucket,
        cast(null as integer) as month_of_year,
        cells.day_of_week,
        cells.hour_of_day,
        cast(null as varchar) as school_period,
        round(cast(coalesce(cell_weights.w, 0) as double), 6) as weighted_count,
        cells.time_share,
        'record_extract' as source
    from record_themes
    join cells on cells.period_role = record_themes.period_role
    left join cell_weights
      on cell_weights.theme = record_themes.theme and cell_weights.period_role = record_themes.period_role
     and cell_weights.day_of_week = cells.day_of_week and cell_weights.hour_of_day = cells.hour_of_day
    union all
    select record_themes.theme, record_themes.period_role, 'day_hour', 'time_unknown', null, null, null, null,
           cast(count(weights.crime_ref) as double), null, 'record_extract'
    from record_themes
    left join weights
      on weights.theme = record_themes.theme and weights.period_role = record_themes.period_role
     and weights.hour_start is null
    group by all
),

-- school term or holiday, victims under 18 -------------------------------------------------------
under_18_crimes as (
    select distinct crime_ref from int_people_current where person_role = 'victim' and age < 18
),

term_range as (
    select min(term_start) as first_day, max(term_end) as last_day from ref_term_dates
),

school_weights as (
    select
        weights.theme,
        weights.period_role,
        weights.weight,
        case
            when weights.hour_start is null then 'time_unknown'
            when cast(weights.hour_start as date) not between term_range.first_day and term_range.last_day
                then 'no_term_dates'
            when not exists (select 1 from ref_term_dates as terms
                             where cast(weights.hour_start as date) between terms.term_start and terms.term_end)
                then 'holiday'
            when isodow(weights.hour_start) <= 5 then 'term_weekday'
            else 'term_weekend'
        end as school_period
    from weights
    join under_18_crimes using (crime_ref)
    cross join term_range
),

school_days as (
    select
        period_days.period_role,
        case
            when period_days.day not between term_range.first_day and term_range.last_day then 'no_term_dates'
            when not exists (select 1 from ref_term_dates as terms where period_days.day between terms.term_start and terms.term_end)
                then 'holiday'
            when isodow(period_days.day) <= 5 then 'term_weekday'
            else 'term_weekend'
        end as school_period,
        count(*) as days
    from period_days
    cross join term_range
    group by all
),

school_buckets as (
    select
        roles.period_role,
        buckets.school_period,
        coalesce(school_days.days, 0) / sum(coalesce(school_days.days, 0)) over (partition by roles.period_role) as time_share
    from (select period_role from periods) as roles
    cross join (
        select school_period from (values ('term_weekday'), ('term_weekend'), ('holiday'), ('time_unknown')) as b(school_period)
        union
        select school_period from school_days
    ) as buckets
    left join school_days
      on school_days.period_role = roles.period_role and school_days.school_period = buckets.school_period
),

school_view as (
    select
        record_themes.theme,
        record_themes.period_role,
        'school_period' as view,
        school_buckets.school_period as bucket,
        cast(null as integer) as month_of_year,
        cast(null as integer) as day_of_week,
        cast(null as integer) as hour_of_day,
        school_buckets.school_period,
        round(cast(coalesce(sum(cast(school_weights.weight as decimal(18, 9))), 0) as double), 6) as weighted_count,
        case when school_buckets.school_period <> 'time_unknown' then school_buckets.time_share end as time_share,
        'record_extract' as source
    from record_themes
    join school_buckets on school_buckets.period_role = record_themes.period_role
    left join school_weights
      on school_weights.theme = record_themes.theme and school_weights.period_role = record_themes.period_role
     and school_weights.school_period = school_buckets.school_period
    group by all
),

-- count-only inputs: the views that need committed times say so ---------------------------------
needs_extract as (
    select area_counts.theme, p.period_role, v.view, 'needs_record_extract' as bucket, cast(null as integer),
           cast(null as integer), cast(null as integer), cast(null as varchar), cast(null as double), cast(null as double),
           area_counts.source
    from area_counts
    cross join (select period_role from periods) as p
    cross join (values ('day_hour'), ('school_period')) as v(view)
    where area_counts.source <> 'record_extract'
),

unioned as (
    select * from month_view
    union all
    select * from day_hour_view
    union all
    select * from school_view
    union all
    select * from needs_extract
),

crime_bases as (
    select
        weights.theme,
        weights.period_role,
        view_name as view,
        count(distinct weights.crime_ref) as crimes,
        count(distinct weights.crime_ref) filter (where weights.time_basis = 'exact') as crimes_exact,
        count(distinct weights.crime_ref) filter (where weights.time_basis = 'window') as crimes_window,
        count(distinct weights.crime_ref) filter (where weights.time_basis = 'long_window') as crimes_long_window,
        count(distinct weights.crime_ref) filter (where weights.time_basis = 'no_time') as crimes_no_time
    from weights
    cross join (values ('day_hour'), ('school_period')) as v(view_name)
    where view_name = 'day_hour' or weights.crime_ref in (select crime_ref from under_18_crimes)
    group by all
),

final as (
    select
        getvariable('area_code') as area_code,
        getvariable('area_name') as area_name,
        unioned.theme,
        unioned.period_role,
        periods.period_label,
        unioned.view,
        unioned.bucket,
        unioned.month_of_year,
        unioned.day_of_week,
        case unioned.day_of_week when 1 then 'Monday' when 2 then 'Tuesday' when 3 then 'Wednesday' when 4 then 'Thursday'
            when 5 then 'Friday' when 6 then 'Saturday' when 7 then 'Sunday' end as day_name,
        unioned.hour_of_day,
        unioned.school_period,
        unioned.weighted_count,
        case when unioned.weighted_count is not null
             then pct(unioned.weighted_count,  -- an exact sum, so re-runs round the same way
                      sum(cast(unioned.weighted_count as decimal(18, 6))) over (partition by unioned.theme, unioned.period_role, unioned.view))
        end as share_pct,
        round(100 * unioned.time_share, 2) as expected_share_pct,
        case when unioned.view = 'month_of_year'
             then cast(sum(unioned.weighted_count) over (partition by unioned.theme, unioned.period_role, unioned.view) as bigint)
             else coalesce(crime_bases.crimes, case when unioned.source = 'record_extract' then 0 end) end as crimes,
        crime_bases.crimes_exact,
        crime_bases.crimes_window,
        crime_bases.crimes_long_window,
        crime_bases.crimes_no_time,
        unioned.source,
        case
            when unioned.bucket = 'needs_record_extract'
                then 'needs a record extract: MPS count files carry no committed times or victim ages'
            when unioned.view = 'month_of_year' and unioned.source = 'record_extract'
                then 'crimes by month of their ' || getvariable('date_basis') || ' date'
            when unioned.view = 'month_of_year' then 'crimes by month of recording (MPS count files)'
            else concat_ws('; ',
                case when unioned.view = 'school_period' then 'crimes with a victim under 18' end,
                'aoristic: a committed from/to window over an hour is spread evenly over its hours; exact within an hour',
                'windows over ' || getvariable('temporal_max_window_hours') || ' hours and crimes with no committed time are time_unknown',
                case when unioned.view = 'school_period' then 'school terms: ' || (select min(source) from ref_term_dates) end)
        end as definition,
        getvariable('run_id') as run_id
    from unioned
    join periods on periods.period_role = unioned.period_role
    left join crime_bases
      on crime_bases.theme = unioned.theme and crime_bases.period_role = unioned.period_role and crime_bases.view = unioned.view
)

select * from final
