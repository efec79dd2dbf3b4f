-- ward_summary
-- Grain: one row per ward (as recorded in the input) x theme, with current and previous counts.
-- Wards are as recorded: spatial re-basing onto current boundaries is done by ward_hotspots.
-- MPS ward files on different ward sets (e.g. before and after May 2022) are never mixed: only the
-- ward set of the newest ward-level extract is used. A period a source has no ward data for is
-- null, not 0. change and pct_change are null when either period is not covered in full by the
-- source's ward rows (int_period_coverage; e.g. 9 months of 2021 against 12 of 2022), and
-- change_note says why.
-- unique_key: area_code, ward_code, theme, period_label
with record_wards as (
    select 'record_extract' as source, ward_code, cast(null as varchar) as ward_name, theme, period_role, count(*) as n
    from int_offences_classified
    join periods on event_date between period_start and period_end
    group by all
),

area_ward_rows as (
    select * from int_mps_counts_current
    where area_level = 'ward' and lower(borough_name) = lower(getvariable('area_name'))
),

newest_ward_set as (
    select distinct ward_code from area_ward_rows
    where source_file = (select arg_max(source_file, (extract_date, source_file)) from area_ward_rows)
),

mps_wards as (
    select 'mps_counts' as source, ward_code, max(ward_name) as ward_name, theme, period_role, cast(sum(count) as bigint) as n
    from int_mps_counts_classified
    join periods on month_start between period_start and period_end
    where area_level = 'ward' and lower(borough_name) = lower(getvariable('area_name'))
      and ward_code in (select ward_code from newest_ward_set)
    group by all
),

unioned as (
    select * from record_wards
    union all
    select * from mps_wards
),

covered_periods as (
    select distinct source, period_role from unioned
),

preferred as (  -- one source per theme: the record extract when it has the theme
    select * from unioned
    qualify source = max(source) over (partition by theme)  -- 'record_extract' sorts after 'mps_counts'
),

by_ward as (
    select
        source,
        coalesce(ward_code, 'UNKNOWN') as ward_code,
        max(ward_name) as ward_name,
        theme,
        sum(n) filter (where period_role = 'current') as current_n,
        sum(n) filter (where period_role = 'previous') as previous_n
    from preferred
    group by all
),

coverage as (
    select * from int_change_coverage where area_level = 'ward'
),

covered as (
    select
        by_ward.*,
        change_comparable(coverage.months_covered, coverage.months_in_period,
                          coverage.previous_months_covered, coverage.previous_months_in_period) as comparable,
        change_note(coverage.months_covered, coverage.months_in_period,
                    coverage.previous_months_covered, coverage.previous_months_in_period) as change_note,
        case when current_covered.source is not null then coalesce(current_n, 0) end as count,
        case when previous_covered.source is not null then coalesce(previous_n, 0) end as previous_count
    from by_ward
    left join coverage on coverage.source = by_ward.source
    left join covered_periods as current_covered
      on current_covered.source = by_ward.source and current_covered.period_role = 'current'
    left join covered_periods as previous_covered
      on previous_covered.source = by_ward.source and previous_covered.period_role = 'previous'
),

final as (
    select
        getvariable('area_code') as area_code,
        covered.ward_code,
        covered.ward_name,
        covered.theme,
        (select period_label from periods where period_role = 'current') as period_label,
        covered.count,
        covered.previous_count,
        case when covered.comparable then covered.count - covered.previous_count end as change,
        case when covered.comparable then pct_change(covered.count, covered.previous_count) end as pct_change,
        covered.change_note,
        rank() over (partition by covered.theme order by covered.count desc nulls last) as rank_in_area,
        pct(covered.count, sum(covered.count) over (partition by covered.theme)) as share_of_area_pct,
        covered.source,
        getvariable('run_id') as run_id
    from covered
    order by covered.theme, rank_in_area, covered.ward_code
)

select * from final
