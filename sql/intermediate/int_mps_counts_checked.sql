-- int_mps_counts_checked
-- Grain: one row per source file x area x MPS category x month, with the first rule it fails.
-- unique_key: source_file, source_row, month_start
-- A count is a whole number written with digits; an area x category x month appears once per file
-- (a repeated row would double-count): later copies are `duplicate_count_row`.
with counts as (
    select * from stg_mps_counts
),

categories as (
    select distinct norm_text(major_text) as major_key, norm_text(minor_text) as minor_key
    from seed_mps_category_themes
),

ruled as (
    select
        counts.*,
        case
            when count_value is null or not regexp_full_match(trim(count_raw), '[0-9]+(\.0+)?') then 'invalid_count'
            when not exists (
                select 1 from categories
                where categories.major_key = counts.major_key
                  and (categories.minor_key = counts.minor_key or categories.minor_key = '*')
            ) then 'unknown_mps_category'
        end as row_rule
    from counts
),

numbered as (
    select
        *,
        case when row_rule is null then row_number() over (
            partition by source_file, area_level, lower(borough_name), coalesce(ward_code, ''), major_key, minor_key,
                         month_start, row_rule is null
            order by source_row
        ) end as copy_in_file
    from ruled
),

final as (
    select
        numbered.* exclude (row_rule, copy_in_file),
        coalesce(row_rule, case when copy_in_file > 1 then 'duplicate_count_row' end) as quarantine_rule
    from numbered
)

select * from final
