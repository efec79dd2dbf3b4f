-- int_superseded_rows
-- Grain: one row per input row that passed the row checks and that a newer extract replaced: the
-- row's crime (offences), crime and role (victims, suspects) or area x month (counts) is counted from
-- another extract version. Counted directly, so a valid row lost by a model is never mistaken for a
-- superseded one and the reconciliation in quarantine_summary fails.
-- unique_key: input_table, source_file, source_row, month_start
with offences as (
    select 'offences' as input_table, valid.source_file, valid.source_row, cast(null as date) as month_start
    from int_offences_checked as valid
    join int_offences_current as kept on kept.crime_ref = valid.crime_ref
    where valid.quarantine_rule is null
      and (kept.source_file, kept.source_row) <> (valid.source_file, valid.source_row)
),

people as (
    select distinct valid.person_role || 's' as input_table, valid.source_file, valid.source_row,
           cast(null as date) as month_start
    from int_people_checked as valid
    join int_people_current as kept on kept.crime_ref = valid.crime_ref and kept.person_role = valid.person_role
    where valid.quarantine_rule is null
      and (kept.extract_date is distinct from valid.extract_date or kept.source_file <> valid.source_file)
),

-- the extract each area-month is counted from (one per area-month; joined instead of every kept row)
kept_counts as (
    select distinct
        area_level, lower(borough_name) as borough_key, coalesce(ward_code, '') as ward_key, month_start,
        extract_date, source_file
    from int_mps_counts_current
),

counts as (
    select distinct 'counts' as input_table, valid.source_file, valid.source_row, valid.month_start
    from int_mps_counts_checked as valid
    join kept_counts as kept
      on kept.area_level = valid.area_level and kept.borough_key = lower(valid.borough_name)
     and kept.ward_key = coalesce(valid.ward_code, '') and kept.month_start = valid.month_start
    where valid.quarantine_rule is null
      and (kept.extract_date is distinct from valid.extract_date or kept.source_file <> valid.source_file)
),

final as (
    select * from offences
    union all
    select * from people
    union all
    select * from counts
)

select * from final
