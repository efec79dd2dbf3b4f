-- int_police_uk_classified
-- Grain: one row per loaded data.police.uk row x theme it maps to (seed_police_uk_crime_type_themes:
-- every notifiable type is in all_crime; Robbery also in personal_robbery and Violence and sexual
-- offences also in vap, both approximate). Anti-social behaviour maps to no theme.
-- unique_key: source_file, source_row, theme
with crimes as (
    select * from int_police_uk_located
),

themes as (
    select crime_type, theme from seed_police_uk_crime_type_themes where theme is not null
),

final as (
    select
        themes.theme,
        crimes.source_file,
        crimes.source_row,
        crimes.month_start,
        crimes.current_ward_code,
        crimes.location_method,
        crimes.in_area,
        crimes.in_comparator
    from crimes
    join themes on lower(themes.crime_type) = lower(crimes.crime_type)
)

select * from final
