-- area_comparison
-- Grain: one row per area x theme x period: every area in the MPS borough-level count files, the
-- current period compared with the previous one, with its rate, its rank among all areas and its share
-- of the comparator (the sum over all areas, as theme_summary's comparator).
-- unique_key: area_name, theme, period_label
-- rate_rank: 1 = highest rate per 1,000 residents among the areas with residents (areas_ranked of them);
-- areas without residents (e.g. the airports) have no rate and no rank. Change flags use the same exact
-- test as theme_summary (change_p_value, change_flag). Every change column is null when the count files
-- do not cover both periods in full for the focus area (int_change_coverage: all areas come from the
-- same files); the definition then says why.
with areas as (
    select * from int_areas where in_inputs
),

counts as (
    select
        area_key(classified.borough_name) as area_key,
        classified.theme,
        cast(sum(classified.count) filter (where periods.period_role = 'current') as bigint) as current_n,
        cast(sum(classified.count) filter (where periods.period_role = 'previous') as bigint) as previous_n
    from int_mps_counts_classified as classified
    join periods on classified.month_start between periods.period_start and periods.period_end
    where classified.area_level = 'borough'
    group by all
),

themes as (
    select distinct theme from seed_mps_category_themes where theme is not null
),

area_themes as (  -- every area x theme, 0 where an area had no crimes of the theme
    select
        areas.*,
        themes.theme,
        coalesce(counts.current_n, 0) as count,
        coalesce(counts.previous_n, 0) as previous_count
    from areas
    cross join themes
    left join counts on counts.area_key = areas.area_key and counts.theme = themes.theme
    where exists (select 1 from counts)
),

comparator as (
    select theme, sum(count) as comparator_count, sum(previous_count) as comparator_previous_count
    from area_themes
    group by theme
),

rated as (
    select
        area_themes.*,
        rate_per_1000(area_themes.count, area_themes.residents) as rate_per_1000,
        1000.0 * area_themes.count / nullif(area_themes.residents, 0) as exact_rate
    from area_themes
),

coverage as (  -- a change is shown only when both periods are covered in full (int_change_coverage)
    -- one row always: when the focus area is not in the count files its coverage is unknown, and the
    -- other areas' changes are shown
    select coalesce(bool_and(comparable), true) as comparable, any_value(change_note) as change_note
    from int_change_coverage
    where source = 'mps_counts' and area_level = 'borough'
),

current_period as (
    select * from periods where period_role = 'current'
),

final as (
    select
        rated.area_code,
        rated.area_name,
        rated.is_focus,
        rated.is_neighbour,
        rated.is_selected,
        rated.theme,
        current_period.period_label,
        rated.count,
        rated.previous_count,
        case when coverage.comparable then rated.count - rated.previous_count end as change,
        case when coverage.comparable then pct_change(rated.count, rated.previous_count) end as pct_change,
        rated.residents,
        rated.rate_per_1000,
        rate_ci_lower(rated.count, rated.residents) as rate_ci_lower,
        rate_ci_upper(rated.count, rated.residents) as rate_ci_upper,
        case when rated.exact_rate is not null
            then rank() over (partition by rated.theme, rated.exact_rate is null order by rated.exact_rate desc) end
            as rate_rank,
        count(rated.exact_rate) over (partition by rated.theme) as areas_ranked,
        pct(rated.count, comparator.comparator_count) as share_of_comparator_pct,
        case when coverage.comparable
             then pct_change(comparator.comparator_count, comparator.comparator_previous_count) end
            as comparator_pct_change,
        case when coverage.comparable
             then round(pct_change(rated.count, rated.previous_count)
                        - pct_change(comparator.comparator_count, comparator.comparator_previous_count), 1) end
            as pct_change_gap,
        case when coverage.comparable then round(change_p_value(rated.count, rated.previous_count), 6) end as p_value,
        case when coverage.comparable
             then change_flag(rated.count, rated.previous_count,
                              change_p_value(rated.count, rated.previous_count), getvariable('significance_alpha')) end
            as change_flag,
        'source: mps_counts borough-level files, counted by month of recording; rate per 1,000 residents: '
            || rated.residents_source || ' (exact Poisson 95% interval); comparator: '
            || coalesce(cast(getvariable('comparator_name') as varchar), 'all areas') || ', all areas in the MPS count files'
            || coalesce('; ' || coverage.change_note, '') as definition,
        getvariable('run_id') as run_id
    from rated
    join comparator using (theme)
    cross join current_period
    cross join coverage
    order by rated.theme, rate_rank nulls last, rated.area_name
)

select * from final
