-- int_mps_counts_classified
-- Grain: one row per area level x borough x ward x theme x month: the count of the theme's
-- MPS categories (mapping only from seed_mps_category_themes).
-- unique_key: area_level, borough_name, ward_code, theme, month_start
with counts as (
    select * from int_mps_counts_current
),

themes as (
    select norm_text(major_text) as major_key, norm_text(minor_text) as minor_key, theme
    from seed_mps_category_themes
    where theme is not null
),

final as (
    select
        counts.area_level,
        counts.borough_name,
        counts.ward_code,
        max(counts.ward_name) as ward_name,  -- one name per code, the same on every run
        themes.theme,
        counts.month_start,
        cast(sum(counts.count) as bigint) as count
    from counts
    join themes
      on themes.major_key = counts.major_key
     and (themes.minor_key = counts.minor_key or themes.minor_key = '*')
    group by all
)

select * from final
