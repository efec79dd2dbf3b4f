-- Shared SQL macros: one definition of each parsing rule and each formula, used by every model.

-- Text keys for matching category names across classifications (Title Case and UPPER CASE, wrapped lines).
create or replace macro norm_text(x) as regexp_replace(upper(trim(x)), '\s+', ' ', 'g');

-- Ward names as recorded: case, '&' for 'and', apostrophes, other punctuation and spacing ignored
-- ('Wimbledon Town & Dundonald.' = 'wimbledon town and dundonald'; "Queen's Park" = 'Queens Park').
create or replace macro norm_ward_name(x) as nullif(trim(regexp_replace(
    regexp_replace(replace(lower(x), '&', ' and '), '[''’]', '', 'g'), '[^a-z0-9]+', ' ', 'g')), '');

-- Home Office offence codes: '4.1', '4/1', ' 008N ' and '004/01' all become the canonical '4/1' / '8N'.
create or replace macro norm_ho_code(x) as nullif(
    regexp_replace(regexp_replace(replace(replace(upper(trim(x)), '.', '/'), ' ', ''), '^0+([0-9])', '\1'), '/0+([0-9])', '/\1'),
    '');

-- UK police exports: day-first dates, ISO dates, with or without times, and Excel serial day numbers.
create or replace macro parse_timestamp(x) as coalesce(
    try_strptime(trim(x), ['%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M', '%d/%m/%Y', '%Y-%m-%d %H:%M:%S', '%Y-%m-%dT%H:%M:%S',
                           '%Y-%m-%d %H:%M', '%Y-%m-%d', '%d-%m-%Y %H:%M', '%d-%m-%Y', '%d.%m.%Y']),
    case when regexp_full_match(trim(x), '[1-9][0-9]{4}(\.[0-9]+)?')
         then timestamp '1899-12-30' + to_seconds(cast(round(cast(trim(x) as double) * 86400) as bigint)) end);

-- Flags: null means "not recorded"; anything unrecognised is caught by flag_is_valid.
create or replace macro parse_flag(x) as case
    when upper(trim(x)) in ('TRUE', 'T', 'Y', 'YES', '1') then true
    when upper(trim(x)) in ('FALSE', 'F', 'N', 'NO', '0') then false end;
create or replace macro flag_is_valid(x) as x is null or trim(x) = '' or parse_flag(x) is not null;

-- Ages: blank and the usual "unknown" words are unknown (null), not errors.
create or replace macro age_is_unknown_word(x) as x is null or upper(trim(x)) in ('', 'UNKNOWN', 'N/K', 'NK', 'NOT KNOWN', 'U', '-');
create or replace macro parse_age(x) as try_cast(try_cast(trim(x) as double) as integer);
create or replace macro age_band(age) as case
    when age is null then 'unknown' when age < 18 then '0-17' when age < 25 then '18-24' when age < 35 then '25-34'
    when age < 50 then '35-49' when age < 65 then '50-64' else '65+' end;

create or replace macro parse_sex(x) as case
    when upper(trim(x)) in ('M', 'MALE') then 'male' when upper(trim(x)) in ('F', 'FEMALE') then 'female'
    when x is null or trim(x) = '' then null else 'unknown' end;

-- Metric formulas (DESIGN §6.2).
create or replace macro pct(numerator, denominator) as
    case when denominator > 0 then round(100.0 * numerator / denominator, 1) end;
create or replace macro pct_change(current_count, previous_count) as
    case when previous_count > 0 then round(100.0 * (current_count - previous_count) / previous_count, 1) end;
-- Descriptive only: the change flag comes from the exact test in macros_geography.sql.
create or replace macro poisson_z(current_count, previous_count) as
    round(2 * (sqrt(current_count) - sqrt(previous_count)), 2);

-- The square of the location grid (int_location_grid) numbered `cell` = column * rows + row.
create or replace macro grid_cell_box(cell, x0, y0, cell_m, ny) as st_makeenvelope(
    x0 + (cell // ny) * cell_m, y0 + (cell % ny) * cell_m, x0 + (cell // ny + 1) * cell_m, y0 + (cell % ny + 1) * cell_m);

-- CSV outputs (publish.write_tables): a text cell starting with = + - @, a tab or a carriage return is
-- prefixed with ' so a spreadsheet opening the CSV shows it as text, never runs it (OWASP CSV injection).
create or replace macro csv_safe_text(x) as
    case when left(x, 1) in ('=', '+', '-', '@', chr(9), chr(13)) then '''' || x else x end;

-- Period coverage (int_period_coverage): a change is shown only when both periods are covered in full
-- by the inputs; otherwise change, pct_change, p, q and flag are null and change_note says why.
create or replace macro change_comparable(months_covered, months_in_period, previous_months_covered,
                                          previous_months_in_period) as
    months_covered >= months_in_period and previous_months_covered >= previous_months_in_period;
create or replace macro change_note(months_covered, months_in_period, previous_months_covered,
                                    previous_months_in_period) as
    case when not change_comparable(months_covered, months_in_period, previous_months_covered, previous_months_in_period)
         then 'change not shown: ' || concat_ws(' and ',
             case when months_covered < months_in_period
                  then 'current period has ' || months_covered || ' of ' || months_in_period || ' months in the inputs' end,
             case when previous_months_covered < previous_months_in_period
                  then 'previous period has ' || previous_months_covered || ' of ' || previous_months_in_period
                       || ' months in the inputs' end) end;
-- One spelling of an area name for matching across files (MPS "Kingston upon Thames", boundary files,
-- LSOA names): case, spacing and "&" / "and" do not matter.
create or replace macro area_key(x) as regexp_replace(lower(trim(replace(x, '&', 'and'))), '\s+', ' ', 'g');
