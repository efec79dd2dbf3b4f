-- Crimes placed on wards can never outnumber the area's crimes for the theme (some are placed in no ward).
select theme, sum(count) as ward_total, max(area_count) as area_count
from ward_hotspots
where count is not null and area_count is not null
group by theme
having sum(count) > max(area_count)
