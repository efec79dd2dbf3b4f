-- int_offences_checked
-- Grain: one row per offence row read (every extract version), with the first row-level rule it
-- fails (null when it passes). Failing rows go to quarantine; none are dropped silently.
with offences as (
    select * from stg_offences
),

known_codes as (
    select distinct ho_code from seed_ho_offence_codes
),

numbered as (
    select
        *,
        row_number() over (partition by source_file, crime_ref order by source_row) as copy_in_file
    from offences
),

final as (
    select
        numbered.* exclude (copy_in_file),
        case
            when crime_ref is null then 'missing_crime_ref'
            when recorded_date is null then 'unparseable_recorded_date'
            when ho_code is null then 'missing_ho_code'
            when ho_code not in (select ho_code from known_codes) then 'unknown_offence_code'
            when not domestic_abuse_valid then 'invalid_domestic_abuse_flag'
            when not knife_valid then 'invalid_knife_flag'
            when status not in ('recorded', 'cancelled', 'transferred') then 'unknown_status'
            when copy_in_file > 1 then 'duplicate_crime_ref'
        end as quarantine_rule
    from numbered
)

select * from final
