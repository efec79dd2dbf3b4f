-- int_change_coverage
-- Grain: one row per source x area level (borough | ward): both periods' month coverage side by side
-- (int_period_coverage), and whether a change between them may be shown (comparable, change_note): the
-- one source of that rule for every mart showing a change.
-- unique_key: source, area_level
with coverage as (
    select * from int_period_coverage
),

side_by_side as (
    select
        source,
        area_level,
        coalesce(max(months_covered) filter (where period_role = 'current'), 0) as months_covered,
        max(months_in_period) filter (where period_role = 'current') as months_in_period,
        coalesce(max(months_covered) filter (where period_role = 'previous'), 0) as previous_months_covered,
        max(months_in_period) filter (where period_role = 'previous') as previous_months_in_period
    from coverage
    group by all
),

final as (
    select
        *,
        change_comparable(months_covered, months_in_period, previous_months_covered, previous_months_in_period)
            as comparable,
        change_note(months_covered, months_in_period, previous_months_covered, previous_months_in_period)
            as change_note
    from side_by_side
)

select * from final
