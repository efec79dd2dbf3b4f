-- priorities
-- Grain: one row per theme (level 'theme', ward_code null) and one per current ward x theme (level
-- 'ward'), for the focus area's current period: the priority score, its four parts, its rank, and the
-- facts the tasking rules (sql/seeds/tasking_rules.csv) test. Themes are those of theme_summary except
-- the overall total (seed_themes.overall); wards are ward_hotspots' (current wards).
--   volume         count this period
--   harm           harm_weighted_count: the sum of the severity weights (ref_severity_weights: the ONS Crime
--                  Severity Score seed or the configured weights) of the crimes; scored only where at least
--                  harm_min_coverage_pct of the theme's crimes in the area have a weight (then on every ward of
--                  the theme alike; record extracts only: count files carry no offence codes)
--   trend          poisson_z = 2(sqrt(count) - sqrt(previous_count)), positive when rising
--   concentration  concentration_ratio: ward rows, the ward's share of the theme's crimes / its share of
--                  residents; theme rows, the same for the theme's top fifth of wards (by count, at least one)
-- Each part is scored 0-1 by its place among the units ranked together (percent_rank: 0 the lowest, 1 the
-- highest; themes against themes, a theme's wards against each other; only units with a crime this
-- period are ranked; one alone scores 1); priority_score = 100 x the weighted mean (weights in
-- seed_priority_settings) of the parts the inputs give; components_used names them.
-- priority_rank by score (ties: count); count_rank and harm_rank by count and by harm alone (harm_rank
-- only where the harm part is scored).
-- Facts (null when the inputs cannot tell): significant_increase (change_flag), count_rising (change > 0,
-- null when the inputs do not cover both periods), persistent_hotspot (a Gi* grid cell hot in both periods; ward rows: its centre in the
-- ward), u25_over_represented (victim_rates: under-25 rate ratio interval above 1), repeat_victims_high
-- (repeat_victimisation: repeat_victims_pct >= repeat_victims_high_pct on 10 victims or more), top_ward
-- (ward rows: priority_rank <= top_wards).
-- unique_key: area_code, level, theme, ward_code
with settings as (
    select
        max(cast(value as double)) filter (where setting = 'weight_volume') as w_volume,
        max(cast(value as double)) filter (where setting = 'weight_harm') as w_harm,
        max(cast(value as double)) filter (where setting = 'weight_trend') as w_trend,
        max(cast(value as double)) filter (where setting = 'weight_concentration') as w_concentration,
        max(cast(value as double)) filter (where setting = 'harm_min_coverage_pct') as harm_min_coverage_pct,
        max(cast(value as double)) filter (where setting = 'repeat_victims_high_pct') as repeat_victims_high_pct,
        max(cast(value as integer)) filter (where setting = 'top_wards') as top_wards
    from seed_priority_settings
),

themes as (
    select summary.theme, summary.source, summary.period_label, summary.count, summary.previous_count,
           summary.change, summary.poisson_z, summary.change_flag
    from theme_summary as summary
    join seed_themes as seed on summary.theme = seed.theme
    where summary.is_focus and seed.overall <> 'true'
),

theme_harm as (  -- every crime of the theme, placed in a ward or not (ward_code null)
    select
        source,
        theme,
        cast(round(sum(harm_weighted_count), 1) as double) as harm_weighted_count,
        pct(sum(harm_weighted_crimes), sum(count)) as harm_weight_coverage_pct
    from int_ward_period_counts
    where period_role = 'current' and source = 'record_extract'
    group by all
),

wards as (
    select *,
           sum(population) over (partition by theme) as theme_population,
           row_number() over (partition by theme order by count desc, ward_code asc) as count_order,
           count(count) over (partition by theme) as wards_counted
    from ward_hotspots
    where count is not null
),

top_fifth as (  -- the theme's top fifth of wards by count: their share of crimes / their share of residents
    select
        theme,
        round((sum(count) filter (where count_order <= ceil(wards_counted / 5.0)) / nullif(sum(count), 0))
              / (sum(population) filter (where count_order <= ceil(wards_counted / 5.0)) / nullif(sum(population), 0)),
              2) as concentration_ratio
    from wards
    group by theme
),

persistent_cells as (
    select theme, x_centre, y_centre from grid_hotspots where hotspot_change = 'persistent_hot'
),

hotspots_computed as (  -- themes whose hot spots were tested in both periods
    select theme, bool_or(hotspot_change = 'persistent_hot') as persistent_hotspot
    from grid_hotspots
    where period_role = 'current' and hotspot_change <> 'not_computed'
    group by theme
),

u25 as (
    select theme, bool_or(disproportionality = 'higher') as u25_over_represented
    from victim_rates
    where dimension = 'under_25' and population_group = 'under 25' and period_role = 'current'
      and rate_ratio is not null
    group by theme
),

repeats as (
    select repeat_victimisation.theme,
           repeat_victimisation.repeat_victims_pct >= settings.repeat_victims_high_pct as repeat_victims_high
    from repeat_victimisation
    cross join settings
    where repeat_victimisation.period_role = 'current' and repeat_victimisation.status = 'computed'
      and repeat_victimisation.victims >= 10
),

theme_rows as (
    select
        'theme' as level,
        themes.theme,
        cast(null as varchar) as ward_code,
        cast(null as varchar) as ward_name,
        themes.source,
        themes.period_label,
        themes.count,
        themes.previous_count,
        theme_harm.harm_weighted_count,
        theme_harm.harm_weight_coverage_pct,
        themes.poisson_z,
        top_fifth.concentration_ratio,
        theme_harm.harm_weight_coverage_pct as theme_harm_coverage_pct,
        themes.change_flag,
        themes.change_flag = 'significant_increase' as significant_increase,
        themes.change > 0 as count_rising,   -- null when the inputs do not cover both periods
        hotspots_computed.persistent_hotspot,
        u25.u25_over_represented,
        repeats.repeat_victims_high
    from themes
    left join theme_harm on themes.theme = theme_harm.theme and themes.source = theme_harm.source
    left join top_fifth on themes.theme = top_fifth.theme
    left join hotspots_computed on themes.theme = hotspots_computed.theme
    left join u25 on themes.theme = u25.theme
    left join repeats on themes.theme = repeats.theme
),

ward_rows as (
    select
        'ward' as level,
        wards.theme,
        wards.ward_code,
        wards.ward_name,
        wards.source,
        wards.period_label,
        wards.count,
        wards.previous_count,
        wards.harm_weighted_count,
        wards.harm_weight_coverage_pct,
        wards.poisson_z,
        round((wards.count / nullif(wards.area_count, 0)) / (wards.population / nullif(wards.theme_population, 0)),
              2) as concentration_ratio,
        theme_harm.harm_weight_coverage_pct as theme_harm_coverage_pct,
        wards.change_flag,
        wards.change_flag = 'significant_increase' as significant_increase,
        wards.change > 0 as count_rising,
        case when hotspots_computed.theme is not null and ref_wards.geom is not null then exists (
            select 1 from persistent_cells
            where persistent_cells.theme = wards.theme
              and st_contains(ref_wards.geom, st_point(persistent_cells.x_centre, persistent_cells.y_centre))
        ) end as persistent_hotspot,
        cast(null as boolean) as u25_over_represented,   -- victims' ages are profiled per theme, not per ward
        cast(null as boolean) as repeat_victims_high
    from wards
    join seed_themes as seed on wards.theme = seed.theme and seed.overall <> 'true'  -- with or without a theme row
    left join theme_harm on wards.theme = theme_harm.theme and wards.source = theme_harm.source
    left join ref_wards on wards.ward_code = ref_wards.ward_code
    left join hotspots_computed on wards.theme = hotspots_computed.theme
),

unioned as (
    select * from theme_rows
    union all
    select * from ward_rows
),

scored_parts as (  -- a theme or ward with no crime this period is not ranked
    select
        unioned.*,
        -- a theme's wards are ranked against each other; themes against themes
        case when level = 'ward' then theme else '' end as peer_group,
        case when count > 0 then count end as volume_value,
        -- scored on the theme's coverage, so that all of a theme's wards are weighed alike or not at all
        case when count > 0 and theme_harm_coverage_pct >= settings.harm_min_coverage_pct
             then harm_weighted_count end as harm_scored,
        case when count > 0 then poisson_z end as trend_value,
        case when count > 0 then concentration_ratio end as concentration_value
    from unioned
    cross join settings
),

percent_ranked as (  -- percent_rank, except that a unit ranked alone scores 1 (it is the highest)
    select
        *,
        case when volume_value is not null then
            case when count(volume_value) over (partition by level, peer_group) = 1 then 1.0
                 else percent_rank() over (
                     partition by level, peer_group, volume_value is null order by volume_value) end
        end as volume_score,
        case when harm_scored is not null then
            case when count(harm_scored) over (partition by level, peer_group) = 1 then 1.0
                 else percent_rank() over (
                     partition by level, peer_group, harm_scored is null order by harm_scored) end
        end as harm_score,
        case when trend_value is not null then
            case when count(trend_value) over (partition by level, peer_group) = 1 then 1.0
                 else percent_rank() over (
                     partition by level, peer_group, trend_value is null order by trend_value) end
        end as trend_score,
        case when concentration_value is not null then
            case when count(concentration_value) over (partition by level, peer_group) = 1 then 1.0
                 else percent_rank() over (
                     partition by level, peer_group, concentration_value is null order by concentration_value) end
        end as concentration_score
    from scored_parts
),

weighted as (
    select
        percent_ranked.*,
        (coalesce(settings.w_volume * volume_score, 0) + coalesce(settings.w_harm * harm_score, 0)
         + coalesce(settings.w_trend * trend_score, 0) + coalesce(settings.w_concentration * concentration_score, 0))
        / nullif(case when volume_score is not null then settings.w_volume else 0 end
                 + case when harm_score is not null then settings.w_harm else 0 end
                 + case when trend_score is not null then settings.w_trend else 0 end
                 + case when concentration_score is not null then settings.w_concentration else 0 end, 0)
            as mean_score,
        concat_ws(', ',
            case when volume_score is not null then 'volume' end,
            case when harm_score is not null then 'harm' end,
            case when trend_score is not null then 'trend' end,
            case when concentration_score is not null then 'concentration' end) as components_used
    from percent_ranked
    cross join settings
),

ranked as (
    select
        *,
        round(100 * mean_score, 1) as priority_score,
        case when mean_score is not null then rank() over (
            partition by level, peer_group, mean_score is null order by round(100 * mean_score, 1) desc, count desc) end
            as priority_rank,
        case when volume_value is not null then rank() over (
            partition by level, peer_group, volume_value is null order by volume_value desc) end as count_rank,
        case when harm_scored is not null then rank() over (
            partition by level, peer_group, harm_scored is null order by harm_scored desc) end as harm_rank
    from weighted
),

final as (
    select
        getvariable('area_code') as area_code,
        ranked.level,
        ranked.theme,
        ranked.ward_code,
        ranked.ward_name,
        ranked.period_label,
        ranked.source,
        ranked.count,
        ranked.previous_count,
        ranked.harm_weighted_count,
        ranked.harm_weight_coverage_pct,
        ranked.poisson_z,
        ranked.concentration_ratio,
        round(ranked.volume_score, 4) as volume_score,
        round(ranked.harm_score, 4) as harm_score,
        round(ranked.trend_score, 4) as trend_score,
        round(ranked.concentration_score, 4) as concentration_score,
        ranked.priority_score,
        ranked.priority_rank,
        ranked.count_rank,
        ranked.harm_rank,
        ranked.components_used,
        ranked.change_flag,
        ranked.significant_increase,
        ranked.count_rising,
        ranked.persistent_hotspot,
        ranked.u25_over_represented,
        ranked.repeat_victims_high,
        case when ranked.level = 'ward' and ranked.priority_rank is not null
            then ranked.priority_rank <= settings.top_wards end as top_ward,
        getvariable('run_id') as run_id
    from ranked
    cross join settings
    join seed_themes as seed on ranked.theme = seed.theme
    order by ranked.level, cast(seed.sort_order as integer), ranked.priority_rank nulls last, ranked.ward_code
)

select * from final
