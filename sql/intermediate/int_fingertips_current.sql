-- int_fingertips_current
-- Grain: one row per indicator x area x sex x age x category x time period that passed every rule.
-- unique_key: source_file, source_row
with valid as (
    select * exclude (failed_rules, quarantine_rule) from int_fingertips_checked where quarantine_rule is null
)

select * from valid
