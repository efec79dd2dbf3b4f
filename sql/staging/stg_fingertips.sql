-- stg_fingertips
-- Grain: one row per Fingertips file row as read (input file x line), typed.
-- unique_key: source_file, source_row
-- Numbers are read as written (a blank Value is OHID's own suppression or a missing value: its Value
-- note says which). Time period Sortable orders the periods (e.g. 20220000 for 2022/23).
with source as (
    select * from raw_fingertips
),

renamed as (
    select
        ---------- ids
        source_file,
        source_row,
        indicator_id                                        as indicator_id_raw,
        try_cast(indicator_id as integer)                   as indicator_id,
        indicator_name,
        ---------- area
        upper(area_code)                                    as area_code,
        area_name,
        area_type,
        upper(parent_code)                                  as parent_code,
        ---------- breakdown
        coalesce(sex, 'Persons')                            as sex,
        coalesce(age, 'All ages')                           as age,
        category_type,
        category,
        ---------- period
        time_period,
        time_period_sortable                                as time_period_sortable_raw,
        try_cast(time_period_sortable as bigint)            as time_period_sortable,
        time_period_range,
        ---------- figures
        value                                               as value_raw,
        try_cast(value as double)                           as value,
        try_cast(lower_ci_95 as double)                     as lower_ci_95,
        try_cast(upper_ci_95 as double)                     as upper_ci_95,
        count                                               as count_raw,
        try_cast(count as double)                           as count,
        try_cast(denominator as double)                     as denominator,
        value_note,
        recent_trend,
        compared_to_england
    from source
)

select * from renamed
