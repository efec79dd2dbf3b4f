-- mth_rolling_summary
-- Grain: one row per unit level (area | comparator | ward) x unit x theme, for the report month
-- (getvariable('report_month')): the 12 months to that month vs the 12 before, and the month vs
-- the same month a year before (never month-on-month alone). A window the inputs do not cover
-- in full is null, never a partial count.
-- unique_key: unit_level, unit_code, theme
with series as (
    select * from mth_reported_series
),

params as (
    select cast(getvariable('report_month') as date) as report_month
),

windowed as (
    select
        series.*,
        case
            when series.month_start > params.report_month - interval 12 month
             and series.month_start <= params.report_month then 'rolling'
            when series.month_start > params.report_month - interval 24 month
             and series.month_start <= params.report_month - interval 12 month then 'previous'
        end as window_role,
        series.month_start = params.report_month as is_report_month,
        series.month_start = params.report_month - interval 12 month as is_same_month_last_year
    from series
    cross join params
),

by_unit as (
    select
        source,
        unit_level,
        unit_code,
        any_value(unit_name) as unit_name,
        theme,
        sum(count) filter (where window_role = 'rolling') as rolling_n,
        count(*) filter (where window_role = 'rolling') as rolling_months,
        sum(count) filter (where window_role = 'previous') as previous_n,
        count(*) filter (where window_role = 'previous') as previous_months,
        sum(count) filter (where is_report_month) as month_n,
        sum(count) filter (where is_same_month_last_year) as same_month_n,
        max(extract_date) filter (where window_role is not null) as extract_date
    from windowed
    group by all
),

covered as (
    select
        * exclude (rolling_n, previous_n),
        case when rolling_months = 12 then rolling_n end as rolling_12m_count,
        case when previous_months = 12 then previous_n end as previous_12m_count
    from by_unit
),

comparator as (
    select theme, rolling_12m_count, previous_12m_count, month_n, same_month_n
    from covered
    where unit_level = 'comparator'
),

themes as (
    select * from seed_themes
),

final as (
    select
        getvariable('area_code') as area_code,
        getvariable('area_name') as area_name,
        params.report_month as refresh_month,
        covered.unit_level,
        covered.unit_code,
        covered.unit_name,
        covered.theme,
        themes.label as theme_label,
        cast(covered.rolling_12m_count as bigint) as rolling_12m_count,
        cast(covered.previous_12m_count as bigint) as previous_12m_count,
        cast(covered.rolling_12m_count - covered.previous_12m_count as bigint) as rolling_change,
        pct_change(covered.rolling_12m_count, covered.previous_12m_count) as rolling_pct_change,
        poisson_z(covered.rolling_12m_count, covered.previous_12m_count) as rolling_poisson_z,
        cast(covered.month_n as bigint) as month_count,
        cast(covered.same_month_n as bigint) as same_month_last_year_count,
        cast(covered.month_n - covered.same_month_n as bigint) as month_change,
        pct_change(covered.month_n, covered.same_month_n) as month_pct_change,
        pct_change(comparator.rolling_12m_count, comparator.previous_12m_count) as comparator_rolling_pct_change,
        pct_change(comparator.month_n, comparator.same_month_n) as comparator_month_pct_change,
        covered.source,
        covered.extract_date,
        concat_ws('; ',
            'source: ' || covered.source || ' (' || case covered.source
                when 'record_extract' then themes.record_extract_definition
                else themes.mps_counts_definition end || ')',
            case covered.source
                when 'record_extract' then 'counted once per crime by ' || getvariable('date_basis') || ' date'
                else 'counted by month of recording' end,
            case when covered.rolling_months < 12 or covered.previous_months < 12
                 then 'rolling counts null: the inputs cover ' || covered.rolling_months || ' of the 12 months to '
                      || strftime(params.report_month, '%b %Y') || ' and ' || covered.previous_months || ' of the 12 before' end,
            case when comparator.theme is null and covered.unit_level <> 'comparator'
                 then 'comparator columns null: no comparator counts for this theme' end
        ) as definition,
        getvariable('run_id') as run_id
    from covered
    cross join params
    join themes on themes.theme = covered.theme
    left join comparator on comparator.theme = covered.theme
    order by case covered.unit_level when 'area' then 1 when 'comparator' then 2 else 3 end,
             cast(themes.sort_order as integer), covered.unit_code
)

select * from final
