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

prepared as (
    select
        people.*,
        people.person_role || 's' as input_table,
        cast(null as date) as source_month,   -- one row per record (no month cells)
        coalesce(cast(people.extract_date as varchar), people.source_file) as extract_version
    from people
),

-- the rules' verdicts (sql/seeds/quarantine_rules.csv), rendered by pipeline/transform/rules.py
checked as (
    {{ checked_rows('prepared') }}
)

select * from checked
