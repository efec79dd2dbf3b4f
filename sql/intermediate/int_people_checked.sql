-- int_people_checked
-- Grain: one row per victim or suspect row read, with the first rule it fails (null = passes).
with people as (
    select * from stg_people
),

offence_refs as (
    select distinct crime_ref from stg_offences where crime_ref is not null
),

final as (
    select
        people.*,
        case
            when crime_ref is null then 'missing_crime_ref'
            when age is null and not age_unknown then 'unparseable_age'
            when age not between 0 and 120 then 'age_out_of_range'
            when crime_ref not in (select crime_ref from offence_refs) then 'orphan_person_no_offence'
            when crime_ref not in (select crime_ref from int_offences_current) then 'offence_quarantined'
        end as quarantine_rule
    from people
)

select * from final
