-- int_theme_people_measures
-- Grain: one row per theme x period role (record extracts only): the crime, victim and suspect
-- counts behind every people metric. Victim shares count victims; suspect-unknown shares count crimes.
-- unique_key: theme, period_role
with crimes as (
    select classified.*, periods.period_role
    from int_offences_classified as classified
    join periods on classified.event_date between periods.period_start and periods.period_end
),

suspects_per_crime as (
    select crime_ref, count(*) as suspects, count(*) filter (where age is null) as suspects_age_missing
    from int_people_current
    where person_role = 'suspect'
    group by crime_ref
),

crime_measures as (
    select
        theme,
        period_role,
        count(*) as offences,
        count(*) filter (where crimes.domestic_abuse) as da_offences,
        count(*) filter (where crimes.knife) as knife_offences,
        count(*) filter (where coalesce(suspects_per_crime.suspects, 0) = 0) as offences_no_suspect,
        count(*) filter (where suspects_per_crime.suspects_age_missing > 0) as offences_suspect_age_missing
    from crimes
    left join suspects_per_crime on suspects_per_crime.crime_ref = crimes.crime_ref
    group by all
),

person_measures as (
    select
        crimes.theme,
        crimes.period_role,
        count(*) filter (where people.person_role = 'victim') as victims,
        count(people.age) filter (where people.person_role = 'victim') as victims_known_age,
        count(*) filter (where people.person_role = 'victim' and people.age < 25) as victims_u25,
        count(*) filter (where people.person_role = 'victim' and people.age < 18) as victims_u18,
        count(*) filter (where people.person_role = 'suspect') as suspects,
        count(people.age) filter (where people.person_role = 'suspect') as suspects_known_age,
        count(*) filter (where people.person_role = 'suspect' and people.age < 25) as suspects_u25
    from crimes
    join int_people_current as people on people.crime_ref = crimes.crime_ref
    group by all
),

final as (
    select
        crime_measures.*,
        coalesce(person_measures.victims, 0) as victims,
        coalesce(person_measures.victims_known_age, 0) as victims_known_age,
        coalesce(person_measures.victims_u25, 0) as victims_u25,
        coalesce(person_measures.victims_u18, 0) as victims_u18,
        coalesce(person_measures.suspects, 0) as suspects,
        coalesce(person_measures.suspects_known_age, 0) as suspects_known_age,
        coalesce(person_measures.suspects_u25, 0) as suspects_u25
    from crime_measures
    left join person_measures using (theme, period_role)
)

select * from final
