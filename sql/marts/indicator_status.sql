-- indicator_status
-- Grain: one row per indicator of the delivery plan's indicator set (an input of kind indicator_set)
-- x quarter of the current period: the quarter's value, its target, RAG status and the trend against
-- the same quarter a year earlier.
-- unique_key: id, quarter_start
-- Values: police = crimes of the theme in the quarter (theme_monthly's area series: record extract, else
-- MPS counts, else data.police.uk); police_victims_u25 = victims under 25 of the theme's crimes (record
-- extracts); partner = the partner rows whose periods lie inside the quarter, measured when they cover
-- its three months; fingertips = published yearly, so only the latest period's value is shown, on the
-- last quarter of the current period (the period before on the same quarter a year earlier).
-- result: met (green: on the target's side), amber (between target and red_at), red (at or beyond
-- red_at), not_measured (the data came but does not cover this quarter), no_data (no data received).
-- trend: up / down / same against the same quarter a year earlier; trend_better says whether that is
-- the indicator's better direction.
with indicators as (
    select * from stg_indicator_set
),

quarters as (
    select * from int_indicator_quarters
),

police_source as (  -- the source of each theme's area counts, as theme_summary chooses it
    select theme, source
    from int_theme_period_counts
    where area_role = 'area'
    qualify row_number() over (partition by theme order by
        case source when 'record_extract' then 1 when 'mps_counts' then 2 else 3 end) = 1
),

source_span as (  -- the first and last month of each source's area rows: a month between them with no crime
    -- of a theme counts 0 (the coverage gate has checked the run's months; a record extract has quiet months)
    select source, min(month_start) as first_month, max(month_start) as last_month
    from theme_monthly where area_role = 'area' group by all
),

police as (
    select indicators.id, quarters.quarter_start, coalesce(sum(series.count), 0) as value,
           any_value(quarters.quarter_start >= source_span.first_month
                     and quarters.quarter_end < source_span.last_month + interval 1 month) as measured
    from indicators
    join police_source on police_source.theme = indicators.source_key
    join source_span on source_span.source = police_source.source
    cross join quarters
    left join theme_monthly as series
        on series.area_role = 'area' and series.source = police_source.source and series.theme = indicators.source_key
        and series.month_start between quarters.quarter_start and quarters.quarter_end
    where indicators.source_type = 'police'
    group by all
),

extract_span as (
    select first_month, last_month from source_span where source = 'record_extract'
),

u25_victims as (
    select indicators.id, quarters.quarter_start, count(*) as value
    from indicators
    join int_offences_classified as crimes on crimes.theme = indicators.source_key
    join quarters on crimes.event_date between quarters.quarter_start and quarters.quarter_end
    join int_people_current as people
        on people.crime_ref = crimes.crime_ref and people.person_role = 'victim' and people.age < 25
    where indicators.source_type = 'police_victims_u25'
    group by all
),

u25 as (
    select indicators.id, quarters.quarter_start, coalesce(u25_victims.value, 0) as value,
           quarters.quarter_start >= extract_span.first_month
           and quarters.quarter_end < extract_span.last_month + interval 1 month as measured
    from indicators
    cross join quarters
    cross join extract_span
    left join u25_victims on u25_victims.id = indicators.id and u25_victims.quarter_start = quarters.quarter_start
    where indicators.source_type = 'police_victims_u25'
),

partner as (
    select indicators.id, quarters.quarter_start, sum(rows.count) as value, sum(rows.period_months) = 3 as measured
    from indicators
    join int_partner_area as rows on rows.measure = indicators.source_key
    join quarters on rows.period_start >= quarters.quarter_start and rows.period_end <= quarters.quarter_end
    where indicators.source_type = 'partner'
    group by all
),

last_quarter as (
    select max(quarter_start) as quarter_start from quarters where period_role = 'current'
),

fingertips as (
    select indicators.id, last_quarter.quarter_start, health.value, true as measured,
           health.time_period as value_period
    from indicators
    join health_indicators as health on cast(health.indicator_id as varchar) = indicators.source_key
    cross join last_quarter
    where indicators.source_type = 'fingertips'
    qualify row_number() over (partition by indicators.id order by health.sex <> 'Persons', health.age) = 1
    union all
    select indicators.id, cast(last_quarter.quarter_start - interval 12 month as date), health.previous_value,
           health.previous_value is not null, health.previous_time_period
    from indicators
    join health_indicators as health on cast(health.indicator_id as varchar) = indicators.source_key
    cross join last_quarter
    where indicators.source_type = 'fingertips'
    qualify row_number() over (partition by indicators.id order by health.sex <> 'Persons', health.age) = 1
),

measured as (
    select id, quarter_start, value, measured, cast(null as varchar) as value_period from police
    union all
    select id, quarter_start, value, measured, null from u25
    union all
    select id, quarter_start, value, measured, null from partner
    union all
    select id, quarter_start, value, measured, value_period from fingertips
),

received as (  -- the indicator's data is in the run at all (measured in some quarter or not)
    select indicators.id
    from indicators
    where (indicators.source_type = 'police' and indicators.source_key in (select theme from police_source))
       or (indicators.source_type = 'police_victims_u25' and exists (select 1 from extract_span))
       or (indicators.source_type = 'partner' and indicators.source_key in (select measure from int_partner_area))
       or (indicators.source_type = 'fingertips'
           and indicators.source_key in (select cast(indicator_id as varchar) from health_indicators))
),

evaluated as (
    select
        indicators.id,
        quarters.quarter_start,
        case when measured.measured then measured.value end as value,
        coalesce(measured.measured, false) as measured,
        received.id is not null as data_received,
        coalesce(measured.value_period, quarters.quarter_label) as value_period
    from indicators
    cross join quarters
    left join measured on measured.id = indicators.id and measured.quarter_start = quarters.quarter_start
    left join received on received.id = indicators.id
),

final as (
    select
        indicators.id,
        indicators.indicator,
        indicators.plan_theme,
        indicators.source_measure,
        indicators.owner,
        quarters.quarter_label,
        quarters.quarter_start,
        quarters.quarter_end,
        now.value_period,
        now.value,
        earlier.value as previous_year_value,
        indicators.baseline,
        indicators.target,
        indicators.red_at,
        indicators.direction,
        case
            when not now.data_received then 'no_data'
            when now.value is null then 'not_measured'
            when (indicators.direction = 'lower' and now.value <= indicators.target)
              or (indicators.direction = 'higher' and now.value >= indicators.target) then 'met'
            when (indicators.direction = 'lower' and now.value < indicators.red_at)
              or (indicators.direction = 'higher' and now.value > indicators.red_at) then 'amber'
            else 'red'
        end as result,
        case
            when now.value is null then null
            when (indicators.direction = 'lower' and now.value <= indicators.target)
              or (indicators.direction = 'higher' and now.value >= indicators.target) then 'green'
            when (indicators.direction = 'lower' and now.value < indicators.red_at)
              or (indicators.direction = 'higher' and now.value > indicators.red_at) then 'amber'
            else 'red'
        end as rag,
        case when now.value > earlier.value then 'up' when now.value < earlier.value then 'down'
             when now.value = earlier.value then 'same' end as trend,
        case when now.value is null or earlier.value is null or now.value = earlier.value then null
             else (now.value < earlier.value) = (indicators.direction = 'lower') end as trend_better,
        indicators.sort_order,
        getvariable('run_id') as run_id
    from indicators
    join quarters on quarters.period_role = 'current'
    join evaluated as now on now.id = indicators.id and now.quarter_start = quarters.quarter_start
    left join evaluated as earlier on earlier.id = indicators.id and earlier.quarter_start = quarters.year_earlier_start
    order by indicators.sort_order, quarters.quarter_start
)

select * from final
