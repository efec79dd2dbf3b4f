-- int_police_uk_checked
-- Grain: one row per data.police.uk row read (stg_police_uk), with the first rule it fails (null = valid).
-- unique_key: source_file, source_row
-- Rules, their order, conditions and reasons: sql/seeds/quarantine_rules.csv (model int_police_uk_checked):
-- invalid_month, missing_crime_type, unknown_crime_type (not one of the 14 types in
-- seed_police_uk_crime_type_themes), invalid_coordinates (not numbers in Great Britain's ranges, or one
-- of the pair only; both blank = no location, allowed), missing_crime_ref (a notifiable type with no
-- Crime ID: only anti-social behaviour rows are published without one), duplicate_crime_id (the same
-- Crime ID on an earlier row, in file and line order: the crime counts once). `failed_rules` lists every
-- rule a row fails, in order; `quarantine_rule` is the first.
with crimes as (
    select
        source_file, source_row, crime_ref, month_start, month_raw, falls_within,
        longitude, latitude, longitude_raw, latitude_raw, lsoa_code, crime_type,
        longitude is not null or longitude_raw is not null as longitude_given,
        latitude is not null or latitude_raw is not null as latitude_given,
        'crimes' as input_table,
        cast(null as date) as source_month   -- one row per record (no month cells)
    from stg_police_uk
),

crime_types as (
    select distinct lower(crime_type) as crime_type_key, theme is null and match = 'excluded' as excluded from seed_police_uk_crime_type_themes
),

typed as (
    select crimes.*, crime_types.excluded as not_notifiable
    from crimes
    left join crime_types on crime_types.crime_type_key = lower(crimes.crime_type)
),

-- the rules' verdicts (sql/seeds/quarantine_rules.csv), rendered by pipeline/transform/rules.py
checked as (
    {{ checked_rows('typed') }}
),

final as (
    -- longitude_given and latitude_given only serve the invalid_coordinates condition
    select * exclude (longitude_given, latitude_given) from checked
)

select * from final
