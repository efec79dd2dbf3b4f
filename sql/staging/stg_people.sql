-- stg_people
-- Grain: one row per victim or suspect row read from a record extract (every extract version), typed.
-- unique_key: person_role, source_file, source_row
-- Victims and suspects share one shape; `person_role` says which.
with victims as (
    select 'victim' as person_role, * from raw_victims
),

suspects as (
    select 'suspect' as person_role, * from raw_suspects
),

unioned as (
    select * from victims
    union all by name
    select * from suspects
),

final as (
    select
        person_role,
        source_file,
        source_row,
        cast(parse_timestamp(extract_date) as date) as extract_date,
        extract_date as extract_date_raw,
        nullif(trim(crime_ref), '') as crime_ref,
        person_ref,
        parse_age(age) as age,
        age as age_raw,
        age_is_unknown_word(age) as age_unknown,
        parse_sex(sex) as sex,
        nullif(trim(ethnicity), '') as ethnicity
    from unioned
)

select * from final
