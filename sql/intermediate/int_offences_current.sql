-- int_offences_current
-- Grain: one row per crime reference: the latest extract version of each crime that passed the
-- row checks (a newer extract supersedes an older one). Cancelled and transferred records stay
-- here with counted = false: kept, but never counted.
-- unique_key: crime_ref
with valid as (
    select * exclude (failed_rules) from int_offences_checked where quarantine_rule is null
),

latest as (
    select *
    from valid
    qualify row_number() over (
        partition by crime_ref order by extract_date desc nulls last, source_file desc, source_row desc
    ) = 1
),

final as (
    select
        *,
        status not in ('cancelled', 'transferred') as counted,
        case when getvariable('date_basis') = 'committed'
             then coalesce(cast(committed_from as date), recorded_date)
             else recorded_date end as event_date
    from latest
)

select * from final
