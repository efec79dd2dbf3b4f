-- int_partner_checked
-- Grain: one row per partner table row, with the first rule it fails.
-- unique_key: source_file, source_row
-- Rules, their order, conditions and reasons: sql/seeds/quarantine_rules.csv (model int_partner_checked).
with counts as (
    select
        *,
        'partner' as input_table,
        case when period_months = 1 then period_start end as source_month,
        cast(null as varchar) as crime_ref    -- aggregated counts name no crime
    from stg_partner
),

-- the rules' verdicts (sql/seeds/quarantine_rules.csv), rendered by pipeline/transform/rules.py
checked as (
    {{ checked_rows('counts') }}
)

select * from checked
