-- stg_mps_counts
-- Grain: one row per source file x area x MPS category x month (the wide files, unpivoted), typed.
-- unique_key: source_file, source_row, month_start
with source as (
    select * from raw_mps_counts
),

final as (
    select
        source_file,
        source_row,
        cast(extract_date as date) as extract_date,
        area_level,
        trim(borough_name) as borough_name,
        nullif(upper(trim(ward_code)), '') as ward_code,
        nullif(trim(ward_name), '') as ward_name,
        norm_text(major_text) as major_key,
        norm_text(minor_text) as minor_key,
        regexp_replace(trim(major_text), '\s+', ' ', 'g') as major_text,
        regexp_replace(trim(minor_text), '\s+', ' ', 'g') as minor_text,
        cast(try_strptime_shaped(month || '01', '%Y%m%d') as date) as month_start,  -- month: YYYYMM, checked on ingest
        try_cast(nullif(trim(count), '') as double) as count_value,
        count as count_raw
    from source
)

select * from final
