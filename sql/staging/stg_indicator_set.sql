-- stg_indicator_set
-- Grain: one row per indicator of the delivery plan's indicator set (checked on ingest:
-- pipeline/sources/indicator_set.py: an id appears once in the set).
-- unique_key: source_file, source_row
with source as (
    select * from raw_indicator_set
),

renamed as (
    select
        id, indicator, plan_theme, source_type, source_key, source_type || ':' || source_key as source_measure,
        baseline, target, red_at, direction, owner, sort_order, source_file, source_row
    from source
)

select * from renamed
