-- int_police_uk_themes
-- Grain: one row per theme a data.police.uk file can give: which crime types it counts and the
-- definition every output states for it (the limited-mode caveat from seed_caveats, and the
-- mapping notes of seed_police_uk_crime_type_themes).
-- unique_key: theme
with mapping as (
    select * from seed_police_uk_crime_type_themes where theme is not null
),

limited_mode as (
    select caveat from seed_caveats where topic = 'data.police.uk limited mode'
),

by_theme as (
    select
        theme,
        string_agg(crime_type, ', ' order by crime_type) as crime_types,
        bool_and(match = 'exact') as exact,
        string_agg(note, '; ' order by crime_type) filter (where note is not null) as notes
    from mapping
    group by theme
),

final as (
    select
        by_theme.theme,
        by_theme.crime_types,
        by_theme.exact,
        concat_ws('; ',
            case when by_theme.theme = 'all_crime'
                 then 'data.police.uk crime types: every type except Anti-social behaviour (not notifiable)'
                 else 'data.police.uk crime types: ' || by_theme.crime_types end,
            case when by_theme.exact then null else 'approximate: ' || by_theme.notes end,
            limited_mode.caveat
        ) as definition
    from by_theme
    cross join limited_mode
)

select * from final
