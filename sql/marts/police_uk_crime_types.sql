-- police_uk_crime_types
-- Grain: one row per data.police.uk crime type x month, for the area: rows as published (each Crime ID
-- once), how many were placed on a current ward, and which svna themes the type counts in. The
-- limited-mode basis of every police_uk figure. Empty without data.police.uk input.
-- unique_key: crime_type, month_start
with located as (
    select * from int_police_uk_located where in_area
),

mapping as (
    select
        lower(crime_type) as crime_type_key,
        string_agg(theme, ', ' order by theme) filter (where theme is not null) as themes,
        string_agg(note, '; ') filter (where note is not null) as note
    from seed_police_uk_crime_type_themes
    group by all
),

final as (
    select
        located.crime_type,
        located.month_start,
        count(*) as count,
        count(located.current_ward_code) as placed_on_ward,
        count(*) filter (where located.location_method = 'no_location') as no_location,
        any_value(mapping.themes) as themes,
        concat_ws('; ', any_value(mapping.note),
                  (select caveat from seed_caveats where topic = 'data.police.uk limited mode')) as definition,
        getvariable('run_id') as run_id
    from located
    left join mapping on mapping.crime_type_key = lower(located.crime_type)
    group by located.crime_type, located.month_start
    order by located.crime_type, located.month_start
)

select * from final
