-- int_people_checked
-- Grain: one row per victim or suspect row read, with the first rule it fails (null = passes).
-- unique_key: person_role, source_file, source_row
-- A person (pseudonymised reference) is listed once per crime, role and extract version: later
-- copies are `duplicate_person`, so a victim is never counted twice.
with people as (
    select * from stg_people
),

offence_refs as (
    select distinct crime_ref from stg_offences where crime_ref is not null
),

ruled as (
    select
        people.*,
        coalesce(cast(people.extract_date as varchar), people.source_file) as extract_version,
        case
            when crime_ref is null then 'missing_crime_ref'
            when extract_date is null and extract_date_raw is not null then 'unparseable_extract_date'
            when age is null and not age_unknown then 'unparseable_age'
            when age not between 0 and 120 then 'age_out_of_range'
            when crime_ref not in (select crime_ref from offence_refs) then 'orphan_person_no_offence'
            when crime_ref not in (select crime_ref from int_offences_current) then 'offence_quarantined'
        end as row_rule
    from people
),

numbered as (
    select
        *,
        case when row_rule is null and person_ref is not null then row_number() over (
            partition by extract_version, person_role, crime_ref, person_ref, row_rule is null
            order by source_file, source_row
        ) end as copy_in_version
    from ruled
),

final as (
    select
        numbered.* exclude (row_rule, copy_in_version),
        coalesce(row_rule, case when copy_in_version > 1 then 'duplicate_person' end) as quarantine_rule
    from numbered
)

select * from final
