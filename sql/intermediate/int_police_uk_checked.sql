-- int_police_uk_checked
-- Grain: one row per data.police.uk row that fails a rule (the rows held back), with its file and line,
-- every rule it fails and the first. The rows that pass are the rest of stg_police_uk (int_police_uk_located).
-- unique_key: source_file, source_row
-- Rules, their order, conditions and reasons: sql/seeds/quarantine_rules.csv (model int_police_uk_checked):
-- invalid_month, missing_crime_type, unknown_crime_type (not one of the 14 types in
-- seed_police_uk_crime_type_themes), invalid_coordinates (not numbers in Great Britain's ranges, or one
-- of the pair only; both blank = no location, allowed), missing_crime_ref (a notifiable type with no
-- Crime ID: only anti-social behaviour rows are published without one), duplicate_crime_id (the same
-- Crime ID on an earlier row, in file and line order: the crime counts once). `failed_rules` lists every
-- rule a row fails, in order; `quarantine_rule` is the first.
-- The rules' verdicts are worked out on the candidates only: the rows that fail a row rule, and the rows
-- whose Crime ID is on more than one row that passes them (found by a group-by on the Crime ID alone,
-- which is where a window over every row and column spent the time).
with crime_types as (
    select distinct lower(crime_type) as crime_type_key, theme is null and match = 'excluded' as excluded
    from seed_police_uk_crime_type_themes
),

crimes as not materialized (
    select
        stg.row_id, stg.file_id, stg.crime_ref, stg.month_start, stg.month_raw, stg.falls_within,
        stg.longitude, stg.latitude, stg.longitude_raw, stg.latitude_raw, stg.lsoa_code, stg.crime_type,
        stg.longitude is not null or stg.longitude_raw is not null as longitude_given,
        stg.latitude is not null or stg.latitude_raw is not null as latitude_given,
        crime_types.excluded as not_notifiable
    from stg_police_uk as stg
    left join crime_types on crime_types.crime_type_key = lower(stg.crime_type)
),

repeated_refs as (
    select crime_ref
    from crimes
    where crime_ref is not null and not ({{ fails_row_rules }})
    group by crime_ref
    having count(*) > 1
),

candidates as (
    select * from crimes
    where ({{ fails_row_rules }}) or crime_ref in (select crime_ref from repeated_refs)
),

-- a candidate's line: record k of a file is on line k + 1 (header) + the skipped lines (rejected or
-- blank) before it: with the skipped lines s_1 < s_2 < ... of a file, record k comes after s_j when k > s_j - 1 - j
numbered as (
    select candidates.row_id - files.first_rowid + 1 as record_number, files.source_file, candidates.*
    from candidates
    join raw_police_uk_files as files using (file_id)
),

skipped as (
    select file_id, line - 1 - row_number() over (partition by file_id order by line) as after_record
    from raw_police_uk_skipped
),

shifts as (
    select numbered.row_id, count(*) as lines_skipped
    from numbered
    join skipped on skipped.file_id = numbered.file_id and skipped.after_record < numbered.record_number
    group by all
),

typed as (
    select
        numbered.* exclude (record_number),
        numbered.record_number + 1 + coalesce(shifts.lines_skipped, 0) as source_row,
        'crimes' as input_table,
        cast(null as date) as source_month   -- one row per record (no month cells)
    from numbered
    left join shifts using (row_id)
),

-- the rules' verdicts (sql/seeds/quarantine_rules.csv), rendered by pipeline/transform/rules.py
checked as (
    {{ checked_rows('typed') }}
),

final as (
    -- longitude_given and latitude_given only serve the invalid_coordinates condition
    select * exclude (longitude_given, latitude_given) from checked
    where quarantine_rule is not null
)

select * from final
