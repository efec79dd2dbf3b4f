-- victim_rates
-- Grain: one row per area x theme x period x dimension x population group, both periods, from record
-- extracts. Dimensions: `age_band` (the population file's bands, e.g. Census 2021's six) and `under_25`
-- (under 25 | 25 and over). Victims count victim rows (a person on two crimes counts twice), as in
-- people_profile; victims of unknown age are a group of their own with no rate.
--   rate_per_1000, rate_ci_lower/upper  victims per 1,000 residents of the group (Census 2021 usual
--                        residents, reference.population), exact Poisson 95% interval
--   rate_ratio           disproportionality: the group's rate / the rate of the rest of the residents
--                        (the other groups of the dimension), 95% interval exp(ln RR +- 1.96 sqrt(1/a + 1/b))
--                        (a, b: victims in the group and in the rest); null ('fewer_than_10_victims')
--                        when a or b is under 10
-- Count-only inputs get one `needs_record_extract` row per theme; without a population file the
-- rates are null and `definition` says so.
-- unique_key: area_code, theme, period_label, dimension, population_group
with bands as (
    select * from ref_population_bands
),

residents as (
    select 'age_band' as dimension, bands.age_group as population_group, bands.age_from as sort_age,
           sum(population.residents) as population
    from ref_population as population
    join bands using (age_group)
    group by all
    union all
    select 'under_25', case when bands.under_25 then 'under 25' else '25 and over' end,
           case when bands.under_25 then 0 else 25 end, sum(population.residents)
    from ref_population as population
    join bands using (age_group)
    group by all
),

themes as (
    select theme from int_theme_period_counts where source = 'record_extract' and area_role = 'area'
),

victims as (
    select classified.theme, periods.period_role, person.age, person.age_band
    from int_offences_classified as classified
    join periods on classified.event_date between periods.period_start and periods.period_end
    join int_people_current as person on person.crime_ref = classified.crime_ref and person.person_role = 'victim'
),

banded as (
    select
        victims.theme,
        victims.period_role,
        case
            when victims.age is null then 'age unknown'
            when bands.age_group is not null then bands.age_group
            when not exists (select 1 from bands) then victims.age_band  -- no population file: svna's bands
            else 'outside the population bands'
        end as age_group,
        case when victims.age is null then 'age unknown' when victims.age < 25 then 'under 25' else '25 and over' end
            as u25_group
    from victims
    left join bands on victims.age between bands.age_from and coalesce(bands.age_to, 999)
),

victim_counts as (
    select theme, period_role, 'age_band' as dimension, age_group as population_group, count(*) as victims
    from banded group by all
    union all
    select theme, period_role, 'under_25', u25_group, count(*) from banded group by all
),

groups as (
    select dimension, population_group, sort_age, population from residents
    union all
    select distinct dimension, population_group, 999, cast(null as hugeint)
    from victim_counts
    where (dimension, population_group) not in (select dimension, population_group from residents)
),

grid as (
    select themes.theme, roles.period_role, groups.*
    from themes
    cross join (select period_role from periods) as roles
    cross join groups
),

counted as (
    select grid.*, coalesce(victim_counts.victims, 0) as victims
    from grid
    left join victim_counts using (theme, period_role, dimension, population_group)
    where grid.population is not null or victim_counts.victims > 0
),

with_rest as (
    select
        *,
        sum(victims) filter (where population is not null) over (partition by theme, period_role, dimension) - victims
            as rest_victims,
        sum(population) over (partition by theme, period_role, dimension) - population as rest_population
    from counted
),

ratios as (
    select
        *,
        case when victims >= 10 and rest_victims >= 10 and population > 0 and rest_population > 0
             then (victims / population) / (rest_victims / rest_population) end as rr,
        case when victims >= 10 and rest_victims >= 10
             then 1.959963984540054 * sqrt(1.0 / victims + 1.0 / rest_victims) end as rr_log_half_width
    from with_rest
),

needs_extract as (
    select theme from int_theme_period_counts
    where area_role = 'area' and source = 'mps_counts'
      and not exists (select 1 from int_theme_period_counts where source = 'record_extract')
),

final as (
    select
        getvariable('area_code') as area_code,
        getvariable('area_name') as area_name,
        ratios.theme,
        ratios.period_role,
        periods.period_label,
        ratios.dimension,
        ratios.population_group,
        ratios.sort_age,
        cast(ratios.victims as bigint) as victims,
        cast(ratios.population as bigint) as population,
        rate_per_1000(ratios.victims, ratios.population) as rate_per_1000,
        rate_ci_lower(ratios.victims, ratios.population) as rate_ci_lower,
        rate_ci_upper(ratios.victims, ratios.population) as rate_ci_upper,
        cast(ratios.rest_victims as bigint) as rest_victims,
        cast(ratios.rest_population as bigint) as rest_population,
        round(ratios.rr, 3) as rate_ratio,
        round(exp(ln(ratios.rr) - ratios.rr_log_half_width), 3) as rate_ratio_ci_lower,
        round(exp(ln(ratios.rr) + ratios.rr_log_half_width), 3) as rate_ratio_ci_upper,
        case
            when ratios.population is null then null
            when ratios.victims < 10 or ratios.rest_victims < 10 then 'fewer_than_10_victims'
            when ratios.rr is null then null
            when exp(ln(ratios.rr) - ratios.rr_log_half_width) > 1 then 'higher'
            when exp(ln(ratios.rr) + ratios.rr_log_half_width) < 1 then 'lower'
            else 'not_significant'
        end as disproportionality,
        concat_ws('; ',
            'victims of record-extract crimes by ' || getvariable('date_basis') || ' date, counted per crime',
            case when ratios.population is not null
                 then 'residents: Census 2021 usual residents (reference.population); rate ratio vs the rest of the residents, log-normal 95% interval, shown from 10 victims on each side'
                 when not exists (select 1 from ref_population)
                 then 'rates need reference.population (residents by age band)'
                 else 'no residents in this group: no rate' end,
            'rates by sex and ethnicity need a population file that gives them') as definition,
        getvariable('run_id') as run_id
    from ratios
    join periods on periods.period_role = ratios.period_role
    union all
    select getvariable('area_code'), getvariable('area_name'), needs_extract.theme, periods.period_role,
           periods.period_label, 'age_band', 'needs_record_extract', null, null, null, null, null, null, null, null,
           null, null, null, null,
           'needs a record extract: MPS count files carry no victim ages', getvariable('run_id')
    from needs_extract
    cross join periods
)

select * from final
