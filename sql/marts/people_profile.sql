-- people_profile
-- Grain: one row per theme x period x person role (victim | suspect) x dimension (age_band | sex |
-- ethnicity) x category, from record extracts. Unknowns are a category of their own, never dropped.
-- Every category of sql/seeds/person_categories.csv is listed for every theme, period and role the
-- extract has people for, zeros included, so no row appears or disappears with the data (a missing
-- "female" row would say every suspect was male). Ethnicity is matched to the seed's groups ignoring
-- case; another value keeps its own row here (restricted) and is counted in Other in the public tier.
-- unique_key: area_code, theme, period_role, person_role, dimension, category
with people as (
    select
        classified.theme,
        periods.period_role,
        periods.period_label,
        person.person_role,
        person.age_band,
        coalesce(person.sex, 'unknown') as sex,
        coalesce((select c.category from seed_person_categories as c
                  where c.dimension = 'ethnicity' and lower(c.category) = lower(person.ethnicity)),
                 person.ethnicity, 'unknown') as ethnicity
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

grid as (
    select themes.theme, periods.period_role, periods.period_label, roles.person_role, c.dimension, c.category
    from seed_themes as themes
    cross join periods
    cross join (values ('victim'), ('suspect')) as roles(person_role)
    cross join seed_person_categories as c
    where exists (select 1 from int_people_current as p where p.person_role = roles.person_role)
),

keyed as (
    select theme, period_role, period_label, person_role, dimension, category from grid
    union
    select theme, period_role, period_label, person_role, dimension, category from counted
),

final as (
    select
        getvariable('area_code') as area_code,
        keyed.*,
        coalesce(counted.count, 0) as count,
        pct(coalesce(counted.count, 0),
            sum(coalesce(counted.count, 0)) over (partition by theme, period_role, person_role, dimension)) as pct_of_role,
        getvariable('run_id') as run_id
    from keyed
    left join counted using (theme, period_role, period_label, person_role, dimension, category)
    order by theme, period_role, person_role, dimension, category
)

select * from final
