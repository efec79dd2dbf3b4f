-- people_profile
-- Grain: one row per theme x period x person role (victim | suspect) x dimension (age_band | sex |
-- ethnicity) x category, from record extracts. Unknowns are a category of their own, never dropped.
-- unique_key: area_code, theme, period_role, person_role, dimension, category
with people as (
    select
        classified.theme,
        periods.period_role,
        periods.period_label,
        person.person_role,
        person.age_band,
        coalesce(person.sex, 'unknown') as sex,
        coalesce(person.ethnicity, 'unknown') as ethnicity
    from int_offences_classified as classified
    join periods on classified.event_date between periods.period_start and periods.period_end
    join int_people_current as person on person.crime_ref = classified.crime_ref
),

long as (
    unpivot people on age_band, sex, ethnicity into name dimension value category
),

counted as (
    select theme, period_role, period_label, person_role, dimension, category, count(*) as count
    from long
    group by all
),

final as (
    select
        getvariable('area_code') as area_code,
        *,
        pct(count, sum(count) over (partition by theme, period_role, person_role, dimension)) as pct_of_role,
        getvariable('run_id') as run_id
    from counted
    order by theme, period_role, person_role, dimension, category
)

select * from final
