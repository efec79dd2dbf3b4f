-- mth_control_limits
-- Grain: one row per unit level (area | ward) x unit x theme x month of the run-rule window (the
-- 8 months to the report month), with that month's c-chart centre and limits.
-- unique_key: unit_level, unit_code, theme, month_start
-- Centre (lambda) = mean count over the baseline: the getvariable('baseline_months') months ending the
-- month before the report month (24-36 configured; fewer when the inputs start later, never fewer than
-- getvariable('min_baseline_months')). Themes in getvariable('seasonal_themes') use the same calendar
-- month of the baseline's years instead (at least 2 of them). Limits: UCL = lambda + 3 sqrt(lambda),
-- LCL = max(0, lambda - 3 sqrt(lambda)); warning levels at 2 sqrt(lambda) (the 2-sigma run rule).
with series as (
    select * from mth_reported_series where unit_level in ('area', 'ward')
),

params as (
    select
        cast(getvariable('report_month') as date) as report_month,
        cast(getvariable('baseline_months') as integer) as baseline_months,
        cast(getvariable('min_baseline_months') as integer) as min_baseline_months,
        cast(getvariable('seasonal_themes') as varchar[]) as seasonal_themes
),

baseline as (
    select series.*
    from series
    cross join params
    where series.month_start >= params.report_month - to_months(params.baseline_months)
      and series.month_start < params.report_month
),

rule_window as (
    select series.*, list_contains(params.seasonal_themes, series.theme) as seasonal
    from series
    cross join params
    where series.month_start > params.report_month - interval 8 month
      and series.month_start <= params.report_month
),

centres as (
    select
        rule_window.unit_level,
        rule_window.unit_code,
        any_value(rule_window.unit_name) as unit_name,
        rule_window.theme,
        rule_window.month_start,
        any_value(rule_window.count) as count,
        any_value(rule_window.seasonal) as seasonal,
        avg(baseline.count) as baseline_mean,
        count(baseline.count) as baseline_values,
        min(baseline.month_start) as baseline_start,
        max(baseline.month_start) as baseline_end
    from rule_window
    left join baseline
      on baseline.unit_level = rule_window.unit_level
     and baseline.unit_code = rule_window.unit_code
     and baseline.theme = rule_window.theme
     and (not rule_window.seasonal or month(baseline.month_start) = month(rule_window.month_start))
    group by all
),

centred as (
    select
        centres.* exclude (baseline_mean),
        case when baseline_values >= case when seasonal then 2 else params.min_baseline_months end
             then baseline_mean end as centre,
        case when seasonal then 'same month of ' || baseline_values || ' earlier years'
             else baseline_values || ' months' end
            || ' (' || strftime(baseline_start, '%b %Y') || ' to ' || strftime(baseline_end, '%b %Y') || ')'
            as baseline
    from centres
    cross join params
),

final as (
    select
        * exclude (centre),
        centre,
        centre + 3 * sqrt(centre) as ucl,
        greatest(0, centre - 3 * sqrt(centre)) as lcl,
        centre + 2 * sqrt(centre) as upper_warning,
        greatest(0, centre - 2 * sqrt(centre)) as lower_warning
    from centred
)

select * from final
