-- quarantine
-- Grain: one row per input row that failed a row-level rule: file, line, the column and value that
-- failed, the rule and its reason (sql/seeds/quarantine_rules.csv). Only the crime reference and the
-- failing value are kept, never the whole record (it may hold personal data); malformed CSV lines
-- (wrong field count, undecodable bytes) keep a detail such as "17 fields; the header has 16".
-- (wide MPS files: one row per month cell, `source_month`; null for other inputs).
-- unique_key: source_file, source_row, source_month, input_table, failing_column, rule
with offences as (
    select source_file, source_row, cast(null as date) as source_month, 'offences' as input_table, quarantine_rule as rule, crime_ref,
           case quarantine_rule
               when 'missing_crime_ref' then 'crime_ref'
               when 'unparseable_extract_date' then 'extract_date'
               when 'unparseable_recorded_date' then 'recorded_date'
               when 'recorded_after_extract' then 'recorded_date'
               when 'future_recorded_date' then 'recorded_date'
               when 'outside_extract_period' then 'recorded_date'
               when 'committed_to_before_from' then 'committed_to'
               when 'missing_ho_code' then 'ho_code'
               when 'unknown_offence_code' then 'ho_code'
               when 'invalid_domestic_abuse_flag' then 'domestic_abuse'
               when 'invalid_knife_flag' then 'knife'
               when 'unknown_status' then 'status'
               when 'duplicate_crime_ref' then 'crime_ref'
               when 'outside_area' then 'coordinates'
           end as failing_column,
           case quarantine_rule
               when 'outside_area' then cast(round(distance_outside_m) as bigint) || ' m outside the area'
               when 'unparseable_extract_date' then extract_date_raw
               when 'unparseable_recorded_date' then recorded_date_raw
               when 'recorded_after_extract' then strftime(recorded_date, '%Y-%m-%d') || ' > extract ' || strftime(extract_date, '%Y-%m-%d')
               when 'future_recorded_date' then strftime(recorded_date, '%Y-%m-%d') || ' > run date ' || strftime(run_date, '%Y-%m-%d')
               when 'committed_to_before_from' then strftime(committed_to, '%Y-%m-%d %H:%M') || ' < from ' || strftime(committed_from, '%Y-%m-%d %H:%M')
               when 'outside_extract_period' then strftime(recorded_date, '%Y-%m-%d') || ' not in ' || strftime(extract_period_start, '%Y-%m-%d') || '..' || strftime(extract_period_end, '%Y-%m-%d')
               when 'unknown_offence_code' then ho_code_raw
               when 'invalid_domestic_abuse_flag' then domestic_abuse_raw
               when 'invalid_knife_flag' then knife_raw
               when 'unknown_status' then status
               when 'duplicate_crime_ref' then crime_ref
           end as failing_value
    from int_offences_checked
    where quarantine_rule is not null
),

people as (
    select source_file, source_row, cast(null as date) as source_month, person_role || 's' as input_table, quarantine_rule as rule, crime_ref,
           case quarantine_rule
               when 'missing_crime_ref' then 'crime_ref'
               when 'unparseable_extract_date' then 'extract_date'
               when 'unparseable_age' then 'age'
               when 'age_out_of_range' then 'age'
               when 'orphan_person_no_offence' then 'crime_ref'
               when 'offence_quarantined' then 'crime_ref'
               when 'duplicate_person' then 'person_ref'
           end as failing_column,
           case quarantine_rule
               when 'unparseable_extract_date' then extract_date_raw
               when 'unparseable_age' then age_raw
               when 'age_out_of_range' then age_raw
               when 'orphan_person_no_offence' then crime_ref
               when 'offence_quarantined' then crime_ref
           end as failing_value
    from int_people_checked
    where quarantine_rule is not null
),

counts as (
    select source_file, source_row, month_start as source_month, 'counts' as input_table, quarantine_rule as rule, cast(null as varchar) as crime_ref,
           case quarantine_rule
               when 'invalid_count' then strftime(month_start, '%Y%m')
               else 'MajorText/MinorText'
           end as failing_column,
           case quarantine_rule
               when 'invalid_count' then coalesce(count_raw, '')
               else major_text || ' / ' || minor_text || ' (' || borough_name || coalesce(' ' || ward_code, '') || ')'
           end as failing_value
    from int_mps_counts_checked
    where quarantine_rule is not null
),

police_uk as (
    select files.source_file, source_row, cast(null as date) as source_month, 'crimes' as input_table, quarantine_rule as rule, crime_ref,
           case quarantine_rule
               when 'invalid_month' then 'Month'
               when 'missing_crime_type' then 'Crime type'
               when 'unknown_crime_type' then 'Crime type'
               when 'invalid_coordinates' then 'Longitude/Latitude'
               when 'missing_crime_ref' then 'Crime ID'
               when 'duplicate_crime_id' then 'Crime ID'
           end as failing_column,
           case quarantine_rule
               when 'invalid_month' then month_raw
               when 'unknown_crime_type' then crime_type
               when 'invalid_coordinates' then coalesce(longitude_raw, cast(longitude as varchar), 'blank') || ', '
                   || coalesce(latitude_raw, cast(latitude as varchar), 'blank')
               when 'duplicate_crime_id' then crime_ref
           end as failing_value
    from int_police_uk_checked
    join raw_police_uk_files as files using (file_id)
    where quarantine_rule is not null
),

malformed as (
    select source_file, source_row, cast(null as date) as source_month, input_table, rule, cast(null as varchar) as crime_ref,
           cast(null as varchar) as failing_column, detail as failing_value
    from raw_rejects
),

unioned as (
    select * from offences
    union all select * from people
    union all select * from counts
    union all select * from police_uk
    union all select * from malformed
),

final as (
    select unioned.*, rules.reason, getvariable('run_id') as run_id
    from unioned
    left join seed_quarantine_rules as rules on rules.rule = unioned.rule
    order by source_file, source_row, source_month, input_table, failing_column
)

select * from final
