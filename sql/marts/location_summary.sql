-- location_summary
-- Grain: one row per location method (int_offences_located): how record-extract crimes were placed
-- on the current ward boundaries, for the run report. `rows_read` counts every offence row read
-- (all extract versions, including quarantined rows); `crimes` counts current, counted crimes;
-- `crimes_in_periods` those recorded in the current or previous period. Empty without a record extract.
-- unique_key: location_method
with methods as (
    select * from (values
        (1, 'point_in_polygon', 'coordinates inside a current ward'),
        (2, 'point_snapped', 'coordinates just outside the boundary (within the snap tolerance): nearest ward'),
        (3, 'lsoa_best_fit', 'no usable coordinates: the recorded LSOA''s best-fit current ward'),
        (4, 'recorded_ward', 'no usable coordinates or current LSOA: the recorded ward, which is in the current set'),
        (5, 'recorded_ward_name', 'no usable coordinates, current LSOA or ward code: the recorded ward name, a current ward''s'),
        (6, 'previous_ward_name_best_fit', 'the recorded ward name is a previous ward''s: the current ward holding most of its residents (LSOA best fit)'),
        (7, 'unlocated', 'no usable location: counted in area totals, in no ward'),
        (8, 'outside_area', 'coordinates outside the area: quarantined (rule outside_area)')
    ) as t(sort_order, location_method, description)
),

rows_read as (
    select location_method, count(*) as n from int_offences_located group by all
),

crimes as (
    select
        location_method,
        count(*) as n,
        count(*) filter (where exists (
            select 1 from periods where event_date between periods.period_start and periods.period_end
        )) as n_in_periods
    from int_offences_current
    where counted
    group by all
),

final as (
    select
        methods.location_method,
        methods.description,
        coalesce(rows_read.n, 0) as rows_read,
        coalesce(crimes.n, 0) as crimes,
        pct(coalesce(crimes.n, 0), sum(coalesce(crimes.n, 0)) over ()) as crimes_pct,
        coalesce(crimes.n_in_periods, 0) as crimes_in_periods,
        getvariable('run_id') as run_id
    from methods
    left join rows_read using (location_method)
    left join crimes using (location_method)
    where exists (select 1 from stg_offences)
    order by methods.sort_order
)

select * from final
