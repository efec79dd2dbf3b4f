-- int_people_current
-- Grain: one row per victim or suspect of a current crime, from the latest extract that lists
-- people for that crime and role (older extracts' people are superseded, not double-counted).
-- unique_key: person_role, source_file, source_row
with valid as (
    select * exclude (failed_rules) from int_people_checked where quarantine_rule is null
),

final as (
    select
        * exclude (quarantine_rule),
        age_band(age) as age_band
    from valid
    qualify dense_rank() over (
        partition by crime_ref, person_role order by extract_date desc nulls last, source_file desc
    ) = 1
)

select * from final
