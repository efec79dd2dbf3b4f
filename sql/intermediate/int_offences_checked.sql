-- int_offences_checked
-- Grain: one row per offence row read (every extract version), with the first row-level rule it
-- fails (null when it passes). Failing rows go to quarantine; none are dropped silently.
-- unique_key: source_file, source_row
-- An extract version is the extract date (else the file); a crime reference may appear once per
-- version: later copies of a reference whose first valid row is kept are `duplicate_crime_ref`.
-- Rules, their order, conditions and reasons: sql/seeds/quarantine_rules.csv (pipeline/transform/rules.py
-- renders checked_rows, the tail every checked model shares); `failed_rules` lists every rule a row fails, in
-- order, and the Great Expectations suite checks each of them. Each row carries its place on the current boundaries
-- (int_offences_located); coordinates outside the area are `outside_area`.
-- Parameter: run_date (the day of the run; today when unset): a recorded date after it is impossible.
with offences as (
    select * from stg_offences
),

located as (
    select * from int_offences_located
),

stated_periods as (
    select source_file, min(period_start) as extract_period_start, max(period_end) as extract_period_end
    from extract_periods
    group by source_file
),

prepared as (
    select
        offences.*,
        'offences' as input_table,
        cast(null as date) as source_month,   -- one row per record (no month cells)
        stated_periods.extract_period_start,
        stated_periods.extract_period_end,
        coalesce(cast(offences.extract_date as varchar), offences.source_file) as extract_version,
        located.location_method,
        located.current_ward_code,
        located.current_lsoa_code,
        located.x_bng,
        located.y_bng,
        located.distance_outside_m,
        cast(coalesce(getvariable('run_date'), current_date) as date) as run_date
    from offences
    left join stated_periods on stated_periods.source_file = offences.source_file
    left join located on located.source_file = offences.source_file and located.source_row = offences.source_row
),

-- the rules' verdicts (sql/seeds/quarantine_rules.csv), rendered by pipeline/transform/rules.py
checked as (
    {{ checked_rows('prepared') }}
)

select * from checked
