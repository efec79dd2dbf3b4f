-- ward_summary
-- Grain: one row per ward (as recorded in the input) x theme, with current and previous counts.
-- Wards are as recorded: spatial re-basing onto current boundaries is done by ward_hotspots.
with record_wards as (
    select 'record_extract' as source, ward_code, cast(null as varchar) as ward_name, theme, period_role, count(*) as n
    from int_offences_classified
    join periods on event_date between period_start and period_end
    group by all
),

mps_wards as (
    select 'mps_counts' as source, ward_code, any_value(ward_name) as ward_name, theme, period_role, cast(sum(count) as bigint) as n
    from int_mps_counts_classified
    join periods on month_start between period_start and period_end
    where area_level = 'ward' and lower(borough_name) = lower(getvariable('area_name'))
    group by all
),

unioned as (
    select * from record_wards
    union all
    select * from mps_wards
),

preferred as (  -- one source per theme: the record extract when it has the theme
    select * from unioned
    qualify source = max(source) over (partition by theme)  -- 'record_extract' sorts after 'mps_counts'
),

by_ward as (
    select
        source,
        coalesce(ward_code, 'UNKNOWN') as ward_code,
        any_value(ward_name) as ward_name,
        theme,
        coalesce(sum(n) filter (where period_role = 'current'), 0) as count,
        coalesce(sum(n) filter (where period_role = 'previous'), 0) as previous_count
    from preferred
    group by all
),

final as (
    select
        getvariable('area_code') as area_code,
        by_ward.ward_code,
        by_ward.ward_name,
        by_ward.theme,
        (select period_label from periods where period_role = 'current') as period_label,
        by_ward.count,
        by_ward.previous_count,
        by_ward.count - by_ward.previous_count as change,
        pct_change(by_ward.count, by_ward.previous_count) as pct_change,
        rank() over (partition by by_ward.theme order by by_ward.count desc) as rank_in_area,
        pct(by_ward.count, sum(by_ward.count) over (partition by by_ward.theme)) as share_of_area_pct,
        by_ward.source,
        getvariable('run_id') as run_id
    from by_ward
    order by by_ward.theme, rank_in_area, by_ward.ward_code
)

select * from final
