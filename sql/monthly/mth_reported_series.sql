-- mth_reported_series
-- Grain: one row per unit level (area | comparator | ward) x unit x theme x covered month, from
-- the one source reported at that level: the record extract where there is one (it counts every
-- theme), else the MPS count files. The comparator always comes from the MPS files.
-- unique_key: unit_level, unit_code, theme, month_start
with series as (
    select * from mth_series
),

final as (
    select *
    from series
    qualify source = max(source) over (partition by unit_level)  -- 'record_extract' sorts after 'mps_counts'
)

select * from final
