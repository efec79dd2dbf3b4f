-- Every victim in people_profile's age bands is in victim_rates, once per dimension.
with rates as (
    select theme, period_role, dimension, sum(victims) as victims
    from victim_rates where victims is not null group by all
),

profile as (
    select theme, period_role, sum(count) as victims
    from people_profile where person_role = 'victim' and dimension = 'age_band' group by all
)

select rates.*, profile.victims as people_profile_victims
from rates
full join profile using (theme, period_role)
where coalesce(rates.victims, 0) <> coalesce(profile.victims, 0)
