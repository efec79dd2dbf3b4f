-- quarantine
-- Grain: one row per input row that failed a row-level rule: file, line, rule, reason and the
-- failing value only (never the whole record, which may hold personal data).
with offences as (
    select source_file, source_row, 'offences' as input_table, quarantine_rule as rule, crime_ref,
           case quarantine_rule
               when 'unparseable_recorded_date' then recorded_date_raw
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
    select source_file, source_row, person_role || 's' as input_table, quarantine_rule as rule, crime_ref,
           case when quarantine_rule in ('unparseable_age', 'age_out_of_range') then age_raw end as failing_value
    from int_people_checked
    where quarantine_rule is not null
),

counts as (
    select source_file, source_row, 'counts' as input_table, quarantine_rule as rule, cast(null as varchar) as crime_ref,
           case quarantine_rule
               when 'invalid_count' then strftime(month_start, '%Y%m') || '=' || coalesce(count_raw, '')
               else major_text || ' / ' || minor_text
           end as failing_value
    from int_mps_counts_checked
    where quarantine_rule is not null
),

malformed as (
    select source_file, source_row, input_table, rule, cast(null as varchar) as crime_ref, cast(null as varchar) as failing_value
    from raw_rejects
),

unioned as (
    select * from offences
    union all select * from people
    union all select * from counts
    union all select * from malformed
),

final as (
    select unioned.*, rules.reason, getvariable('run_id') as run_id
    from unioned
    left join seed_quarantine_rules as rules on rules.rule = unioned.rule
    order by source_file, source_row, input_table
)

select * from final
