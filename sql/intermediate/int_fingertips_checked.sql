-- int_fingertips_checked
-- Grain: one row per Fingertips file row, with the first rule it fails.
-- unique_key: source_file, source_row
-- Rules, their order, conditions and reasons: sql/seeds/quarantine_rules.csv (model int_fingertips_checked).
with indicators as (
    select
        *,
        'fingertips' as input_table,
        cast(null as date) as source_month,   -- Fingertips periods are years or spans, not months
        cast(null as varchar) as crime_ref    -- indicator rows name no crime
    from stg_fingertips
),

-- the rules' verdicts (sql/seeds/quarantine_rules.csv), rendered by pipeline/transform/rules.py
checked as (
    {{ checked_rows('indicators') }}
)

select * from checked
