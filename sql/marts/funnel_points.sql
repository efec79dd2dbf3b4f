-- funnel_points
-- Grain: one row per unit level (area | ward) x unit x theme, current period: the points and control
-- limits of a funnel plot of rate per 1,000 residents against population.
-- unique_key: unit_level, unit_name, theme
-- Areas: every area of area_comparison with residents; target = their pooled rate. Wards: the focus
-- area's current wards with residents (ward_hotspots: on the current ward set in both periods);
-- target = the pooled rate of those wards. Limits: exact Poisson quantiles of the expected count target x population, interpolated
-- (Spiegelhalter 2005; funnel_limit in pipeline/reference/areas.py), at 95% and 99.8%, as rates per 1,000.
with area_points as (
    select 'area' as unit_level, area_code as unit_code, area_name as unit_name, area_name,
           is_focus, is_neighbour, theme, cast(count as double) as count, residents as population
    from area_comparison
    where residents > 0 and areas_ranked >= 2   -- one area with residents is no comparison
),

ward_points as (  -- current wards (re-based counts can be fractional: sums of LSOA shares)
    select 'ward' as unit_level, ward_code as unit_code, ward_name as unit_name,
           getvariable('area_name') as area_name, false as is_focus, false as is_neighbour,
           theme, cast(count as double) as count, population
    from ward_hotspots
    where population > 0 and count is not null
),

points as (
    select * from area_points
    union all
    select * from ward_points
),

targets as (
    select unit_level, theme, sum(count) / sum(population) as target_rate, count(*) as units
    from points
    group by all
),

expected as (
    select points.*, targets.target_rate, targets.units, targets.target_rate * points.population as expected_count
    from points
    join targets using (unit_level, theme)
),

limits as (
    select
        *,
        1000.0 * funnel_limit(expected_count, 0.025) / population as lower_95,
        1000.0 * funnel_limit(expected_count, 0.975) / population as upper_95,
        1000.0 * funnel_limit(expected_count, 0.001) / population as lower_998,
        1000.0 * funnel_limit(expected_count, 0.999) / population as upper_998,
        1000.0 * count / population as rate
    from expected
),

final as (
    select
        unit_level,
        unit_code,
        unit_name,
        area_name,
        is_focus,
        is_neighbour,
        theme,
        (select period_label from periods where period_role = 'current') as period_label,
        count,
        population,
        round(rate, 2) as rate_per_1000,
        round(1000.0 * target_rate, 4) as target_rate_per_1000,
        round(expected_count, 2) as expected_count,
        lower_95, upper_95, lower_998, upper_998,
        case
            when rate > upper_998 then 'above_99.8'
            when rate > upper_95 then 'above_95'
            when rate < lower_998 then 'below_99.8'
            when rate < lower_95 then 'below_95'
            else 'within_95' end as funnel_position,
        units as units_in_funnel,
        'exact Poisson control limits (Spiegelhalter 2005, interpolated) around the pooled rate of the '
            || units || ' ' || unit_level || 's with residents' as definition,
        getvariable('run_id') as run_id
    from limits
    order by unit_level, theme, population
)

select * from final
