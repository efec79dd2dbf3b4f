-- A priority part is a percent rank (0 to 1) and the score 100 x their weighted mean (0 to 100); a rank by
-- score exists exactly when a score does.
select area_code, level, theme, ward_code, priority_score, priority_rank
from priorities
where not coalesce(priority_score between 0 and 100, true)
   or not coalesce(volume_score between 0 and 1, true)
   or not coalesce(harm_score between 0 and 1, true)
   or not coalesce(trend_score between 0 and 1, true)
   or not coalesce(concentration_score between 0 and 1, true)
   or (priority_score is null) <> (priority_rank is null)
