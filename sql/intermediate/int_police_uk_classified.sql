-- int_police_uk_classified
-- Grain: one row per theme x month x current ward x area x comparator membership: how many loaded
-- data.police.uk rows (int_police_uk_located) count in it (`crimes`). A type maps to its themes in
-- seed_police_uk_crime_type_themes: every notifiable type is in all_crime; Robbery also in
-- personal_robbery and Violence and sexual offences also in vap, both approximate. Anti-social
-- behaviour maps to no theme. Counted here once: the models that read it only add the counts up.
-- unique_key: theme, month_start, current_ward_code, in_area, in_comparator
with crimes as (
    select * from int_police_uk_located
),

themes as (
    select lower(crime_type) as crime_type_key, theme from seed_police_uk_crime_type_themes where theme is not null
),

by_type as (  -- counted by type first: a few thousand rows, not millions, meet the theme mapping
    select lower(crime_type) as crime_type_key, month_start, current_ward_code, in_area, in_comparator,
           count(*) as crimes
    from crimes
    group by all
),

final as (
    select
        themes.theme,
        by_type.month_start,
        by_type.current_ward_code,
        by_type.in_area,
        by_type.in_comparator,
        cast(sum(by_type.crimes) as bigint) as crimes
    from by_type
    join themes using (crime_type_key)
    group by all
)

select * from final
