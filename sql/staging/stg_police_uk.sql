-- stg_police_uk
-- Grain: one row per data.police.uk street-level row as read (input file x line), typed. Location
-- and Context (free text) were never loaded; Crime ID is a crime reference, not a person id.
-- unique_key: source_file, source_row
with source as (
    select * from raw_police_uk
),

final as (
    select
        ---------- ids
        source_file,
        source_row,
        nullif(trim(crime_id), '') as crime_ref,
        ---------- when
        case when regexp_full_match(trim(month), '(19|20)[0-9]{2}-(0[1-9]|1[0-2])')
             then cast(strptime(trim(month) || '-01', '%Y-%m-%d') as date) end as month_start,
        month as month_raw,
        ---------- who recorded it
        nullif(trim(reported_by), '') as reported_by,
        nullif(trim(falls_within), '') as falls_within,
        ---------- where (snapped to an anonymised map point)
        try_cast(nullif(trim(longitude), '') as double) as longitude,
        try_cast(nullif(trim(latitude), '') as double) as latitude,
        nullif(trim(longitude), '') as longitude_raw,
        nullif(trim(latitude), '') as latitude_raw,
        nullif(upper(trim(lsoa_code)), '') as lsoa_code,
        nullif(trim(lsoa_name), '') as lsoa_name,
        ---------- what
        nullif(regexp_replace(trim(crime_type), '\s+', ' ', 'g'), '') as crime_type,
        nullif(trim(last_outcome_category), '') as last_outcome_category
    from source
)

select * from final
