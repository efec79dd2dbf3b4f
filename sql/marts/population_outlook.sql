-- population_outlook
-- Grain: one row per area x theme x projection year (reference.population_projection): the victims
-- under 25 to expect if today's victim rate for under-25s (victim_rates, current period, per Census
-- 2021 resident under 25) held while their number changed as projected. An assumption, not a forecast:
-- rates change, and the projection's own assumptions carry through. Without a projection file one row
-- per theme (projection_year null) says it is needed.
-- unique_key: area_code, theme, projection_year
with base as (
    select theme, period_label, victims, population, rate_per_1000
    from victim_rates
    where dimension = 'under_25' and population_group = 'under 25' and period_role = 'current'
),

projected as (
    select projection_year, sum(residents) filter (where under_25) as residents_u25
    from ref_population_projection
    group by all
),

final as (
    select
        getvariable('area_code') as area_code,
        getvariable('area_name') as area_name,
        base.theme,
        projected.projection_year,
        base.period_label as base_period,
        base.victims as base_victims_u25,
        base.population as base_population_u25,
        base.rate_per_1000 as base_rate_u25_per_1000,
        round(projected.residents_u25) as projected_population_u25,
        round(base.victims * projected.residents_u25 / nullif(base.population, 0), 1) as expected_victims_u25,
        round(base.victims * projected.residents_u25 / nullif(base.population, 0) - base.victims, 1) as expected_change,
        case when projected.projection_year is null
             then 'needs reference.population_projection (residents by age band x year) to project volumes'
             else 'assumption: the current period''s victim rate for under-25s (per Census 2021 resident under 25) '
                  || 'applied to the projected under-25 population; not a forecast' end as definition,
        getvariable('run_id') as run_id
    from base
    left join projected on true
)

select * from final
