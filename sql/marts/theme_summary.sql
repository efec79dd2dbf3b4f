-- theme_summary  (output contract: DESIGN §6.3)
-- Grain: one row per area x theme x period (the current period, compared with the previous one), for
-- the focus area (is_focus) and every other area the run selects (`areas:`; from MPS count files).
-- The area's counts come from the record extract when there is one, else from MPS count files, else
-- from data.police.uk files (limited mode): `source` names the kind; columns a source cannot fill are
-- null and `definition` says why.
-- change, pct_change, poisson_z, p_value and change_flag are null when the source does not cover both
-- periods in full (int_period_coverage), and change_note says why.
-- unique_key: area_name, theme, period_label
with counts as (
    select * from int_theme_period_counts
),

area as (
    select *
    from counts
    where area_role in ('area', 'other_area')
    qualify row_number() over (
        partition by area_role, area_name, theme order by case source when 'record_extract' then 1 when 'mps_counts' then 2 else 3 end
    ) = 1
),

comparator as (  -- MPS count files first, else data.police.uk files of the comparator force
    select theme, source, current_count, previous_count from counts where area_role = 'comparator'
    qualify row_number() over (partition by theme order by source = 'mps_counts' desc) = 1
),

police_themes as (
    select * from int_police_uk_themes
),

all_crime as (
    select source, area_role, area_name, current_count as tno
    from counts where area_role in ('area', 'other_area') and theme = 'all_crime'
),

people as (
    select * from int_theme_people_measures where period_role = 'current'
),

current_period as (
    select * from periods where period_role = 'current'
),

coverage as (  -- the change is shown only when both periods are covered in full
    select * from int_change_coverage where area_level = 'borough'
),

compared as (
    select
        area.*,
        coalesce(change_comparable(coverage.months_covered, coverage.months_in_period,
                                   coverage.previous_months_covered, coverage.previous_months_in_period), false)
            as comparable,
        coalesce(change_note(coverage.months_covered, coverage.months_in_period,
                             coverage.previous_months_covered, coverage.previous_months_in_period),
                 case when coverage.source is null then 'change not shown: no months of the inputs for the area' end)
            as change_note
    from area
    left join coverage on coverage.source = area.source
),

themes as (
    select * from seed_themes
),

final as (
    select
        area.area_code,
        area.area_name,
        area.is_focus,
        area.theme,
        current_period.period_label,
        current_period.period_start,
        current_period.period_end,
        area.current_count as count,
        area.previous_count,
        case when area.comparable then area.current_count - area.previous_count end as change,
        case when area.comparable then pct_change(area.current_count, area.previous_count) end as pct_change,
        pct_change(comparator.current_count, comparator.previous_count) as comparator_pct_change,
        pct(area.current_count, all_crime.tno) as share_of_all_crime_pct,
        pct(people.victims_u25, people.victims_known_age) as victims_u25_pct,
        pct(people.victims - people.victims_known_age, people.victims) as victim_age_unknown_pct,
        pct(people.suspects_u25, people.suspects_known_age) as suspects_u25_pct,
        pct(people.offences_no_suspect + people.offences_suspect_age_missing, people.offences) as suspect_age_unknown_pct,
        case when area.comparable then poisson_z(area.current_count, area.previous_count) end as poisson_z,
        case when area.comparable then round(change_p_value(area.current_count, area.previous_count), 6) end as p_value,
        case when area.comparable then change_flag(area.current_count, area.previous_count,
                    change_p_value(area.current_count, area.previous_count), getvariable('significance_alpha')) end
            as change_flag,
        area.change_note,
        area.source,
        concat_ws('; ',
            'source: ' || area.source || ' (' || case area.source
                when 'record_extract' then themes.record_extract_definition
                when 'police_uk' then police_themes.definition
                else themes.mps_counts_definition end || ')',
            case area.source
                when 'record_extract' then 'counted once per crime by ' || getvariable('date_basis') || ' date'
                when 'police_uk' then 'counted once per Crime ID by month; area: ' || (
                    select any_value(area_basis) from int_police_uk_located) || ' (see int_police_uk_located)'
                else 'counted by month of recording' end,
            case
                when comparator.source = 'police_uk' then 'comparator: ' || getvariable('comparator_name')
                    || ', its rows in the data.police.uk files'
                when comparator.theme is not null then 'comparator: ' || getvariable('comparator_name')
                    || ', all areas in the MPS count files'
                else 'comparator_pct_change null: no comparator counts for this theme' end,
            case area.source
                when 'record_extract' then 'victim shares count victims with known age; suspect_age_unknown_pct = crimes with no suspect recorded or a suspect of unknown age'
                when 'police_uk' then 'victim and suspect columns null: data.police.uk files carry no ages'
                else 'victim and suspect columns null: MPS count files carry no ages' end
        ) as definition,
        getvariable('run_id') as run_id
    from compared as area
    join themes on themes.theme = area.theme
    cross join current_period
    left join comparator on comparator.theme = area.theme
    left join police_themes on police_themes.theme = area.theme
    left join all_crime
      on all_crime.source = area.source and all_crime.area_role = area.area_role and all_crime.area_name = area.area_name
    left join people on people.theme = area.theme and area.source = 'record_extract' and area.is_focus
    order by not area.is_focus, area.area_name, cast(themes.sort_order as integer)
)

select * from final
