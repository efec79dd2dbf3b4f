-- stg_police_uk
-- Grain: one row per data.police.uk street-level row as read, typed. Location and Context (free text)
-- were never loaded; Crime ID is a crime reference, not a person id.
-- unique_key: row_id
-- A row is keyed by row_id, its position in raw_police_uk (read order), and file_id, its file
-- (raw_police_uk_files). Its line number is worked out only for the rows a rule holds back
-- (int_police_uk_checked): on millions of rows the join that gives every row its line is the cost.
-- Each column is trimmed once (trim_spaces); no regular expression: a month is read when it is seven
-- characters, 19xx or 20xx, a '-' fifth, a date with '-01' added, and that date written %Y-%m is the
-- month again (the same strings as (19|20)[0-9]{2}-(0[1-9]|1[0-2]); tests/unit/sources/test_police_uk.py).
with source as (
    select
        rowid as row_id,
        file_id,
        month as month_given,
        trim_spaces(crime_id) as crime_id,
        trim_spaces(month) as month,
        trim_spaces(falls_within) as falls_within,
        trim_spaces(longitude) as longitude,
        trim_spaces(latitude) as latitude,
        trim_spaces(lsoa_code) as lsoa_code,
        trim_spaces(crime_type) as crime_type
    from raw_police_uk
),

typed as (
    select
        *,
        case when length(month) = 7 and month[5] = '-' and left(month, 2) in ('19', '20')
             then try_cast(month || '-01' as date) end as month_cast,
        try_cast(longitude as double) as longitude_number,
        try_cast(latitude as double) as latitude_number
    from source
),

dated as (  -- the cast is lenient ('20-3-01-01' is a date): the month must read back as it was written
    select * exclude (month_cast), case when strftime(month_cast, '%Y-%m') = month then month_cast end as month_start
    from typed
),

final as (
    select
        ---------- ids
        row_id,
        file_id,
        nullif(crime_id, '') as crime_ref,
        ---------- when
        month_start,
        case when month_start is null then month_given end as month_raw,   -- kept only when unreadable
        ---------- the force whose area it is in (Reported by, LSOA name and Last outcome category are not loaded)
        nullif(falls_within, '') as falls_within,
        ---------- where (snapped to an anonymised map point)
        longitude_number as longitude,
        latitude_number as latitude,
        case when longitude_number is null then nullif(longitude, '') end as longitude_raw,
        case when latitude_number is null then nullif(latitude, '') end as latitude_raw,
        nullif(upper(lsoa_code), '') as lsoa_code,
        ---------- what
        nullif(crime_type, '') as crime_type
    from dated
)

select * from final
