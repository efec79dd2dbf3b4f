-- ward_hotspots
-- Grain: one row per CURRENT ward (ref_wards) x theme, for the current period compared with the
-- previous one (DESIGN §6.2 items 4, 8, 9, 13). Every period is on the current ward set: record
-- extracts by where each crime lies (int_offences_located), MPS ward files as published or re-based
-- from the previous ward set through LSOAs (int_ward_period_counts); never old and new wards mixed.
--   rate_per_1000 (+ exact Poisson 95% interval)  count / usual residents (Census LSOA populations) x 1000
--   share_of_area_pct   count / the area's count for the theme (incl. crimes placed in no ward) x 100
--   rank_in_area        by count, ties by rate
--   p_value             exact test of count against previous_count (conditional binomial, two-sided);
--                       q_value Benjamini-Hochberg across the area's wards for the theme;
--                       change_flag from q_value <= geography.fdr_alpha, never on fewer than
--                       significance.min_total crimes
--   poisson_z           2(sqrt(count) - sqrt(previous_count)), descriptive only
--   harm_weighted_count sum of ONS Crime Severity Score weights (ref_severity_weights) of the crimes
--                       whose HO code has a weight; harm_weight_coverage_pct says how many had one
-- Counts are null (never zero) when the inputs do not cover the period on these wards; then change,
-- p, q and flag are null too and change_note says why (the macro change_note, as in every mart).
-- unique_key: area_code, ward_code, theme, period_label
with counts as (
    select * from int_ward_period_counts
),

wards as (
    select * from int_ward_populations
),

periods_sized as (
    select *, datediff('month', period_start, period_end) + 1 as months_in_period from periods
),

available as (
    select 'record_extract' as source, theme from seed_themes
    where exists (select 1 from int_offences_current)
    union all
    select distinct 'mps_counts' as source, theme from seed_mps_category_themes
    where theme is not null and exists (select 1 from counts where source = 'mps_counts')
    union all
    select 'police_uk' as source, theme from int_police_uk_themes
    where exists (select 1 from counts where source = 'police_uk')
),

preferred as (  -- one source per theme: the record extract, else MPS ward files, else data.police.uk
    select * from available
    qualify row_number() over (
        partition by theme order by case source when 'record_extract' then 1 when 'mps_counts' then 2 else 3 end
    ) = 1
),

coverage as (
    select
        sources.source,
        periods_sized.period_role,
        periods_sized.period_label,
        periods_sized.months_in_period,
        coalesce(max(counts.months_covered), 0) as months_covered,
        coalesce(max(counts.months_rebased), 0) as months_rebased
    from (select distinct source from preferred) as sources
    cross join periods_sized
    left join counts on counts.source = sources.source and counts.period_role = periods_sized.period_role
    group by all
),

by_ward as (
    select
        source,
        ward_code,
        theme,
        sum(count) filter (where period_role = 'current') as current_count,
        sum(count) filter (where period_role = 'previous') as previous_count,
        sum(harm_weighted_count) filter (where period_role = 'current') as current_harm,
        sum(harm_weighted_count) filter (where period_role = 'previous') as previous_harm,
        sum(harm_weighted_crimes) filter (where period_role = 'current') as current_harm_crimes
    from counts
    where ward_code is not null
    group by all
),

area_totals as (
    select
        source,
        theme,
        sum(cast(count as decimal(38, 9))) filter (where period_role = 'current') as current_count,  -- exact
        sum(cast(count as decimal(38, 9))) filter (where period_role = 'previous') as previous_count
    from counts
    group by all
),

joined as (
    select
        preferred.source,
        wards.ward_code,
        wards.ward_name,
        wards.sub_area,
        wards.population,
        preferred.theme,
        cur.months_in_period,
        cur.months_covered,
        cur.months_rebased,
        prev.months_covered as previous_months_covered,
        prev.months_rebased as previous_months_rebased,
        case when cur.months_covered >= cur.months_in_period
             then cast(round(coalesce(by_ward.current_count, 0)) as bigint) end as count,
        case when prev.months_covered >= prev.months_in_period
             then cast(round(coalesce(by_ward.previous_count, 0)) as bigint) end as previous_count,
        case when cur.months_covered >= cur.months_in_period
             then cast(round(coalesce(area_totals.current_count, 0)) as bigint) end as area_count,
        -- decimal sums rounded to 0.1 (half away from zero), then double: identical on every re-run
        case when preferred.source = 'record_extract'
             then cast(round(coalesce(by_ward.current_harm, 0), 1) as double) end as harm_weighted_count,
        case when preferred.source = 'record_extract'
             then cast(round(coalesce(by_ward.previous_harm, 0), 1) as double) end as previous_harm_weighted_count,
        case when preferred.source = 'record_extract'
             then pct(coalesce(by_ward.current_harm_crimes, 0), coalesce(by_ward.current_count, 0)) end
            as harm_weight_coverage_pct
    from preferred
    cross join wards
    join coverage as cur on cur.source = preferred.source and cur.period_role = 'current'
    join coverage as prev on prev.source = preferred.source and prev.period_role = 'previous'
    left join by_ward on by_ward.source = preferred.source and by_ward.theme = preferred.theme
                     and by_ward.ward_code = wards.ward_code
    left join area_totals on area_totals.source = preferred.source and area_totals.theme = preferred.theme
),

tested as (
    select
        *,
        poisson_z(count, previous_count) as poisson_z,
        change_p_value(count, previous_count) as p_value
    from joined
),

ranked as (
    select
        *,
        row_number() over (partition by theme order by p_value nulls last, ward_code) as p_rank,
        count(p_value) over (partition by theme) as p_tests
    from tested
),

adjusted as (
    select
        *,
        case when p_value is not null then min(bh_step(p_value, p_tests, p_rank)) over (
            partition by theme order by p_value desc nulls first, p_rank desc
            rows between unbounded preceding and current row
        ) end as q_value
    from ranked
),

current_period as (
    select * from periods where period_role = 'current'
),

final as (
    select
        getvariable('area_code') as area_code,
        adjusted.ward_code,
        adjusted.ward_name,
        adjusted.sub_area,
        adjusted.theme,
        current_period.period_label,
        current_period.period_start,
        current_period.period_end,
        adjusted.count,
        adjusted.previous_count,
        adjusted.count - adjusted.previous_count as change,
        pct_change(adjusted.count, adjusted.previous_count) as pct_change,
        adjusted.population,
        rate_per_1000(adjusted.count, adjusted.population) as rate_per_1000,
        rate_ci_lower(adjusted.count, adjusted.population) as rate_ci_lower,
        rate_ci_upper(adjusted.count, adjusted.population) as rate_ci_upper,
        rate_per_1000(adjusted.previous_count, adjusted.population) as previous_rate_per_1000,
        adjusted.area_count,
        pct(adjusted.count, adjusted.area_count) as share_of_area_pct,
        case when adjusted.count is not null then rank() over (
            partition by adjusted.theme
            order by adjusted.count desc nulls last, rate_per_1000(adjusted.count, adjusted.population) desc nulls last
        ) end as rank_in_area,
        adjusted.poisson_z,
        round(adjusted.p_value, 6) as p_value,
        round(adjusted.q_value, 6) as q_value,
        change_flag(adjusted.count, adjusted.previous_count, adjusted.q_value, getvariable('fdr_alpha')) as change_flag,
        adjusted.q_value <= getvariable('fdr_alpha') as significant_after_fdr,
        adjusted.harm_weighted_count,
        adjusted.previous_harm_weighted_count,
        adjusted.harm_weight_coverage_pct,
        adjusted.source,
        change_note(adjusted.months_covered, adjusted.months_in_period,
                    adjusted.previous_months_covered, adjusted.months_in_period) as change_note,
        case
            when adjusted.count is null then 'not covered: inputs hold ' || adjusted.months_covered || ' of '
                || adjusted.months_in_period || ' months on these wards'
            when adjusted.source = 'record_extract' then 'crimes placed on current wards (see location_summary)'
            when adjusted.source = 'police_uk' then 'data.police.uk rows placed on current wards (see police_uk_location_summary)'
            when adjusted.months_rebased = 0 then 'MPS ward counts on current wards'
            else 'MPS ward counts; ' || adjusted.months_rebased || ' of ' || adjusted.months_in_period
                || ' months re-based from previous wards through LSOAs (estimate)'
        end as count_basis,
        case
            when adjusted.previous_count is null then 'not covered: inputs hold ' || adjusted.previous_months_covered
                || ' of ' || adjusted.months_in_period || ' months on these wards'
            when adjusted.source = 'record_extract' then 'crimes placed on current wards (see location_summary)'
            when adjusted.source = 'police_uk' then 'data.police.uk rows placed on current wards (see police_uk_location_summary)'
            when adjusted.previous_months_rebased = 0 then 'MPS ward counts on current wards'
            else 'MPS ward counts; ' || adjusted.previous_months_rebased || ' of ' || adjusted.months_in_period
                || ' months re-based from previous wards through LSOAs (estimate)'
        end as previous_count_basis,
        concat_ws('; ',
            'current ward boundaries',
            case when adjusted.population is null then 'rates null: no population configured'
                 else 'rate per 1,000 usual residents (LSOA populations via best-fit lookup), exact Poisson 95% interval' end,
            'p_value: exact test of count against previous_count (conditional binomial); q_value: '
                || 'Benjamini-Hochberg across ' || adjusted.p_tests || ' wards; change_flag from q_value <= ' || getvariable('fdr_alpha') || '; '
                || 'poisson_z = 2(sqrt(count) - sqrt(previous_count)), descriptive',
            case when adjusted.source = 'record_extract'
                 then 'harm: ONS Crime Severity Score weights where known (harm_weight_coverage_pct)'
                 when adjusted.source = 'police_uk' then 'harm null: data.police.uk files carry no offence codes'
                 else 'harm null: MPS count files carry no offence codes' end,
            case when adjusted.source = 'police_uk' then police_themes.definition end
        ) as definition,
        getvariable('run_id') as run_id
    from adjusted
    cross join current_period
    join seed_themes as themes on themes.theme = adjusted.theme
    left join int_police_uk_themes as police_themes on police_themes.theme = adjusted.theme
    order by cast(themes.sort_order as integer), rank_in_area, adjusted.ward_code
)

select * from final
