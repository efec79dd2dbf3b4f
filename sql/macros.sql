-- Shared SQL macros: one definition of each parsing rule and each formula, used by every model.

-- Text keys for matching category names across classifications (Title Case and UPPER CASE, wrapped lines).
create or replace macro norm_text(x) as regexp_replace(upper(trim(x)), '\s+', ' ', 'g');

-- trim(x), but a string with no space at either end is returned as it is, not copied (on millions of
-- rows, as in data.police.uk files, the copy is most of the cost).
create or replace macro trim_spaces(x) as case when starts_with(x, ' ') or ends_with(x, ' ') then trim(x) else x end;

-- Ward names as recorded: case, '&' for 'and', apostrophes, other punctuation and spacing ignored
-- ('Wimbledon Town & Dundonald.' = 'wimbledon town and dundonald'; "Queen's Park" = 'Queens Park').
create or replace macro norm_ward_name(x) as nullif(trim(regexp_replace(
    regexp_replace(replace(lower(x), '&', ' and '), '[''’]', '', 'g'), '[^a-z0-9]+', ' ', 'g')), '');

-- Home Office offence codes: '4.1', '4/1', ' 008N ' and '004/01' all become the canonical '4/1' / '8N'.
create or replace macro norm_ho_code(x) as nullif(
    regexp_replace(regexp_replace(replace(replace(upper(trim(x)), '.', '/'), ' ', ''), '^0+([0-9])', '\1'), '/0+([0-9])', '/\1'),
    '');

-- Every date/time parse goes through try_strptime_shaped: it hands try_strptime only a string whose shape
-- (digits, separators, optional surrounding whitespace) fits the whole format. DuckDB 1.5.5's strptime reads
-- one byte past the end of a string that stops before a format literal ('01/01/2021 00:00' against
-- '%d/%m/%Y %H:%M:%S' reads s[16]) and of a long all-whitespace string; on a string trim() put at the end of
-- a heap page that is a SIGSEGV (docs/performance.md). Formats may use %Y %m %d %H %M %S, '.', space and
-- other non-digit literals; strings of any other shape are unparseable (null), as strptime would make them,
-- except DuckDB's specials ('infinity', 'epoch'), which 1.5.5 turned into 1900-01-01.
create or replace macro strptime_shape(fmt) as '[[:space:]]*' || replace(replace(replace(replace(replace(replace(replace(
    replace(fmt, '.', '\.'), ' ', '[[:space:]]+'), '%Y', '[0-9]{1,4}'), '%m', '[0-9]{1,2}'), '%d', '[0-9]{1,2}'),
    '%H', '[0-9]{1,2}'), '%M', '[0-9]{1,2}'), '%S', '[0-9]{1,2}') || '[[:space:]]*';
create or replace macro try_strptime_shaped(s, fmt) as
    case when regexp_full_match(s, strptime_shape(fmt)) then try_strptime(s, fmt) end;

-- UK police exports: day-first dates, ISO dates, with or without times, and Excel serial day numbers.
-- The first format that parses wins (as try_strptime(s, [list]) does).
create or replace macro parse_timestamp(x) as coalesce(
    try_strptime_shaped(trim(x), '%d/%m/%Y %H:%M:%S'), try_strptime_shaped(trim(x), '%d/%m/%Y %H:%M'),
    try_strptime_shaped(trim(x), '%d/%m/%Y'), try_strptime_shaped(trim(x), '%Y-%m-%d %H:%M:%S'),
    try_strptime_shaped(trim(x), '%Y-%m-%dT%H:%M:%S'), try_strptime_shaped(trim(x), '%Y-%m-%d %H:%M'),
    try_strptime_shaped(trim(x), '%Y-%m-%d'), try_strptime_shaped(trim(x), '%d-%m-%Y %H:%M'),
    try_strptime_shaped(trim(x), '%d-%m-%Y'), try_strptime_shaped(trim(x), '%d.%m.%Y'),
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
