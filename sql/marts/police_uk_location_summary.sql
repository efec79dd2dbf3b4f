-- police_uk_location_summary
-- Grain: one row per location method (int_police_uk_located): how data.police.uk rows were placed on
-- the current wards. `rows` counts every loaded row (all forces, all months, anti-social behaviour
-- included); `area_crimes` the notifiable crimes of the area in the current and previous periods.
-- Rows without a location (no_location) are counted in the area's totals (force basis) and in no ward.
-- Empty without data.police.uk input.
-- unique_key: location_method
with methods as (
    select * from (values
        (1, 'point_in_polygon', 'the snapped point lies in a current ward polygon'),
        (2, 'lsoa_best_fit', 'the LSOA code''s best-fit current ward (reference.lsoa_to_ward)'),
        (3, 'outside_wards', 'a point or LSOA code, but on no current ward: in area totals only on a force basis'),
        (4, 'no_location', 'published without a location: in area totals only on a force basis, in no ward')
    ) as t(sort_order, location_method, description)
),

located as (
    select * from int_police_uk_located
),

in_periods as (
    select located.location_method, count(*) as n
    from located
    join periods on located.month_start between periods.period_start and periods.period_end
    where located.in_area and not located.not_notifiable
    group by all
),

by_method as (
    select location_method, count(*) as n, count(*) filter (where in_area) as n_area from located group by all
),

final as (
    select
        methods.location_method,
        methods.description,
        coalesce(by_method.n, 0) as rows,
        coalesce(by_method.n_area, 0) as area_rows,
        coalesce(in_periods.n, 0) as area_crimes,
        pct(coalesce(in_periods.n, 0), sum(coalesce(in_periods.n, 0)) over ()) as area_crimes_pct,
        (select caveat from seed_caveats where topic = 'data.police.uk limited mode') as definition,
        getvariable('run_id') as run_id
    from methods
    left join by_method using (location_method)
    left join in_periods using (location_method)
    where exists (select 1 from located)
    order by methods.sort_order
)

select * from final
