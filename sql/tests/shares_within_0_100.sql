-- A share is a part of a whole: 0 to 100 (percentage changes are not shares and may exceed 100).
select area_code, theme, share_of_all_crime_pct, victims_u25_pct, victim_age_unknown_pct,
       suspects_u25_pct, suspect_age_unknown_pct
from theme_summary
where not coalesce(share_of_all_crime_pct between 0 and 100, true)
   or not coalesce(victims_u25_pct between 0 and 100, true)
   or not coalesce(victim_age_unknown_pct between 0 and 100, true)
   or not coalesce(suspects_u25_pct between 0 and 100, true)
   or not coalesce(suspect_age_unknown_pct between 0 and 100, true)
