-- int_police_uk_checked
-- Grain: one row per data.police.uk row read (stg_police_uk), with the first rule it fails (null = valid).
-- unique_key: file_id, source_row
-- Rules, in order: invalid_month, missing_crime_type, unknown_crime_type (not one of the 14 types in
-- seed_police_uk_crime_type_themes), invalid_coordinates (not numbers in Great Britain's ranges, or one
-- of the pair only; both blank = no location, allowed), missing_crime_ref (a notifiable type with no
-- Crime ID: only anti-social behaviour rows are published without one), duplicate_crime_id (the same
-- Crime ID on an earlier row, in file and line order: the crime counts once).
with crimes as (
    select
        file_id, source_row, crime_ref, month_start, month_raw, falls_within,
        longitude, latitude, longitude_raw, latitude_raw, lsoa_code, crime_type,
        longitude is not null or longitude_raw is not null as longitude_given,
        latitude is not null or latitude_raw is not null as latitude_given
    from stg_police_uk
),

crime_types as (
    select distinct crime_type, theme is null and match = 'excluded' as excluded from seed_police_uk_crime_type_themes
),

ruled as (
    select
        crimes.*,
        crime_types.excluded as not_notifiable,
        case
            when crimes.month_start is null then 'invalid_month'
            when crimes.crime_type is null then 'missing_crime_type'
            when crime_types.crime_type is null then 'unknown_crime_type'
            when crimes.longitude_given <> crimes.latitude_given
              or (crimes.longitude_given
                  and not coalesce(crimes.latitude between 49 and 61 and crimes.longitude between -9 and 2.5, false))
                then 'invalid_coordinates'
            when crimes.crime_ref is null and not crime_types.excluded then 'missing_crime_ref'
        end as row_rule
    from crimes
    left join crime_types on lower(crime_types.crime_type) = lower(crimes.crime_type)
),

-- Repeated Crime IDs are rare: found by a grouping, then only their rows are ranked.
repeated as (
    select crime_ref from ruled where row_rule is null and crime_ref is not null
    group by crime_ref having count(*) > 1
),

later_copies as (
    select file_id, source_row
    from ruled
    where row_rule is null and crime_ref in (select crime_ref from repeated)
    qualify row_number() over (partition by crime_ref order by file_id, source_row) > 1
),

final as (
    select
        ruled.* exclude (row_rule, longitude_given, latitude_given),
        coalesce(ruled.row_rule, case when later_copies.source_row is not null then 'duplicate_crime_id' end)
            as quarantine_rule
    from ruled
    left join later_copies using (file_id, source_row)
)

select * from final
