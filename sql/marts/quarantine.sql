-- quarantine
-- Grain: one row per input row that failed a row-level rule: file, line, the column and value that
-- failed, the rule and its reason (sql/seeds/quarantine_rules.csv: each rule's column and value are
-- declared there, beside its condition, and expanded by pipeline/transform/rules.py). Only the crime reference and the
-- failing value are kept, never the whole record (it may hold personal data); malformed CSV lines
-- (wrong field count, undecodable bytes) keep a detail such as "17 fields; the header has 16".
-- (wide MPS files: one row per month cell, `source_month`; null for other inputs). Each checked model
-- gives its rows' input_table, source_month and crime_ref, so a new input kind needs no change here.
-- unique_key: source_file, source_row, source_month, input_table, failing_column, rule
with checked as (  -- every checked model in sql/seeds/quarantine_rules.csv, rendered by pipeline/transform/rules.py
    {{ quarantined_rows }}
),

malformed as (
    select source_file, source_row, cast(null as date) as source_month, input_table, rule, cast(null as varchar) as crime_ref,
           cast(null as varchar) as failing_column, detail as failing_value, 'raw_rejects' as checked_model
    from raw_rejects
),

unioned as (
    select * from checked
    union all
    select * from malformed
),

final as (
    select unioned.* exclude (checked_model), rules.reason, getvariable('run_id') as run_id
    from unioned
    left join seed_quarantine_rules as rules on rules.rule = unioned.rule and rules.model = unioned.checked_model
    order by source_file, source_row, source_month, input_table, failing_column
)

select * from final
