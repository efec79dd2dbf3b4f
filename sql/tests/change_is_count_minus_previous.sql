-- change = count - previous_count, in every table that shows a change; a change left null on two
-- counts says why (change_note: a period not covered in full by the inputs).
with changes as (
    select 'theme_summary' as model, theme, null as ward_code, count, previous_count, change, change_note
    from theme_summary
    union all
    select 'ward_hotspots', theme, ward_code, count, previous_count, change, change_note
    from ward_hotspots
    union all
    select 'ward_summary', theme, ward_code, count, previous_count, change, change_note
    from ward_summary
),

final as (
    select * from changes
    where (change is not null and change is distinct from count - previous_count)
       or (change is null and count is not null and previous_count is not null and change_note is null)
       or (change is not null and change_note is not null)
)

select * from final
