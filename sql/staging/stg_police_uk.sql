-- stg_police_uk
-- Grain: one row per data.police.uk street-level row as read (input file x line), typed. Location
-- and Context (free text) were never loaded; Crime ID is a crime reference, not a person id.
-- unique_key: source_file, source_row
-- The raw rows carry a file number (file_id), not the path, because it is on every row; the path is
-- joined here from raw_police_uk_files, so the rows are keyed by source_file like every other input.
-- The one join: a row's line number. raw_police_uk keeps the read order (rowid); record k of a file is
-- on line k + 1 (header) + the skipped lines (rejected or blank) before it: with the skipped lines
-- s_1 < s_2 < ... of a file, record k comes after s_j when k > s_j - 1 - j.
with source as (
    select raw_police_uk.rowid - files.first_rowid + 1 as record_number, files.source_file, raw_police_uk.*
    from raw_police_uk
    join raw_police_uk_files as files using (file_id)
),

skipped as (
    select file_id, line - 1 - row_number() over (partition by file_id order by line) as after_record
    from raw_police_uk_skipped
),

shifts as (
    select source.file_id, source.record_number, count(*) as lines_skipped
    from source
    join skipped on skipped.file_id = source.file_id and skipped.after_record < source.record_number
    group by all
),

final as (
    select
        ---------- ids
        source.source_file,
        source.record_number + 1 + coalesce(shifts.lines_skipped, 0) as source_row,
        nullif(trim(crime_id), '') as crime_ref,
        ---------- when
        case when regexp_full_match(trim(month), '(19|20)[0-9]{2}-(0[1-9]|1[0-2])')
             then cast(try_strptime_shaped(trim(month) || '-01', '%Y-%m-%d') as date) end as month_start,
        case when not regexp_full_match(trim(month), '(19|20)[0-9]{2}-(0[1-9]|1[0-2])') or month is null
             then month end as month_raw,                                    -- kept only when unreadable
        ---------- the force whose area it is in (Reported by, LSOA name and Last outcome category stay in raw)
        nullif(trim(falls_within), '') as falls_within,
        ---------- where (snapped to an anonymised map point)
        try_cast(nullif(trim(longitude), '') as double) as longitude,
        try_cast(nullif(trim(latitude), '') as double) as latitude,
        case when try_cast(trim(longitude) as double) is null then nullif(trim(longitude), '') end as longitude_raw,
        case when try_cast(trim(latitude) as double) is null then nullif(trim(latitude), '') end as latitude_raw,
        nullif(upper(trim(lsoa_code)), '') as lsoa_code,
        ---------- what
        nullif(trim(crime_type), '') as crime_type
    from source
    left join shifts using (file_id, record_number)
)

select * from final
