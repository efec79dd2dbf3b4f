-- int_mps_counts_checked
-- Grain: one row per source file x area x MPS category x month, with the first rule it fails.
with counts as (
    select * from stg_mps_counts
),

categories as (
    select distinct norm_text(major_text) as major_key, norm_text(minor_text) as minor_key
    from seed_mps_category_themes
),

final as (
    select
        counts.*,
        case
            when count_value is null then 'invalid_count'
            when count_value < 0 or count_value <> floor(count_value) then 'invalid_count'
            when not exists (
                select 1 from categories
                where categories.major_key = counts.major_key
                  and (categories.minor_key = counts.minor_key or categories.minor_key = '*')
            ) then 'unknown_mps_category'
        end as quarantine_rule
    from counts
)

select * from final
