-- quarantine
-- Grain: one row per input row that failed a row-level rule: file, line, the column and value that
-- failed, the rule and its reason (sql/seeds/quarantine_rules.csv: each rule's column and value are
-- declared there, beside its condition, and expanded by pipeline/rules.py). Only the crime reference and the
-- failing value are kept, never the whole record (it may hold personal data); malformed CSV lines
-- (wrong field count, undecodable bytes) keep a detail such as "17 fields; the header has 16".
-- (wide MPS files: one row per month cell, `source_month`; null for other inputs).
-- unique_key: source_file, source_row, source_month, input_table, failing_column, rule
with offences as (
    select source_file, source_row, cast(null as date) as source_month, 'offences' as input_table, quarantine_rule as rule, crime_ref,
           {{ failing_column('int_offences_checked') }} as failing_column,
           {{ failing_value('int_offences_checked') }} as failing_value,
           'int_offences_checked' as checked_model
    from int_offences_checked
    where quarantine_rule is not null
),

people as (
    select source_file, source_row, cast(null as date) as source_month, person_role || 's' as input_table, quarantine_rule as rule, crime_ref,
           {{ failing_column('int_people_checked') }} as failing_column,
           {{ failing_value('int_people_checked') }} as failing_value,
           'int_people_checked' as checked_model
    from int_people_checked
    where quarantine_rule is not null
),

counts as (
    select source_file, source_row, month_start as source_month, 'counts' as input_table, quarantine_rule as rule, cast(null as varchar) as crime_ref,
           {{ failing_column('int_mps_counts_checked') }} as failing_column,
           {{ failing_value('int_mps_counts_checked') }} as failing_value,
           'int_mps_counts_checked' as checked_model
    from int_mps_counts_checked
    where quarantine_rule is not null
),

police_uk as (
    select source_file, source_row, cast(null as date) as source_month, 'crimes' as input_table, quarantine_rule as rule, crime_ref,
           {{ failing_column('int_police_uk_checked') }} as failing_column,
           {{ failing_value('int_police_uk_checked') }} as failing_value,
           'int_police_uk_checked' as checked_model
    from int_police_uk_checked
    where quarantine_rule is not null
),

malformed as (
    select source_file, source_row, cast(null as date) as source_month, input_table, rule, cast(null as varchar) as crime_ref,
           cast(null as varchar) as failing_column, detail as failing_value, 'raw_rejects' as checked_model
    from raw_rejects
),

unioned as (
    select * from offences
    union all select * from people
    union all select * from counts
    union all select * from police_uk
    union all select * from malformed
),

final as (
    select unioned.* exclude (checked_model), rules.reason, getvariable('run_id') as run_id
    from unioned
    left join seed_quarantine_rules as rules on rules.rule = unioned.rule and rules.model = unioned.checked_model
    order by source_file, source_row, source_month, input_table, failing_column
)

select * from final
