-- int_offences_checked
-- Grain: one row per offence row read (every extract version), with the first row-level rule it
-- fails (null when it passes). Failing rows go to quarantine; none are dropped silently.
-- unique_key: source_file, source_row
-- An extract version is the extract date (else the file); a crime reference may appear once per
-- version: later copies of a reference whose first valid row is kept are `duplicate_crime_ref`.
-- Rules and reasons: sql/seeds/quarantine_rules.csv; the GX suite in pipeline/validation.py
-- re-checks every row that passes. Each row carries its place on the current boundaries
-- (int_offences_located); coordinates outside the area are `outside_area`.
-- Parameter: run_date (the day of the run; today when unset): a recorded date after it is impossible.
with offences as (
    select * from stg_offences
),

located as (
    select * from int_offences_located
),

known_codes as (
    select distinct ho_code from seed_ho_offence_codes
),

stated_periods as (
    select source_file, min(period_start) as extract_period_start, max(period_end) as extract_period_end
    from extract_periods
    group by source_file
),

ruled as (
    select
        offences.*,
        stated_periods.extract_period_start,
        stated_periods.extract_period_end,
        coalesce(cast(offences.extract_date as varchar), offences.source_file) as extract_version,
        located.location_method,
        located.current_ward_code,
        located.current_lsoa_code,
        located.x_bng,
        located.y_bng,
        located.distance_outside_m,
        cast(coalesce(getvariable('run_date'), current_date) as date) as run_date,
        case
            when crime_ref is null then 'missing_crime_ref'
            when extract_date is null and extract_date_raw is not null then 'unparseable_extract_date'
            when recorded_date is null then 'unparseable_recorded_date'
            when recorded_date > extract_date then 'recorded_after_extract'
            when recorded_date > cast(coalesce(getvariable('run_date'), current_date) as date) then 'future_recorded_date'
            when recorded_date < stated_periods.extract_period_start
              or recorded_date > stated_periods.extract_period_end then 'outside_extract_period'
            when committed_to < committed_from then 'committed_to_before_from'
            when ho_code is null then 'missing_ho_code'
            when ho_code not in (select ho_code from known_codes) then 'unknown_offence_code'
            when not domestic_abuse_valid then 'invalid_domestic_abuse_flag'
            when not knife_valid then 'invalid_knife_flag'
            when status not in ('recorded', 'cancelled', 'transferred') then 'unknown_status'
            when located.location_method = 'outside_area' then 'outside_area'
        end as row_rule
    from offences
    left join stated_periods on stated_periods.source_file = offences.source_file
    left join located on located.source_file = offences.source_file and located.source_row = offences.source_row
),

numbered as (
    select
        *,
        case when row_rule is null then row_number() over (
            partition by extract_version, crime_ref, row_rule is null order by source_file, source_row
        ) end as copy_in_version
    from ruled
),

final as (
    select
        numbered.* exclude (row_rule, copy_in_version),
        coalesce(row_rule, case when copy_in_version > 1 then 'duplicate_crime_ref' end) as quarantine_rule
    from numbered
)

select * from final
