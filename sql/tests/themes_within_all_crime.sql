-- Every theme is a subset of all notifiable crime in the same source and period.
select theme.area_code, theme.theme, theme.count, total.count as all_crime
from theme_summary as theme
join theme_summary as total using (area_name, period_label)
where total.theme = 'all_crime'
  and (theme.count > total.count or theme.previous_count > total.previous_count)
