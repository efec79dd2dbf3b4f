-- stg_mps_counts
-- Grain: one row per source file x area x MPS category x month (the wide files, unpivoted), typed.
-- unique_key: source_file, source_row, month_start
-- The unpivoted rows repeat each category's texts and each month: both are parsed once per distinct value.
with source as (
    select * from raw_mps_counts
),

categories as (
    select
        major_text as raw_major,
        minor_text as raw_minor,
        norm_text(major_text) as major_key,
        norm_text(minor_text) as minor_key,
        regexp_replace(trim(major_text), '\s+', ' ', 'g') as major_text,
        regexp_replace(trim(minor_text), '\s+', ' ', 'g') as minor_text
    from (select distinct major_text, minor_text from source)
),

months as (
    select
        month as raw_month,
        cast(try_strptime_shaped(month || '01', '%Y%m%d') as date) as month_start  -- month: YYYYMM, checked on ingest
    from (select distinct month from source)
),

final as (
    select
        source.source_file,
        source.source_row,
        cast(source.extract_date as date) as extract_date,
        source.area_level,
        trim(source.borough_name) as borough_name,
        nullif(upper(trim(source.ward_code)), '') as ward_code,
        nullif(trim(source.ward_name), '') as ward_name,
        categories.major_key,
        categories.minor_key,
        categories.major_text,
        categories.minor_text,
        months.month_start,
        try_cast(nullif(trim(source.count), '') as double) as count_value,
        source.count as count_raw
    from source
    left join categories
        on
            source.major_text is not distinct from categories.raw_major
            and source.minor_text is not distinct from categories.raw_minor
    left join months on source.month is not distinct from months.raw_month
)

select * from final
