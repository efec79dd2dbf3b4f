-- int_offence_hour_weights
-- Grain: one row per counted record-extract crime x clock hour in which it may have been committed,
-- with its aoristic weight; one row with hour_start null for a crime whose time is unknown or too
-- uncertain. Every crime's weights sum to 1, so a theme's weights sum to its count.
-- unique_key: crime_ref, hour_start
--   time_basis  exact        committed_to blank, equal to committed_from or within an hour of it: weight 1
--                            in the hour of committed_from
--               window       a from/to window over an hour and at most getvariable('temporal_max_window_hours'):
--                            spread evenly over the window's time, each clock hour weighted by the share
--                            of the window it holds (Ratcliffe's aoristic method)
--               long_window  a longer window: too uncertain to place, counted apart (hour_start null)
--               no_time      no committed_from (hour_start null)
with crimes as (
    select
        crime_ref,
        committed_from,
        committed_to,
        case
            when committed_from is null then 'no_time'
            when committed_to is null or committed_to <= committed_from + interval 1 hour then 'exact'
            when epoch(committed_to - committed_from) > 3600 * getvariable('temporal_max_window_hours') then 'long_window'
            else 'window'
        end as time_basis
    from int_offences_current
    where counted
),

exact as (
    select crime_ref, time_basis, date_trunc('hour', committed_from) as hour_start, 1.0 as weight
    from crimes
    where time_basis = 'exact'
),

windowed as (
    select
        crimes.crime_ref,
        crimes.time_basis,
        slots.hour_start,
        epoch(least(crimes.committed_to, slots.hour_start + interval 1 hour) - greatest(crimes.committed_from, slots.hour_start))
            / epoch(crimes.committed_to - crimes.committed_from) as weight
    from crimes
    cross join unnest(generate_series(date_trunc('hour', crimes.committed_from),
                                      crimes.committed_to - interval 1 second, interval 1 hour)) as slots(hour_start)
    where crimes.time_basis = 'window'
),

untimed as (
    select crime_ref, time_basis, cast(null as timestamp) as hour_start, 1.0 as weight
    from crimes
    where time_basis in ('long_window', 'no_time')
),

final as (
    select * from exact
    union all
    select * from windowed where weight > 0
    union all
    select * from untimed
)

select * from final
