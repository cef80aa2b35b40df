-- Each output's running mean and standard error as the run went, at most a few hundred
-- points (core::convergence), so that a shared or reloaded run draws its convergence chart.
alter table runs add column convergence jsonb;
