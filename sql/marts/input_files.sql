-- input_files
-- Grain: one row per input file read by the run (reference files included): the lineage behind
-- every figure. Path, size, sha256, encoding and rows read, stamped with the run id.
-- unique_key: kind, role, path
with inputs as (
    select * from audit_inputs
),

final as (
    select *, getvariable('run_id') as run_id
    from inputs
    order by kind, role, path
)

select * from final
