-- int_mps_counts_checked
-- Grain: one row per source file x area x MPS category x month, with the first rule it fails.
-- unique_key: source_file, source_row, month_start
-- A count is a whole number written with digits; an area x category x month appears once per file
-- (a repeated row would double-count): later copies are `duplicate_count_row`.
-- Rules, their order, conditions and reasons: sql/seeds/quarantine_rules.csv (model int_mps_counts_checked); `failed_rules`
-- lists every rule a row fails, in order; `quarantine_rule` is the first.
with counts as (
    select
        *,
        'counts' as input_table,
        month_start as source_month,          -- a wide file's row holds one count per month
        cast(null as varchar) as crime_ref    -- counts name no crime
    from stg_mps_counts
),

-- the rules' verdicts (sql/seeds/quarantine_rules.csv), rendered by pipeline/transform/rules.py
checked as (
    {{ checked_rows('counts') }}
)

select * from checked
