-- stg_partner
-- Grain: one row per partner table row as read (input file x line), typed.
-- unique_key: source_file, source_row
-- Periods a partner table may use: a month (2023-04, 202304, 2023-04-01, Apr 2023), a calendar quarter
-- (2023 Q2, 2023-Q2), a calendar year (2023) or a year written 2023/24 that starts in the profile's
-- `year_starts` month (April: financial year; September: academic year).
with source as (
    select * from raw_partner
),

periods as (
    select
        period as raw_period,
        year_start_month,
        -- a month, parsed without strptime (macros.sql: DuckDB 1.5.5's strptime reads past short strings)
        case when month_number between 1 and 12 then make_date(month_year, month_number, 1) end as month_start,
        try_cast(regexp_extract(trim(period), '^([0-9]{4})[ -]?Q([1-4])$', 1) as integer) as quarter_year,
        try_cast(regexp_extract(trim(period), '^([0-9]{4})[ -]?Q([1-4])$', 2) as integer) as quarter,
        try_cast(regexp_extract(trim(period), '^([0-9]{4})/([0-9]{2})$', 1) as integer) as split_year,
        try_cast(regexp_extract(trim(period), '^([0-9]{4})/([0-9]{2})$', 2) as integer) as split_year_end,
        try_cast(regexp_extract(trim(period), '^([0-9]{4})$', 1) as integer) as calendar_year
    from (
        select
            period,
            year_start_month,
            coalesce(
                try_cast(regexp_extract(trim(period), '^([0-9]{4})-?([0-9]{2})(-[0-9]{2})?$', 1) as integer),
                try_cast(regexp_extract(trim(period), '^([A-Za-z]{3,9}) ([0-9]{4})$', 2) as integer)
            ) as month_year,
            coalesce(
                try_cast(regexp_extract(trim(period), '^([0-9]{4})-?([0-9]{2})(-[0-9]{2})?$', 2) as integer),
                nullif(list_position(['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov',
                                      'dec'], lower(regexp_extract(trim(period), '^([A-Za-z]{3}) ([0-9]{4})$', 1))), 0),
                nullif(list_position(['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august',
                                      'september', 'october', 'november', 'december'],
                                     lower(regexp_extract(trim(period), '^([A-Za-z]{4,9}) ([0-9]{4})$', 1))), 0)
            ) as month_number
        from (select distinct period, year_start_month from source)
    )
),

parsed_periods as (
    select
        raw_period,
        year_start_month,
        case
            when month_start is not null then month_start
            when quarter is not null then make_date(quarter_year, 3 * quarter - 2, 1)
            when split_year is not null and (split_year + 1) % 100 = split_year_end
                then make_date(split_year, year_start_month, 1)
            when calendar_year is not null then make_date(calendar_year, 1, 1)
        end as period_start,
        case
            when month_start is not null then 1
            when quarter is not null then 3
            when split_year is not null and (split_year + 1) % 100 = split_year_end then 12
            when calendar_year is not null then 12
        end as period_months
    from periods
),

final as (
    select
        ---------- ids
        source.source_file,
        source.source_row,
        source.profile,
        source.provider,
        ---------- what and where
        lower(trim(source.measure))                        as measure,
        source.area,
        upper(source.ward)                                 as ward_code,
        ---------- when
        source.period                                      as period_raw,
        parsed_periods.period_start,
        cast(parsed_periods.period_start + to_months(parsed_periods.period_months) - interval 1 day as date) as period_end,
        parsed_periods.period_months,
        ---------- breakdowns (null = not broken down)
        source.age_band,
        source.sex,
        source.weapon,
        ---------- the count
        source.count                                       as count_raw,
        case when regexp_full_match(coalesce(source.count, ''), '[0-9]+(\.0+)?')
             then cast(cast(source.count as double) as bigint) end as count_value,
        regexp_full_match(upper(coalesce(source.count, '')), '\*|C|\[C\]|X|\.\.|<\s*[0-9]+|[0-9]+\s*-\s*[0-9]+') as count_suppressed
    from source
    left join parsed_periods
        on source.period is not distinct from parsed_periods.raw_period
        and source.year_start_month = parsed_periods.year_start_month
)

select * from final
