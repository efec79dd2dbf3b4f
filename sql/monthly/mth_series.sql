-- mth_series
-- Grain: one row per source x unit level (area | comparator | ward) x unit x theme x covered month,
-- with 0 where a covered month had no crimes: the monthly counts behind the refresh.
-- unique_key: source, unit_level, unit_code, theme, month_start
-- Themes come only from the classified models (int_offences_classified, int_mps_counts_classified),
-- so the refresh uses the annual assessment's definitions. Wards are the CURRENT ward set
-- (ref_wards; without it, the ward set of the newest ward-level MPS extract). MPS ward rows on an
-- older ward set are not re-based month by month: such wards get no series.
with covered as (
    select * from mth_source_months
),

area as (
    select coalesce(nullif(getvariable('area_code'), ''), getvariable('area_name')) as unit_code,
           getvariable('area_name') as unit_name
),

record_counts as (
    select 'record_extract' as source, 'area' as unit_level, area.unit_code, theme,
           cast(date_trunc('month', event_date) as date) as month_start, count(*) as n
    from int_offences_classified
    cross join area
    group by all
    union all
    select 'record_extract', 'ward', current_ward_code, theme, cast(date_trunc('month', event_date) as date), count(*)
    from int_offences_classified
    where current_ward_code is not null
    group by all
),

mps_ward_rows as (
    select * from int_mps_counts_classified
    where area_level = 'ward' and lower(borough_name) = lower(getvariable('area_name'))
),

newest_ward_set as (
    select distinct ward_code from int_mps_counts_current
    where area_level = 'ward' and lower(borough_name) = lower(getvariable('area_name'))
      and source_file = (select max_by(source_file, (extract_date, source_file)) from int_mps_counts_current
                         where area_level = 'ward' and lower(borough_name) = lower(getvariable('area_name')))
),

current_wards as (
    select ward_code, ward_name from ref_wards
    union all
    select ward_code, any_value(ward_name) from mps_ward_rows
    where not exists (select 1 from ref_wards) and ward_code in (select ward_code from newest_ward_set)
    group by all
),

mps_counts as (
    select 'mps_counts' as source, 'area' as unit_level, area.unit_code, theme, month_start, sum(count) as n
    from int_mps_counts_classified
    cross join area
    where area_level = 'borough' and lower(borough_name) = lower(getvariable('area_name'))
    group by all
    union all
    select 'mps_counts', 'comparator', 'comparator', theme, month_start, sum(count)
    from int_mps_counts_classified
    where area_level = 'borough' and getvariable('comparator_name') is not null
    group by all
    union all
    select 'mps_counts', 'ward', ward_code, theme, month_start, sum(count)
    from mps_ward_rows
    where ward_code in (select ward_code from current_wards)
    group by all
),

units as (
    select distinct source, 'area' as unit_level, area.unit_code, area.unit_name
    from covered cross join area where covered.unit_level = 'area'
    union all
    select distinct source, 'comparator', 'comparator', getvariable('comparator_name')
    from covered where unit_level = 'comparator'
    union all
    select distinct covered.source, 'ward', current_wards.ward_code, current_wards.ward_name
    from covered cross join current_wards where covered.unit_level = 'ward'
),

themes as (
    select distinct 'record_extract' as source, theme from seed_themes
    union all
    select distinct 'mps_counts' as source, theme from seed_mps_category_themes where theme is not null
),

counts as (
    select * from record_counts
    union all
    select * from mps_counts
),

final as (
    select
        units.source,
        units.unit_level,
        units.unit_code,
        units.unit_name,
        themes.theme,
        covered.month_start,
        cast(coalesce(counts.n, 0) as bigint) as count,
        covered.extract_date,
        covered.source_file as extract_file
    from units
    join themes on themes.source = units.source
    join covered on covered.source = units.source and covered.unit_level = units.unit_level
    left join counts
      on counts.source = units.source
     and counts.unit_level = units.unit_level
     and counts.unit_code = units.unit_code
     and counts.theme = themes.theme
     and counts.month_start = covered.month_start
    order by units.source, units.unit_level, units.unit_code, themes.theme, covered.month_start
)

select * from final
