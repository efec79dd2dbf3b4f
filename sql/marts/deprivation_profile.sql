-- deprivation_profile
-- Grain: one row per area x theme x IMD quintile x period (the current period, with the previous
-- one's count). Each current LSOA has its IMD 2019 decile (ref_imd: LSOA 2011 deciles carried to the
-- 2021 LSOAs, reference.imd and reference.lsoa11_to_lsoa21); quintile 1 = deciles 1-2, the most deprived
-- 20% of LSOAs in England. Crimes are placed in LSOAs by int_offences_located (points, else the recorded
-- LSOA); `no_lsoa` holds crimes placed in none, `no_imd` crimes in an LSOA without a decile.
--   share_of_theme_pct        the quintile's share of the theme's crimes placed in an LSOA with a decile
--   share_of_residents_pct    its share of those LSOAs' residents (Census 2021)
--   concentration_ratio       share_of_theme_pct / share_of_residents_pct (1 = in proportion to residents)
-- Without reference.imd one `needs_reference_imd` row per theme; count-only inputs: `needs_record_extract`.
-- unique_key: area_code, theme, imd_quintile, period_label
with lsoas as (
    select
        imd.lsoa_code,
        imd.imd_decile,
        cast((imd.imd_decile + 1) // 2 as varchar) as imd_quintile,
        (select sum(residents) from ref_population as p where p.lsoa_code = imd.lsoa_code) as residents
    from ref_imd as imd
),

quintiles as (
    select q.imd_quintile, q.quintile_label
    from (values ('1', 'most deprived 20% (IMD deciles 1-2)'), ('2', 'deciles 3-4'), ('3', 'deciles 5-6'),
                 ('4', 'deciles 7-8'), ('5', 'least deprived 20% (deciles 9-10)'),
                 ('no_imd', 'in an LSOA with no IMD decile'), ('no_lsoa', 'not placed in an LSOA')) as q(imd_quintile, quintile_label)
),

residents as (
    select imd_quintile, count(*) as lsoas, sum(residents) as population
    from lsoas where imd_decile is not null group by all
),

crimes as (
    select
        classified.theme,
        periods.period_role,
        case
            when classified.current_lsoa_code is null then 'no_lsoa'
            when lsoas.imd_decile is null then 'no_imd'
            else lsoas.imd_quintile
        end as imd_quintile
    from int_offences_classified as classified
    join periods on classified.event_date between periods.period_start and periods.period_end
    left join lsoas on lsoas.lsoa_code = classified.current_lsoa_code
),

counted as (
    select theme, imd_quintile,
           count(*) filter (where period_role = 'current') as count,
           count(*) filter (where period_role = 'previous') as previous_count
    from crimes group by all
),

themes as (
    select distinct theme from int_offences_classified
),

grid as (
    select themes.theme, quintiles.*
    from themes cross join quintiles
    where exists (select 1 from ref_imd)
),

measured as (
    select
        grid.*,
        coalesce(counted.count, 0) as count,
        coalesce(counted.previous_count, 0) as previous_count,
        case when grid.imd_quintile in ('1', '2', '3', '4', '5') then coalesce(residents.lsoas, 0) end as lsoas,
        case when grid.imd_quintile in ('1', '2', '3', '4', '5') then coalesce(residents.population, 0) end as population,
        sum(case when grid.imd_quintile in ('1', '2', '3', '4', '5') then coalesce(counted.count, 0) end)
            over (partition by grid.theme) as located_count,
        sum(residents.population) over (partition by grid.theme) as located_population
    from grid
    left join counted using (theme, imd_quintile)
    left join residents using (imd_quintile)
),

current_period as (
    select * from periods where period_role = 'current'
),

final as (
    select
        getvariable('area_code') as area_code,
        getvariable('area_name') as area_name,
        measured.theme,
        measured.imd_quintile,
        measured.quintile_label,
        current_period.period_label,
        cast(measured.count as bigint) as count,
        cast(measured.previous_count as bigint) as previous_count,
        cast(measured.lsoas as bigint) as lsoas,
        cast(measured.population as bigint) as population,
        case when measured.population is not null then pct(measured.count, measured.located_count) end as share_of_theme_pct,
        pct(measured.population, measured.located_population) as share_of_residents_pct,
        case when measured.population > 0 and measured.located_count > 0
             then round((1.0 * measured.count / measured.located_count) / (1.0 * measured.population / measured.located_population), 2)
        end as concentration_ratio,
        rate_per_1000(measured.count, measured.population) as rate_per_1000,
        rate_ci_lower(measured.count, measured.population) as rate_ci_lower,
        rate_ci_upper(measured.count, measured.population) as rate_ci_upper,
        'IMD 2019 deciles of the current LSOAs (LSOA 2011 -> 2021: same code, else the lookup, most deprived parent); '
            || 'crimes placed in LSOAs by point or recorded LSOA, counted by ' || getvariable('date_basis')
            || ' date; residents: Census 2021' as definition,
        getvariable('run_id') as run_id
    from measured
    cross join current_period
    union all
    select getvariable('area_code'), getvariable('area_name'), themes.theme,
           case when exists (select 1 from int_offences_current) then 'needs_reference_imd' else 'needs_record_extract' end,
           null, current_period.period_label, null, null, null, null, null, null, null, null, null, null,
           case when exists (select 1 from int_offences_current)
                then 'needs reference.imd (IMD 2019 by LSOA) to give crimes a deprivation decile'
                else 'needs a record extract: MPS borough count files carry no LSOA' end,
           getvariable('run_id')
    from (select distinct theme from int_theme_period_counts where area_role = 'area') as themes
    cross join current_period
    where not exists (select 1 from ref_imd)
)

select * from final
