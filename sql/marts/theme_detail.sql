-- theme_detail
-- Grain: one row per area x theme x period: the supporting measures behind theme_summary
-- (denominators, DA and knife shares, under-18 victims, the two parts of "suspect age unknown",
-- the share of VAP). Record-extract measures are null when the area's counts come from MPS files.
-- The focus area only: other selected areas (`areas:`) have MPS counts alone (see area_comparison).
-- unique_key: area_code, theme, period_label
with summary as (
    select * from theme_summary where is_focus
),

people as (
    select * from int_theme_people_measures where period_role = 'current'
),

vap as (
    select count as vap_count from summary where theme = 'vap'
),

final as (
    select
        summary.area_code,
        summary.area_name,
        summary.theme,
        summary.period_label,
        summary.count,
        case when summary.theme in ('vwi', 'homicide') then pct(summary.count, vap.vap_count) end as share_of_vap_pct,
        people.da_offences,
        pct(people.da_offences, people.offences) as da_share_pct,
        people.knife_offences,
        people.victims,
        people.victims_known_age,
        people.victims_u25,
        people.victims_u18,
        pct(people.victims_u18, people.victims_known_age) as victims_u18_pct,
        people.suspects,
        people.suspects_known_age,
        people.suspects_u25,
        people.offences_no_suspect,
        pct(people.offences_no_suspect, people.offences) as suspect_none_recorded_pct,
        people.offences_suspect_age_missing,
        pct(people.offences_suspect_age_missing, people.offences) as suspect_age_missing_pct,
        summary.run_id
    from summary
    cross join vap
    left join people on people.theme = summary.theme and summary.definition like 'source: record_extract%'
)

select * from final
