-- mth_revisions
-- Grain: one row per unit level x unit x theme x month whose count this refresh's extract changed:
-- the newest earlier extract of that month in the warehouse (wh.series_values) against this one.
-- unique_key: unit_level, unit_code, theme, month_start
-- Reads refresh_series (this refresh's reported series, each month tagged with its extract's
-- checksum and whether the warehouse already holds it); months already stored are not repeated.
with incoming as (
    select * from refresh_series where not stored
),

earlier as (
    select
        incoming.*,
        stored.count as previous_count,
        stored.extract_date as previous_extract_date,
        stored.extract_file as previous_extract_file
    from incoming
    join wh.series_values as stored
      on stored.area_code = incoming.area_code
     and stored.source = incoming.source
     and stored.unit_level = incoming.unit_level
     and stored.unit_code = incoming.unit_code
     and stored.theme = incoming.theme
     and stored.month_start = incoming.month_start
     and stored.extract_sha256 <> incoming.extract_sha256
     and stored.extract_date <= incoming.extract_date
    qualify row_number() over (
        partition by incoming.source, incoming.unit_level, incoming.unit_code, incoming.theme, incoming.month_start
        order by stored.extract_date desc, stored.run_id desc
    ) = 1
),

final as (
    select
        area_code,
        cast(getvariable('report_month') as date) as refresh_month,
        unit_level,
        unit_code,
        unit_name,
        theme,
        month_start,
        previous_count,
        count as revised_count,
        count - previous_count as change,
        previous_extract_date,
        regexp_extract(previous_extract_file, '[^/]+$') as previous_extract_file,
        extract_date as revised_extract_date,
        regexp_extract(extract_file, '[^/]+$') as revised_extract_file,
        source,
        run_id
    from earlier
    where count <> previous_count
    order by case unit_level when 'area' then 1 when 'comparator' then 2 else 3 end, theme, unit_code, month_start
)

select * from final
