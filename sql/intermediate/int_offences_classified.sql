-- int_offences_classified
-- Grain: one row per counted crime x theme it belongs to (themes overlap: a DA-flagged assault is
-- in all_crime, vap, vwi, domestic_abuse ...). Membership comes only from seed_ho_code_themes.
-- unique_key: crime_ref, theme
with offences as (
    select * from int_offences_current where counted
),

people as (
    select crime_ref, bool_or(age < 25) as any_person_under_25
    from int_people_current
    group by crime_ref
),

rules as (
    select theme, ho_code, coalesce(condition, '') as condition from seed_ho_code_themes
),

matched as (
    select distinct offences.crime_ref, rules.theme
    from offences
    join rules on rules.ho_code = offences.ho_code or rules.ho_code = '*'
    left join people on people.crime_ref = offences.crime_ref
    where case rules.condition
        when '' then true
        when 'domestic_abuse_flag' then coalesce(offences.domestic_abuse, false)
        when 'knife_flag' then coalesce(offences.knife, false)
        when 'person_under_25' then coalesce(people.any_person_under_25, false)
    end
),

final as (
    select
        matched.theme,
        offences.crime_ref,
        offences.event_date,
        offences.ho_code,
        offences.ward_code,
        offences.lsoa_code,
        offences.easting,
        offences.northing,
        offences.current_ward_code,
        offences.current_lsoa_code,
        offences.location_method,
        offences.x_bng,
        offences.y_bng,
        coalesce(offences.domestic_abuse, false) as domestic_abuse,
        coalesce(offences.knife, false) as knife
    from matched
    join offences on offences.crime_ref = matched.crime_ref
)

select * from final
