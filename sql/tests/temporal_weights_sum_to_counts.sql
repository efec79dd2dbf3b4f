-- Aoristic weights are shares of one crime: over a view's buckets they sum to its crimes, and the
-- day x hour view's crimes are the theme's count in theme_summary's source for the current period.
with sums as (
    select theme, period_role, view, sum(weighted_count) as weights, max(crimes) as crimes
    from temporal_profile
    where weighted_count is not null
    group by all
)

select sums.*, summary.count as theme_count
from sums
left join theme_summary as summary on summary.theme = sums.theme and summary.is_focus
where abs(sums.weights - sums.crimes) > 0.001
   or (sums.view = 'day_hour' and sums.period_role = 'current' and sums.crimes <> summary.count)
