-- near_repeats
-- Grain: one row per theme flagged near_repeats in seed_themes x distance band x time band: the Knox
-- test of near repeats (as Ratcliffe's Near Repeat Calculator) on the theme's located crimes of the
-- current period (record extracts with points; coordinates in British National Grid metres, dates of
-- the crime). Every pair of crimes falls in one cell: distance bands of 200 m (0-200 m, 201-400 m, ...
-- and 'more than 1,000 m'), time bands of 7 days (0-7 days, 8-14 days, ... and 'more than 35 days').
-- observed_pairs: pairs in the cell; expected_pairs: row total x column total / all pairs, the mean
-- over every permutation of the dates; knox_ratio = observed / expected; knox_p_value: one-sided Monte
-- Carlo, (1 + shuffles with at least as many pairs) / (permutations + 1), shuffling the dates over the
-- points with getvariable('geo_seed') (pipeline.transform.spacetime.knox_table). Counts of pairs only:
-- no point, date or crime reference.
-- unique_key: area_code, theme, distance_band, time_band
with params as (
    -- the Near Repeat Calculator's usual bands; 999 permutations give p-values down to 0.001
    select 200.0 as distance_m, 5 as distance_bands, 7 as time_days, 5 as time_bands, 999 as permutations
),

themes as (
    select theme from seed_themes where near_repeats = 'true'
),

points as (
    select
        classified.theme,
        classified.x_bng,
        classified.y_bng,
        cast(classified.event_date - date '1970-01-01' as bigint) as day_number
    from int_offences_classified as classified
    join themes using (theme)
    join periods on periods.period_role = 'current'
     and classified.event_date between periods.period_start and periods.period_end
    where classified.x_bng is not null and classified.location_method in ('point_in_polygon', 'point_snapped')
),

grouped as (
    select
        theme,
        count(*) as crimes,
        list(x_bng order by x_bng, y_bng, day_number) as xs,
        list(y_bng order by x_bng, y_bng, day_number) as ys,
        list(day_number order by x_bng, y_bng, day_number) as days
    from points
    group by all
    having count(*) >= 2
),

computed as (
    select
        grouped.theme,
        grouped.crimes,
        params.*,
        unnest(knox_bands(grouped.xs, grouped.ys, grouped.days, params.distance_m, params.distance_bands,
                          params.time_days, params.time_bands, params.permutations, getvariable('geo_seed'))) as k
    from grouped
    cross join params
),

final as (
    select
        getvariable('area_code') as area_code,
        computed.theme,
        periods.period_label,
        computed.crimes,
        computed.k.distance_band as distance_band,
        case when computed.k.distance_band > computed.distance_bands
            then 'more than ' || format('{:,}', cast(computed.distance_m * computed.distance_bands as integer)) || ' m'
            when computed.k.distance_band = 1 then '0-' || cast(computed.distance_m as integer) || ' m'
            else format('{:,}', cast(computed.distance_m * (computed.k.distance_band - 1) as integer) + 1) || '-'
                 || format('{:,}', cast(computed.distance_m * computed.k.distance_band as integer)) || ' m'
        end as distance_label,
        computed.k.time_band as time_band,
        case when computed.k.time_band > computed.time_bands
            then 'more than ' || (computed.time_days * computed.time_bands) || ' days'
            when computed.k.time_band = 1 then '0-' || computed.time_days || ' days'
            else (computed.time_days * (computed.k.time_band - 1) + 1) || '-' || (computed.time_days * computed.k.time_band) || ' days'
        end as time_label,
        computed.k.observed_pairs as observed_pairs,
        computed.k.expected_pairs as expected_pairs,
        computed.k.knox_ratio as knox_ratio,
        computed.k.p_value as knox_p_value,
        computed.permutations,
        getvariable('run_id') as run_id
    from computed
    join periods on periods.period_role = 'current'
    order by computed.theme, distance_band, time_band
)

select * from final
