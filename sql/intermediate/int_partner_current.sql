-- int_partner_current
-- Grain: one row per partner table row that passed every rule: a count of one measure for one area
-- or ward, period and breakdown (age band, sex, weapon).
-- unique_key: source_file, source_row
with valid as (
    select * exclude (failed_rules, quarantine_rule, crime_ref) from int_partner_checked
    where quarantine_rule is null
),

final as (
    select * exclude (count_value, count_suppressed), count_value as count
    from valid
)

select * from final
