-- repeat_victimisation
-- Grain: one row per area x theme x period (both periods), from record extracts with victim ids
-- (person_ref, pseudonymised at ingest: the same person has the same reference on every crime).
--   victims                      distinct identified victims of the theme's crimes in the period
--   repeat_victims               those with two or more of the theme's crimes in the period
--   crimes_against_repeat_victims the theme's crimes in the period with a repeat victim
--   median_days_to_repeat        median, over repeat victims, of the days from their first to their
--                                second crime in the period
--   victims_repeat_within_365_days victims of the period with another of the theme's crimes in the
--                                365 days before one of their crimes in the period (earlier periods included:
--                                a victim of one crime in each of two periods counts here, not as a repeat victim)
-- status: computed | no_victim_ids (the extract gives no person references: an intelligence gap) |
-- needs_record_extract (count-only inputs)
-- unique_key: area_code, theme, period_label
with victim_crimes as (
    select distinct classified.theme, classified.crime_ref, classified.event_date, person.person_ref
    from int_offences_classified as classified
    join int_people_current as person on person.crime_ref = classified.crime_ref and person.person_role = 'victim'
),

in_period as (
    select victim_crimes.*, periods.period_role
    from victim_crimes
    join periods on victim_crimes.event_date between periods.period_start and periods.period_end
),

per_person as (
    select
        theme,
        period_role,
        person_ref,
        count(distinct crime_ref) as crimes,
        list(event_date order by event_date, crime_ref) as dates
    from in_period
    where person_ref is not null
    group by all
),

earlier as (
    select distinct later.theme, later.period_role, later.person_ref
    from in_period as later
    join victim_crimes as before
      on before.theme = later.theme and before.person_ref = later.person_ref and before.crime_ref <> later.crime_ref
     and before.event_date between later.event_date - interval 365 day and later.event_date
    where later.person_ref is not null
),

repeat_crimes as (
    select in_period.theme, in_period.period_role, count(distinct in_period.crime_ref) as crimes
    from in_period
    join per_person using (theme, period_role, person_ref)
    where per_person.crimes >= 2
    group by all
),

measures as (
    select
        theme,
        period_role,
        count(distinct person_ref) as victims,
        count(*) filter (where person_ref is null) as victim_rows_without_id,
        count(distinct crime_ref) filter (where person_ref is not null) as crimes_with_identified_victim
    from in_period
    group by all
),

people as (
    select
        per_person.theme,
        per_person.period_role,
        count(*) filter (where per_person.crimes >= 2) as repeat_victims,
        median(datediff('day', per_person.dates[1], per_person.dates[2])) filter (where per_person.crimes >= 2)
            as median_days_to_repeat,
        count(earlier.person_ref) as victims_repeat_within_365_days
    from per_person
    left join earlier using (theme, period_role, person_ref)
    group by all
),

themes as (
    select theme from int_theme_period_counts where area_role = 'area'
    qualify row_number() over (partition by theme order by source = 'record_extract' desc) = 1
      and source = 'record_extract'
),

has_ids as (
    select count(person_ref) > 0 as ids from int_people_current where person_role = 'victim'
),

record_rows as (
    select
        themes.theme,
        roles.period_role,
        case when has_ids.ids then 'computed' else 'no_victim_ids' end as status,
        case when has_ids.ids then coalesce(measures.victims, 0) end as victims,
        coalesce(measures.victim_rows_without_id, 0) as victim_rows_without_id,
        case when has_ids.ids then coalesce(people.repeat_victims, 0) end as repeat_victims,
        case when has_ids.ids then coalesce(measures.crimes_with_identified_victim, 0) end as crimes_with_identified_victim,
        case when has_ids.ids then coalesce(repeat_crimes.crimes, 0) end as crimes_against_repeat_victims,
        people.median_days_to_repeat,
        case when has_ids.ids then coalesce(people.victims_repeat_within_365_days, 0) end as victims_repeat_within_365_days
    from themes
    cross join (select period_role from periods) as roles
    cross join has_ids
    left join measures on measures.theme = themes.theme and measures.period_role = roles.period_role
    left join people on people.theme = themes.theme and people.period_role = roles.period_role
    left join repeat_crimes on repeat_crimes.theme = themes.theme and repeat_crimes.period_role = roles.period_role
),

count_rows as (
    select counts.theme, roles.period_role, 'needs_record_extract' as status, null, null, null, null, null, null, null
    from int_theme_period_counts as counts
    cross join (select period_role from periods) as roles
    where counts.area_role = 'area' and counts.theme not in (select theme from themes)
      and not exists (select 1 from int_theme_period_counts where source = 'record_extract')
),

unioned as (
    select * from record_rows
    union all
    select * from count_rows
),

final as (
    select
        getvariable('area_code') as area_code,
        getvariable('area_name') as area_name,
        unioned.theme,
        unioned.period_role,
        periods.period_label,
        unioned.status,
        cast(unioned.victims as bigint) as victims,
        cast(unioned.repeat_victims as bigint) as repeat_victims,
        pct(unioned.repeat_victims, unioned.victims) as repeat_victims_pct,
        cast(unioned.crimes_with_identified_victim as bigint) as crimes_with_identified_victim,
        cast(unioned.crimes_against_repeat_victims as bigint) as crimes_against_repeat_victims,
        pct(unioned.crimes_against_repeat_victims, unioned.crimes_with_identified_victim) as crimes_against_repeat_victims_pct,
        unioned.median_days_to_repeat,
        cast(unioned.victims_repeat_within_365_days as bigint) as victims_repeat_within_365_days,
        pct(unioned.victims_repeat_within_365_days, unioned.victims) as victims_repeat_within_365_days_pct,
        cast(unioned.victim_rows_without_id as bigint) as victim_rows_without_id,
        case unioned.status
            when 'computed' then 'victims identified by their pseudonymised reference (person_ref); crimes by '
                || getvariable('date_basis') || ' date; repeat = 2+ of the theme''s crimes in the period'
            when 'no_victim_ids' then 'intelligence gap: the extract gives no victim references, so repeat victimisation cannot be measured'
            else 'needs a record extract with victim references: MPS count files carry no victims'
        end as definition,
        getvariable('run_id') as run_id
    from unioned
    join periods on periods.period_role = unioned.period_role
)

select * from final
