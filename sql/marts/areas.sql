-- areas
-- Grain: one row per area the run knows: each area in the inputs, the focus area and its neighbours
-- (int_areas), with the flags saying which the run reports on (is_selected) and their residents.
-- unique_key: area_name
with areas as (
    select * from int_areas
),

final as (
    select
        area_code,
        area_name,
        is_focus,
        is_neighbour,
        is_selected,
        in_inputs,
        shared_border_m,
        residents,
        residents_source,
        getvariable('run_id') as run_id
    from areas
    order by not is_focus, not is_neighbour, area_name
)

select * from final
