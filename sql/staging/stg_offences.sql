-- stg_offences
-- Grain: one row per offence row read from a record extract (every extract version), typed.
-- unique_key: source_file, source_row
-- Renames and types only; the *_raw columns keep the text as read so quarantine can show it.
with source as (
    select * from raw_offences
),

final as (
    select
        source_file,
        source_row,
        cast(parse_timestamp(extract_date) as date) as extract_date,
        extract_date as extract_date_raw,
        nullif(trim(crime_ref), '') as crime_ref,
        cast(parse_timestamp(recorded_date) as date) as recorded_date,
        recorded_date as recorded_date_raw,
        parse_timestamp(committed_from) as committed_from,
        parse_timestamp(committed_to) as committed_to,
        norm_ho_code(ho_code) as ho_code,
        ho_code as ho_code_raw,
        offence_description,
        borough,
        nullif(upper(trim(ward_code)), '') as ward_code,
        nullif(trim(ward_name), '') as ward_name,
        nullif(upper(trim(lsoa_code)), '') as lsoa_code,
        try_cast(easting as double) as easting,
        try_cast(northing as double) as northing,
        try_cast(latitude as double) as latitude,
        try_cast(longitude as double) as longitude,
        parse_flag(domestic_abuse) as domestic_abuse,
        flag_is_valid(domestic_abuse) as domestic_abuse_valid,
        domestic_abuse as domestic_abuse_raw,
        parse_flag(knife) as knife,
        flag_is_valid(knife) as knife_valid,
        knife as knife_raw,
        coalesce(lower(nullif(trim(status), '')), 'recorded') as status
    from source
)

select * from final
