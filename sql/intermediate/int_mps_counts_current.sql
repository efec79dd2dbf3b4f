-- int_mps_counts_current
-- Grain: one row per area x MPS category x month, from the newest extract covering that area and
-- month. Supersession is per area-month (not per category) so a file in the 2024+ classification
-- and one in the 2010-2023 classification never both count the same month.
-- unique_key: source_file, source_row, month_start
with valid as (
    select * exclude (failed_rules) from int_mps_counts_checked where quarantine_rule is null
),

final as (
    select
        * exclude (quarantine_rule, count_value, crime_ref),   -- crime_ref: null on counts, for the quarantine
        cast(count_value as bigint) as count
    from valid
    qualify dense_rank() over (
        partition by area_level, lower(borough_name), coalesce(ward_code, ''), month_start
        order by extract_date desc, source_file desc
    ) = 1
)

select * from final
