-- int_partner_area
-- Grain: one row per partner measure x partner period (start, end) for the run's area: the counts of
-- every breakdown row added up (all ages, sexes, weapons; every ward when the table is by ward).
-- unique_key: measure, period_start, period_end
-- A row is the area's when its area is the run's area (name or ONS code) or it names a ward and no area
-- (a partner's own table by ward). Under-25 measures are defined as such in sql/seeds/partner_measures.csv.
with rows_for_area as (
    select *
    from int_partner_current
    where area_key(area) = area_key(getvariable('area_name'))
       or upper(trim(area)) = upper(getvariable('area_code'))
       or (area is null and ward_code is not null)
),

final as (
    select
        measure,
        period_start,
        period_end,
        any_value(period_months) as period_months,
        sum(count) as count,
        count(*) as rows,
        string_agg(distinct provider, '; ' order by provider) as provider
    from rows_for_area
    group by all
)

select * from final
