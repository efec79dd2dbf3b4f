-- int_mps_counts_checked
-- Grain: one row per source file x area x MPS category x month, with the first rule it fails.
-- unique_key: source_file, source_row, month_start
-- A count is a whole number written with digits; an area x category x month appears once per file
-- (a repeated row would double-count): later copies are `duplicate_count_row`.
-- Rules, their order, conditions and reasons: sql/seeds/quarantine_rules.csv (model int_mps_counts_checked); `failed_rules`
-- lists every rule a row fails, in order; `quarantine_rule` is the first.
with counts as (
    select * from stg_mps_counts
),

ruled as (
    select counts.*, {{ row_rules }} as failed_row_rules
    from counts
),

first_failed as (
    select *, failed_row_rules[1] as row_rule from ruled
),

checked as (
    select
        * exclude (failed_row_rules, row_rule),
        failed_row_rules || {{ copy_rules }} as failed_rules
    from first_failed
),

final as (
    select *, failed_rules[1] as quarantine_rule from checked
)

select * from final
