-- int_ward_period_counts
-- Grain: one row per source x current ward x theme x period role (ward_code null = crimes of the
-- area placed in no ward). Every count is on the CURRENT ward set (ref_wards):
--   record_extract  crimes placed by int_offences_located (points, else LSOA best fit, else recorded ward);
--                   harm-weighted with ONS Crime Severity Score weights where the HO code has one
--   mps_counts      ward-level MPS rows for the area on the current ward set; months the current-set
--                   files do not cover are filled by re-basing rows on the previous ward set
--                   (ref_previous_ward_weights: through LSOAs, weighted by residents) - estimates,
--                   flagged by months_rebased. A month is never taken from both ward sets.
--   police_uk       data.police.uk rows of the area placed by int_police_uk_located (point in polygon,
--                   else LSOA best fit); months_covered = the months the files hold for the area
-- months_covered < months_in_period means the inputs do not cover the period on these wards.
-- Fractional sums (harm weights, re-based counts) are summed as decimals so that a re-run gives the
-- same figures to the last digit (a sum of doubles depends on the order threads add them in).
-- unique_key: source, ward_code, theme, period_role
with periods_sized as (
    select *, datediff('month', period_start, period_end) + 1 as months_in_period from periods
),

record_crimes as (
    select classified.*, periods_sized.period_role, periods_sized.months_in_period, weights.weight
    from int_offences_classified as classified
    join periods_sized on classified.event_date between periods_sized.period_start and periods_sized.period_end
    left join ref_severity_weights as weights on weights.ho_code = classified.ho_code
),

record_counts as (
    select
        'record_extract' as source,
        current_ward_code as ward_code,
        theme,
        period_role,
        cast(count(*) as double) as count,
        sum(cast(weight as decimal(18, 6))) as harm_weighted_count,  -- exact: the same total in any order
        count(weight) as harm_weighted_crimes,
        any_value(months_in_period) as months_covered,
        0 as months_rebased
    from record_crimes
    group by all
),

area_ward_rows as (
    select ward_code, theme, month_start, count
    from int_mps_counts_classified
    where area_level = 'ward'
      and lower(borough_name) = lower(getvariable('area_name'))
      and ward_code is not null
),

mps_current as (
    select ward_code, theme, month_start, cast(count as double) as n, false as rebased
    from area_ward_rows
    where ward_code in (select ward_code from ref_wards)
),

mps_rebased as (
    select weights.ward_code, rows.theme, rows.month_start,
           cast(sum(cast(rows.count * weights.weight as decimal(18, 9))) as double) as n, true as rebased
    from area_ward_rows as rows
    join ref_previous_ward_weights as weights on weights.previous_ward_code = rows.ward_code
    where rows.ward_code not in (select ward_code from ref_wards)
    group by all
),

mps_monthly as (
    select * from mps_current
    union all
    select * from mps_rebased
    where month_start not in (select month_start from mps_current)
),

mps_coverage as (
    select
        periods_sized.period_role,
        count(distinct mps_monthly.month_start) as months_covered,
        count(distinct mps_monthly.month_start) filter (where mps_monthly.rebased) as months_rebased
    from mps_monthly
    join periods_sized on mps_monthly.month_start between periods_sized.period_start and periods_sized.period_end
    group by all
),

mps_counts as (
    select
        'mps_counts' as source,
        mps_monthly.ward_code,
        mps_monthly.theme,
        periods_sized.period_role,
        cast(sum(cast(mps_monthly.n as decimal(18, 9))) as double) as count,  -- exact sum, any order
        cast(null as decimal(38, 6)) as harm_weighted_count,
        cast(null as bigint) as harm_weighted_crimes,
        any_value(mps_coverage.months_covered) as months_covered,
        any_value(mps_coverage.months_rebased) as months_rebased
    from mps_monthly
    join periods_sized on mps_monthly.month_start between periods_sized.period_start and periods_sized.period_end
    join mps_coverage on mps_coverage.period_role = periods_sized.period_role
    group by all
),

police_rows as (
    select classified.*, periods_sized.period_role
    from int_police_uk_classified as classified
    join periods_sized on classified.month_start between periods_sized.period_start and periods_sized.period_end
    where classified.in_area
),

police_coverage as (
    select period_role, count(distinct month_start) as months_covered from police_rows group by all
),

police_counts as (
    select
        'police_uk' as source,
        police_rows.current_ward_code as ward_code,
        police_rows.theme,
        police_rows.period_role,
        cast(sum(police_rows.crimes) as double) as count,
        cast(null as double) as harm_weighted_count,
        cast(null as bigint) as harm_weighted_crimes,
        any_value(police_coverage.months_covered) as months_covered,
        0 as months_rebased
    from police_rows
    join police_coverage using (period_role)
    group by all
),

unioned as (
    select * from record_counts
    union all
    select * from mps_counts
    union all
    select * from police_counts
),

final as (
    select unioned.*, periods_sized.months_in_period
    from unioned
    join periods_sized using (period_role)
)

select * from final
