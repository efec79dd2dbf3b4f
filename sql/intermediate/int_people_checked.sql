-- int_people_checked
-- Grain: one row per victim or suspect row read, with the first rule it fails (null = passes).
-- unique_key: person_role, source_file, source_row
-- A person (pseudonymised reference) is listed once per crime, role and extract version: later
-- copies are `duplicate_person`, so a victim is never counted twice.
-- Rules, their order, conditions and reasons: sql/seeds/quarantine_rules.csv (model int_people_checked); `failed_rules`
-- lists every rule a row fails, in order; `quarantine_rule` is the first.
with people as (
    select * from stg_people
),

ruled as (
    select
        people.*,
        coalesce(cast(people.extract_date as varchar), people.source_file) as extract_version,
        {{ row_rules }} as failed_row_rules
    from people
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
