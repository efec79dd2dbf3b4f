-- knife_crime_profile
-- Grain: one row per area x category x period (the current period, with the previous one's count).
-- Categories: `knife_crime` (the knife_crime theme: the knife flag on the ONS selected offences plus
-- homicide), `knife_crime_with_injury` (those also in VWI or homicide), and one row per other theme
-- giving the knife crimes that fall in it ("most knife offences were robbery"). Themes overlap, so the
-- per-theme shares do not add to 100. Victims under 25: victims of the category's knife crimes.
-- Record extracts only: count-only inputs get one `needs_record_extract` row. change and pct_change
-- are null when the extract does not cover both periods in full (int_change_coverage); the
-- definition then says why.
-- unique_key: area_code, category, period_label
with knife as (
    select classified.crime_ref, periods.period_role
    from int_offences_classified as classified
    join periods on classified.event_date between periods.period_start and periods.period_end
    where classified.theme = 'knife_crime'
),

memberships as (
    select knife.crime_ref, knife.period_role, classified.theme as category
    from knife
    join int_offences_classified as classified on classified.crime_ref = knife.crime_ref
    where classified.theme not in ('all_crime')
    union all
    select distinct knife.crime_ref, knife.period_role, 'knife_crime_with_injury'
    from knife
    join int_offences_classified as classified on classified.crime_ref = knife.crime_ref
    where classified.theme in ('vwi', 'homicide')
),

victims as (
    select memberships.category, memberships.period_role, person.age
    from memberships
    join int_people_current as person on person.crime_ref = memberships.crime_ref and person.person_role = 'victim'
),

categories as (
    select 'knife_crime' as category, 0 as sort_order
    union all select 'knife_crime_with_injury', 1
    union all select theme, 1 + cast(sort_order as integer) from seed_themes where theme not in ('all_crime', 'knife_crime')
),

crime_counts as (
    select category,
           count(*) filter (where period_role = 'current') as count,
           count(*) filter (where period_role = 'previous') as previous_count
    from memberships group by all
),

victim_counts as (
    select category, count(*) as victims, count(age) as victims_known_age, count(*) filter (where age < 25) as victims_u25
    from victims where period_role = 'current' group by all
),

theme_counts as (
    select theme, count(*) as theme_count
    from int_offences_classified as classified
    join periods on classified.event_date between periods.period_start and periods.period_end
    where periods.period_role = 'current'
    group by all
),

has_extract as (
    select exists (select 1 from int_offences_current) as yes
),

coverage as (  -- a change is shown only when both periods are covered in full (int_change_coverage)
    select comparable, change_note
    from int_change_coverage
    where source = 'record_extract' and area_level = 'borough'
),

current_period as (
    select * from periods where period_role = 'current'
),

final as (
    select
        getvariable('area_code') as area_code,
        getvariable('area_name') as area_name,
        categories.category,
        categories.sort_order,
        current_period.period_label,
        cast(coalesce(crime_counts.count, 0) as bigint) as count,
        cast(coalesce(crime_counts.previous_count, 0) as bigint) as previous_count,
        case when coverage.comparable then coalesce(crime_counts.count, 0) - coalesce(crime_counts.previous_count, 0) end
            as change,
        case when coverage.comparable then pct_change(coalesce(crime_counts.count, 0), coalesce(crime_counts.previous_count, 0)) end
            as pct_change,
        pct(coalesce(crime_counts.count, 0), (select count from crime_counts where category = 'knife_crime'))
            as share_of_knife_crime_pct,
        theme_counts.theme_count,
        pct(coalesce(crime_counts.count, 0), theme_counts.theme_count) as knife_share_of_theme_pct,
        cast(coalesce(victim_counts.victims, 0) as bigint) as victims,
        cast(coalesce(victim_counts.victims_known_age, 0) as bigint) as victims_known_age,
        cast(coalesce(victim_counts.victims_u25, 0) as bigint) as victims_u25,
        pct(victim_counts.victims_u25, victim_counts.victims_known_age) as victims_u25_pct,
        case categories.category
            when 'knife_crime' then 'knife or sharp instrument flag on the ONS selected offences, plus homicide'
            when 'knife_crime_with_injury' then 'knife crimes that are also violence with injury or homicide'
            else 'knife crimes that are also in the theme ' || categories.category || ' (themes overlap)'
        end || '; counted by ' || getvariable('date_basis') || ' date; the knife flag''s quality varies'
            || coalesce('; ' || coverage.change_note, '') as definition,
        getvariable('run_id') as run_id
    from categories
    cross join current_period
    cross join has_extract
    left join coverage on true
    left join crime_counts on crime_counts.category = categories.category
    left join victim_counts on victim_counts.category = categories.category
    left join theme_counts on theme_counts.theme = case when categories.category = 'knife_crime_with_injury'
                                                        then 'knife_crime' else categories.category end
    where has_extract.yes
    union all
    select getvariable('area_code'), getvariable('area_name'), 'needs_record_extract', 0, current_period.period_label,
           null, null, null, null, null, null, null, null, null, null, null,
           'needs a record extract: MPS count files carry no knife flag', getvariable('run_id')
    from current_period
    cross join has_extract
    where not has_extract.yes
)

select * from final
