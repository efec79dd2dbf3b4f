-- mth_exceptions
-- Grain: one row per unit level (area | ward) x unit x theme x rule that fired in the report month.
-- unique_key: unit_level, unit_code, theme, rule
-- Rules on the c-chart of mth_control_limits (centre > 0; a series with no crimes in its baseline
-- has no spread to judge against):
--   above_upper_limit / below_lower_limit      the month is outside UCL / LCL. Ward series are screened
--       many at once, so there the month must also pass Benjamini-Hochberg across the area's wards
--       (per theme and direction) at getvariable('fdr_alpha'), on the Poisson tail p-value vs the centre
--   eight_above_centre / eight_below_centre    the 8 months to the report month all on one side of the centre
--   two_of_three_above_warning / ..._below_... the report month and at least 1 of the 2 before it beyond
--       the 2-sigma warning level on the same side
-- The run rules (eight_..., two_of_three_...) need a centre of at least getvariable('run_rule_min_mean')
-- crimes a month (1 when unset): on a rarer series (homicide in a ward: a mean of 0.2) most months are 0,
-- so "8 months below the usual level" is what a quiet series always does, and a level of "0.0" means
-- nothing to a reader. Such a series is judged on the control limits alone (a single month far out).
with limits as (
    select * from mth_control_limits
),

params as (
    select cast(getvariable('report_month') as date) as report_month, cast(getvariable('fdr_alpha') as double) as fdr_alpha,
           coalesce(cast(getvariable('run_rule_min_mean') as double), 1.0) as run_rule_min_mean
),

reported as (
    select limits.*, poisson_upper_p(limits.count, limits.centre) as p_upper,
           poisson_lower_p(limits.count, limits.centre) as p_lower
    from limits
    cross join params
    where limits.month_start = params.report_month and limits.centre > 0
),

ranked as (
    select
        *,
        row_number() over (partition by unit_level, theme order by p_upper) as rank_upper,
        row_number() over (partition by unit_level, theme order by p_lower) as rank_lower,
        count(*) over (partition by unit_level, theme) as tests
    from reported
),

adjusted as (  -- Benjamini-Hochberg: q = min over ranks >= i of p x m / rank
    select
        *,
        least(1, min(p_upper * tests / rank_upper) over (
            partition by unit_level, theme order by rank_upper desc rows between unbounded preceding and current row)) as q_upper,
        least(1, min(p_lower * tests / rank_lower) over (
            partition by unit_level, theme order by rank_lower desc rows between unbounded preceding and current row)) as q_lower
    from ranked
),

runs as (
    select
        limits.unit_level,
        limits.unit_code,
        limits.theme,
        count(*) filter (where limits.centre is not null) as window_months,
        count(*) filter (where limits.count > limits.centre) as months_above,
        count(*) filter (where limits.count < limits.centre) as months_below,
        count(*) filter (where limits.month_start > params.report_month - interval 3 month
                         and limits.count > limits.upper_warning) as recent_above_warning,
        count(*) filter (where limits.month_start > params.report_month - interval 3 month
                         and limits.count < limits.lower_warning) as recent_below_warning,
        min(limits.month_start) as window_start
    from limits
    cross join params
    group by all
),

tested as (
    select adjusted.*, runs.* exclude (unit_level, unit_code, theme)
    from adjusted
    join runs using (unit_level, unit_code, theme)
),

run_ruled as (  -- the series busy enough for run rules (see the header)
    select tested.* from tested where tested.centre >= (select run_rule_min_mean from params)
),

fired as (
    select *, 'above_upper_limit' as rule, 'increase' as direction from tested
    where count > ucl and (unit_level <> 'ward' or q_upper <= (select fdr_alpha from params))
    union all
    select *, 'below_lower_limit', 'decrease' from tested
    where lcl > 0 and count < lcl and (unit_level <> 'ward' or q_lower <= (select fdr_alpha from params))
    union all
    select *, 'eight_above_centre', 'increase' from run_ruled where window_months = 8 and months_above = 8
    union all
    select *, 'eight_below_centre', 'decrease' from run_ruled where window_months = 8 and months_below = 8
    union all
    select *, 'two_of_three_above_warning', 'increase' from run_ruled
    where count > upper_warning and recent_above_warning >= 2
    union all
    select *, 'two_of_three_below_warning', 'decrease' from run_ruled
    where count < lower_warning and recent_below_warning >= 2
),

themes as (
    select * from seed_themes
),

final as (
    select
        getvariable('area_code') as area_code,
        fired.month_start as refresh_month,
        fired.unit_level,
        fired.unit_code,
        fired.unit_name,
        fired.theme,
        fired.rule,
        fired.direction,
        fired.count,
        round(fired.centre, 2) as centre,
        round(fired.ucl, 2) as ucl,
        round(fired.lcl, 2) as lcl,
        case when fired.direction = 'increase' then fired.p_upper else fired.p_lower end as p_value,
        case when fired.unit_level = 'ward'
             then case when fired.direction = 'increase' then fired.q_upper else fired.q_lower end end as q_value,
        fired.baseline,
        themes.label || ' in ' || fired.unit_name || ': ' || case fired.rule
            when 'above_upper_limit' then fired.count || ' in ' || strftime(fired.month_start, '%B %Y')
                || case when floor(fired.ucl) = 0 then ', where a month usually has none'
                        else ', above the usual range of up to ' || cast(floor(fired.ucl) as bigint) end
            when 'below_lower_limit' then fired.count || ' in ' || strftime(fired.month_start, '%B %Y')
                || ', below the usual range of at least ' || cast(ceil(fired.lcl) as bigint)
            when 'eight_above_centre' then 'above the usual level of ' || round(fired.centre, 1)
                || ' a month for 8 months in a row (' || strftime(fired.window_start, '%B %Y') || ' to '
                || strftime(fired.month_start, '%B %Y') || ')'
            when 'eight_below_centre' then 'below the usual level of ' || round(fired.centre, 1)
                || ' a month for 8 months in a row (' || strftime(fired.window_start, '%B %Y') || ' to '
                || strftime(fired.month_start, '%B %Y') || ')'
            when 'two_of_three_above_warning' then fired.count || ' in ' || strftime(fired.month_start, '%B %Y')
                || ', one of ' || fired.recent_above_warning || ' of the last 3 months above '
                || cast(floor(fired.upper_warning) as bigint)
                || ' (the upper warning level)'
            else fired.count || ' in ' || strftime(fired.month_start, '%B %Y')
                || ', one of ' || fired.recent_below_warning || ' of the last 3 months below '
                || cast(ceil(fired.lower_warning) as bigint)
                || ' (the lower warning level)'
        end as reason,
        getvariable('run_id') as run_id
    from fired
    join themes on themes.theme = fired.theme
    order by case fired.unit_level when 'area' then 1 else 2 end, cast(themes.sort_order as integer),
             fired.unit_code, fired.rule
)

select * from final
