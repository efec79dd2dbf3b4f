-- core_measures
-- Grain: one row per core measure of the Serious Violence Duty (sql/seeds/core_measures.csv): homicide,
-- knife- or sharp-object-enabled serious violence (all ages and with a victim under 25), hospital
-- admissions for violence and for assault with a sharp object, side by side for the run's area.
-- unique_key: measure
-- Police measures repeat theme_summary's figures (same test, same coverage rule); the under-25 split
-- counts crimes of the theme with at least one victim under 25 (record extracts only); hospital
-- admissions come from OHID Fingertips (a published rate, its latest period against the latest one
-- before it that does not overlap it: pooled 3-year values share years with their neighbours)
-- or from a partner table (counts over the run's periods). A measure the inputs cannot give has
-- available = false and `not_available` names the data to request and from whom.
with core as (
    select *, cast(sort_order as integer) as sort_position from seed_core_measures
),

residents as (
    select sum(population) as residents, sum(population_u25) as residents_u25 from int_ward_populations
),

police as (
    select core.measure, summary.theme, summary.source, summary.count, summary.previous_count, summary.change,
           summary.pct_change, summary.p_value, summary.change_flag, summary.change_note,
           summary.comparator_pct_change, summary.definition
    from core
    join theme_summary as summary on summary.theme = core.source_key and summary.is_focus
    where core.source_type = 'police'
),

u25_crimes as (  -- crimes of the theme with at least one victim under 25, per period
    select core.measure, periods.period_role, count(distinct crimes.crime_ref) as n
    from core
    join int_offences_classified as crimes on crimes.theme = core.source_key
    join periods on crimes.event_date between periods.period_start and periods.period_end
    join int_people_current as people
        on people.crime_ref = crimes.crime_ref and people.person_role = 'victim' and people.age < 25
    where core.source_type = 'police_victims_u25'
    group by all
),

u25 as (
    select
        core.measure,
        coalesce(max(u25_crimes.n) filter (where u25_crimes.period_role = 'current'), 0) as count,
        coalesce(max(u25_crimes.n) filter (where u25_crimes.period_role = 'previous'), 0) as previous_count
    from core
    left join u25_crimes using (measure)
    where core.source_type = 'police_victims_u25'
      and exists (select 1 from int_people_current where person_role = 'victim' and age is not null)
    group by all
),

u25_compared as (
    select u25.*, coverage.comparable, coverage.change_note
    from u25
    left join int_change_coverage as coverage on coverage.source = 'record_extract' and coverage.area_level = 'borough'
),

fingertips as (
    select core.measure, health.*
    from core
    join health_indicators as health on cast(health.indicator_id as varchar) = core.source_key
    where core.source_type = 'fingertips'
    qualify row_number() over (partition by core.measure order by health.sex <> 'Persons', health.age) = 1
),

partner as (
    select core.measure, summary.*
    from core
    join partner_summary as summary on summary.measure = core.source_key
    where core.source_type = 'partner'
),

current_period as (
    select period_label from periods where period_role = 'current'
),

previous_period as (
    select period_label from periods where period_role = 'previous'
),

measured as (
    select measure, theme, source, count, previous_count, change, pct_change, p_value, change_flag, change_note,
           cast(null as double) as value, cast(null as double) as lower_ci_95, cast(null as double) as upper_ci_95,
           cast(null as varchar) as value_unit, (select period_label from current_period) as period_label,
           (select period_label from previous_period) as previous_period_label,
           case when comparator_pct_change is not null then getvariable('comparator_name') || ' % change' end as comparator,
           comparator_pct_change as comparator_value,
           cast(null as bigint) as rank_in_file, cast(null as bigint) as areas_in_file, definition
    from police
    union all
    select measure, null, 'record_extract', count, previous_count,
           case when comparable then count - previous_count end,
           case when comparable then pct_change(count, previous_count) end,
           case when comparable then round(change_p_value(count, previous_count), 6) end,
           case when comparable then change_flag(count, previous_count, change_p_value(count, previous_count),
                                                getvariable('significance_alpha')) end,
           coalesce(change_note, case when comparable is null then 'change not shown: no months of the inputs for the area' end),
           null, null, null, null, (select period_label from current_period), (select period_label from previous_period),
           null, null, null, null,
           'source: record_extract (crimes of the theme with at least one victim aged under 25 at the time)'
    from u25_compared
    union all
    select measure, null, 'fingertips', count, previous_count,
           case when count is not null and previous_count is not null then count - previous_count end,
           pct_change(count, previous_count),
           round(exact_change_p(count, previous_count, 1, 1), 6),
           change_flag(count, previous_count, exact_change_p(count, previous_count, 1, 1), getvariable('significance_alpha')),
           case when count is null or previous_count is null then 'change not shown: the Fingertips files give no count for a period before the latest that does not overlap it' end,
           value, lower_ci_95, upper_ci_95, 'published rate (Fingertips)', time_period, previous_time_period,
           'England', england_value, rank_in_file, areas_in_file, definition
    from fingertips
    union all
    select measure, null, 'partner_table', count, previous_count, change, pct_change, p_value, change_flag, change_note,
           null, null, null, null, period_label, previous_period_label, null, null, null, null, definition
    from partner
),

final as (
    select
        core.measure,
        core.label,
        core.sort_position as sort_order,
        getvariable('area_name') as area_name,
        measured.theme,
        measured.measure is not null as available,
        measured.source,
        measured.period_label,
        measured.previous_period_label,
        measured.count,
        measured.previous_count,
        measured.change,
        measured.pct_change,
        measured.p_value,
        measured.change_flag,
        measured.change_note,
        case when measured.source <> 'fingertips' then round(1000.0 * measured.count / nullif(case core.rate_base
            when 'residents' then residents.residents when 'residents_u25' then residents.residents_u25 end, 0), 3) end
            as rate_per_1000,
        measured.value,
        measured.lower_ci_95,
        measured.upper_ci_95,
        measured.value_unit,
        measured.comparator,
        measured.comparator_value,
        measured.rank_in_file,
        measured.areas_in_file,
        case when measured.measure is null then 'not available: request ' || core.request end as not_available,
        measured.definition,
        getvariable('run_id') as run_id
    from core
    cross join residents
    left join measured using (measure)
    order by core.sort_position
)

select * from final
