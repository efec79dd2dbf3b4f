-- Geography and rate macros (DESIGN §6.2 items 4, 8, 9, 12). Loaded by pipeline.geography after it
-- registers chi2_ppf and norm_sf (scipy): DuckDB has no chi-square quantile or normal tail function,
-- and a macro is bound when it is created, so these cannot live in macros.sql, which loads first.
-- Temporary: the run's DuckDB file must open without these Python functions.

-- Exact (Garwood) Poisson 95% limits for a count c: chi2(0.025; 2c)/2 and chi2(0.975; 2c + 2)/2.
create or replace temporary macro poisson_lower_95(c) as
    case when c is null then null when c <= 0 then 0.0 else chi2_ppf(0.025, 2 * c) / 2 end;
create or replace temporary macro poisson_upper_95(c) as
    case when c is null then null else chi2_ppf(0.975, 2 * c + 2) / 2 end;

-- Rate per 1,000 residents and its exact 95% interval; null without a population.
create or replace temporary macro rate_per_1000(c, population) as
    case when population > 0 then round(1000.0 * c / population, 2) end;
create or replace temporary macro rate_ci_lower(c, population) as
    case when population > 0 then round(1000.0 * poisson_lower_95(c) / population, 2) end;
create or replace temporary macro rate_ci_upper(c, population) as
    case when population > 0 then round(1000.0 * poisson_upper_95(c) / population, 2) end;

-- Two-sided p-value of a z-score that is N(0, 1) under no change (Poisson Z, Gi* z).
create or replace temporary macro p_two_sided(z) as
    case when z is null or isnan(z) then null else least(1.0, 2 * norm_sf(abs(z))) end;

-- Exact test of a change between two counts (DESIGN §12): the conditional binomial test of C given C + P,
-- weighted by the two periods' lengths in days (run variables), two-sided; exact_change_p is scipy's.
create or replace temporary macro change_p_value(c, p) as
    case when c is null or p is null then null
         else exact_change_p(c, p, getvariable('current_days'), getvariable('previous_days')) end;

-- The flag a reader sees, from a p-value at significance.alpha (or, across wards, a Benjamini-Hochberg
-- q-value at geography.fdr_alpha): never on fewer than significance.min_total crimes in the two periods
-- together, where no test can be trusted.
create or replace temporary macro change_flag(c, p, p_value, alpha) as case
    when c is null or p is null then null
    when c + p < getvariable('significance_min_total') then 'too_few_to_test'
    when p_value <= alpha and c > p then 'significant_increase'
    when p_value <= alpha and c < p then 'significant_decrease'
    else 'no_significant_change' end;

-- Benjamini-Hochberg step: p x m / rank; the q-value is the running minimum of this from the largest
-- p down (a window in the model: min(bh_step(...)) over (... order by p desc)), capped at 1.
create or replace temporary macro bh_step(p, m, p_rank) as least(1.0, p * m / p_rank);

-- Gi* hot/cold class from its z and FDR-adjusted q.
create or replace temporary macro hotspot_class(z, q, alpha) as case
    when z is null or q is null then 'not_computed'
    when q <= alpha and z > 0 then 'hot'
    when q <= alpha and z < 0 then 'cold'
    else 'not_significant' end;
