-- int_change_coverage
-- Grain: one row per source x area level (borough | ward): both periods' month coverage side by side
-- (int_period_coverage), the one input of change_comparable / change_note for every mart showing a change.
-- unique_key: source, area_level
with coverage as (
    select * from int_period_coverage
),

final as (
    select
        source,
        area_level,
        coalesce(max(months_covered) filter (where period_role = 'current'), 0) as months_covered,
        max(months_in_period) filter (where period_role = 'current') as months_in_period,
        coalesce(max(months_covered) filter (where period_role = 'previous'), 0) as previous_months_covered,
        max(months_in_period) filter (where period_role = 'previous') as previous_months_in_period
    from coverage
    group by all
)

select * from final
