-- domestic_abuse_split
-- Grain: one row per area x theme x DA split (`domestic_abuse` | `not_domestic_abuse`) x period (the
-- current period, with the previous one's count): each theme split by the record's domestic abuse flag,
-- as Bexley's "DA serious violence" and "non-DA serious violence" tables. A record with no flag recorded
-- counts as not DA (flag_not_recorded says how many). Record extracts only: count-only inputs get one
-- `needs_record_extract` row. change, pct_change, p_value and change_flag are null when the extract
-- does not cover both periods in full (int_change_coverage); the definition then says why.
-- unique_key: area_code, theme, da_split, period_label
with crimes as (
    select classified.theme, classified.domestic_abuse, current.domestic_abuse is null as flag_missing, periods.period_role
    from int_offences_classified as classified
    join int_offences_current as current on current.crime_ref = classified.crime_ref
    join periods on classified.event_date between periods.period_start and periods.period_end
    where classified.theme <> 'domestic_abuse'
),

splits as (
    select theme, split.da_split
    from (select distinct theme from int_offences_classified where theme <> 'domestic_abuse') as themes
    cross join (values ('domestic_abuse'), ('not_domestic_abuse')) as split(da_split)
),

counted as (
    select
        theme,
        case when domestic_abuse then 'domestic_abuse' else 'not_domestic_abuse' end as da_split,
        count(*) filter (where period_role = 'current') as count,
        count(*) filter (where period_role = 'previous') as previous_count,
        count(*) filter (where period_role = 'current' and flag_missing) as flag_not_recorded
    from crimes
    group by all
),

coverage as (  -- a change is shown only when both periods are covered in full (int_change_coverage)
    select comparable, change_note
    from int_change_coverage
    where source = 'record_extract' and area_level = 'borough'
),

current_period as (
    select * from periods where period_role = 'current'
),

final as (
    select
        getvariable('area_code') as area_code,
        getvariable('area_name') as area_name,
        splits.theme,
        splits.da_split,
        current_period.period_label,
        cast(coalesce(counted.count, 0) as bigint) as count,
        cast(coalesce(counted.previous_count, 0) as bigint) as previous_count,
        case when coverage.comparable then coalesce(counted.count, 0) - coalesce(counted.previous_count, 0) end
            as change,
        case when coverage.comparable then pct_change(coalesce(counted.count, 0), coalesce(counted.previous_count, 0)) end
            as pct_change,
        pct(coalesce(counted.count, 0), sum(coalesce(counted.count, 0)) over (partition by splits.theme)) as share_of_theme_pct,
        case when coverage.comparable
             then round(change_p_value(coalesce(counted.count, 0), coalesce(counted.previous_count, 0)), 6) end as p_value,
        case when coverage.comparable
             then change_flag(coalesce(counted.count, 0), coalesce(counted.previous_count, 0),
                              change_p_value(coalesce(counted.count, 0), coalesce(counted.previous_count, 0)),
                              getvariable('significance_alpha')) end as change_flag,
        cast(coalesce(counted.flag_not_recorded, 0) as bigint) as flag_not_recorded,
        concat_ws('; ',
            'split by the domestic abuse flag on the record (no flag recorded = not DA); counted by '
                || getvariable('date_basis') || ' date; DA figures before and after March 2024 are not comparable in MPS data',
            coverage.change_note) as definition,
        getvariable('run_id') as run_id
    from splits
    cross join current_period
    left join coverage on true
    left join counted using (theme, da_split)
    union all
    select getvariable('area_code'), getvariable('area_name'), 'needs_record_extract', 'needs_record_extract',
           current_period.period_label, null, null, null, null, null, null, null, null,
           'needs a record extract: MPS count files carry no domestic abuse flag', getvariable('run_id')
    from current_period
    where not exists (select 1 from int_offences_current)
)

select * from final
