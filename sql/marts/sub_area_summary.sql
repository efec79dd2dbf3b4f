-- sub_area_summary
-- Grain: one row per sub-area (ref_sub_areas, e.g. East/West) x theme, for the current period
-- compared with the previous one, on current wards (summed from ward_hotspots, so the same counts).
--   share_of_located_pct       the sub-area's share of the theme's crimes placed in a ward
--   residents_share_pct        its share of the area's usual residents
--   residents_u25_share_pct    its share of the area's residents aged under 25 ("53% of residents
--                              under 25 live in the east")
-- Empty when no sub-area lookup is configured. change_note: why a change is not shown (as ward_hotspots).
-- unique_key: area_code, sub_area, theme, period_label
with wards as (
    select * from int_ward_populations where sub_area is not null
),

hotspots as (
    select * from ward_hotspots
),

by_sub_area as (
    select
        wards.sub_area,
        hotspots.theme,
        hotspots.period_label,
        count(*) as wards,
        sum(hotspots.count) as count,
        sum(hotspots.previous_count) as previous_count,
        sum(wards.population) as population,
        sum(wards.population_u25) as population_u25,
        bool_or(hotspots.count is null) as count_missing,
        bool_or(hotspots.previous_count is null) as previous_missing,
        bool_or(wards.population_u25 is null) as u25_missing,
        max(hotspots.change_note) as change_note  -- one per theme: every ward has the source's coverage
    from hotspots
    join wards on wards.ward_code = hotspots.ward_code
    group by all
),

final as (
    select
        getvariable('area_code') as area_code,
        sub_area,
        theme,
        period_label,
        wards,
        case when not count_missing then cast(count as bigint) end as count,
        case when not previous_missing then cast(previous_count as bigint) end as previous_count,
        case when not (count_missing or previous_missing) then cast(count - previous_count as bigint) end as change,
        case when not (count_missing or previous_missing) then pct_change(count, previous_count) end as pct_change,
        case when not count_missing then pct(count, sum(count) over (partition by theme)) end as share_of_located_pct,
        cast(population as bigint) as population,
        case when not u25_missing then cast(population_u25 as bigint) end as population_u25,
        pct(population, sum(population) over (partition by theme)) as residents_share_pct,
        case when not u25_missing then pct(population_u25, sum(population_u25) over (partition by theme)) end
            as residents_u25_share_pct,
        case when not count_missing then rate_per_1000(count, population) end as rate_per_1000,
        case when not count_missing then rate_ci_lower(count, population) end as rate_ci_lower,
        case when not count_missing then rate_ci_upper(count, population) end as rate_ci_upper,
        case when not (count_missing or previous_missing) then poisson_z(count, previous_count) end as poisson_z,
        case when not (count_missing or previous_missing)
             then round(change_p_value(count, previous_count), 6) end as p_value,
        case when not (count_missing or previous_missing)
             then change_flag(count, previous_count, change_p_value(count, previous_count),
                              getvariable('significance_alpha')) end as change_flag,
        change_note,
        getvariable('run_id') as run_id
    from by_sub_area
    order by theme, sub_area
)

select * from final
