-- change = count - previous_count, in every table that shows a change.
select 'theme_summary' as model, theme, null as ward_code, count, previous_count, change
from theme_summary
where change is distinct from count - previous_count
union all
select 'ward_hotspots', theme, ward_code, count, previous_count, change
from ward_hotspots
where change is distinct from count - previous_count
