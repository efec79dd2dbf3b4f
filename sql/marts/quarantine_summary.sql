-- quarantine_summary
-- Grain: one row per input file x input table: rows in = loaded + superseded + quarantined.
-- rows_read is what the reader counted in the file (data records, blank lines excluded); rows_in
-- is what reached the database (typed rows + malformed lines). Each term is counted on its own
-- (superseded rows in int_superseded_rows), so `reconciled` is false if any row is unaccounted for;
-- the run refuses to publish if so. `quarantine_rules` lists rule: rows.
-- unique_key: source_file, input_table
with rows_in as (
    select source_file, 'offences' as input_table, count(*) as n from stg_offences group by all
    union all
    select source_file, person_role || 's', count(*) from stg_people group by all
    union all
    select source_file, 'counts', count(*) from stg_mps_counts group by all
    union all
    select files.source_file, 'crimes', rows.n  -- by file number first: the path is not on each row
    from (select file_id, count(*) as n from stg_police_uk group by all) as rows
    join raw_police_uk_files as files using (file_id)
    union all
    select source_file, 'fingertips', count(*) from stg_fingertips group by all
    union all
    select source_file, 'partner', count(*) from stg_partner group by all
),

malformed as (
    select source_file, input_table, count(*) as n from raw_rejects group by all
),

quarantined as (
    select source_file, input_table, count(*) as n from quarantine group by all
),

loaded as (
    select source_file, 'offences' as input_table, count(*) as n from int_offences_current group by all
    union all
    select source_file, person_role || 's', count(*) from int_people_current group by all
    union all
    select source_file, 'counts', count(*) from int_mps_counts_current group by all
    union all
    select files.source_file, 'crimes', rows.n
    from (select file_id, count(*) as n from int_police_uk_located group by all) as rows
    join raw_police_uk_files as files using (file_id)
    union all
    select source_file, 'fingertips', count(*) from int_fingertips_current group by all
    union all
    select source_file, 'partner', count(*) from int_partner_current group by all
),

superseded as (
    select source_file, input_table, count(*) as n from int_superseded_rows group by all
),

rules as (
    select source_file, input_table, string_agg(rule || ': ' || n, '; ' order by n desc, rule) as quarantine_rules
    from (select source_file, input_table, rule, count(*) as n from quarantine group by all)
    group by all
),

files as (
    select source_file, input_table from rows_in
    union
    select source_file, input_table from malformed
    union
    select path, role from audit_inputs where duplicate_of is not null
),

final as (
    select
        files.source_file,
        files.input_table,
        audit_inputs.rows_read,
        coalesce(rows_in.n, 0) + coalesce(malformed.n, 0) as rows_in,
        coalesce(loaded.n, 0) as rows_loaded,
        coalesce(superseded.n, 0) as rows_superseded,
        coalesce(quarantined.n, 0) as rows_quarantined,
        pct(coalesce(quarantined.n, 0), coalesce(rows_in.n, 0) + coalesce(malformed.n, 0)) as quarantined_pct,
        coalesce(rows_in.n, 0) + coalesce(malformed.n, 0)
            = coalesce(loaded.n, 0) + coalesce(superseded.n, 0) + coalesce(quarantined.n, 0)
            and (audit_inputs.rows_read is null
                 or audit_inputs.rows_read = coalesce(rows_in.n, 0) + coalesce(malformed.n, 0)) as reconciled,
        rules.quarantine_rules,
        case when audit_inputs.duplicate_of is not null
             then 'identical to ' || audit_inputs.duplicate_of || ': not loaded again' end as note,
        getvariable('run_id') as run_id
    from files
    left join rows_in using (source_file, input_table)
    left join malformed using (source_file, input_table)
    left join quarantined using (source_file, input_table)
    left join loaded using (source_file, input_table)
    left join superseded using (source_file, input_table)
    left join rules using (source_file, input_table)
    left join audit_inputs on audit_inputs.path = files.source_file and audit_inputs.role = files.input_table
    order by files.source_file, files.input_table
)

select * from final
