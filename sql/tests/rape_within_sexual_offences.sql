-- Rape is a subset of sexual offences: its count can never be larger (DESIGN §6.1).
select rape.area_name, rape.period_label, rape.count as rape, sexual.count as sexual_offences
from theme_summary as rape
join theme_summary as sexual using (area_name, period_label)
where rape.theme = 'rape' and sexual.theme = 'sexual_offences'
  and (rape.count > sexual.count or rape.previous_count > sexual.previous_count)
