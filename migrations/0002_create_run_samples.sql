-- The iteration sample of a run: one row per sampled iteration, the node values in the order of
-- the run's model. The primary key is the index the keyset pages walk: (run_id, iteration).
create table run_samples (
    run_id uuid not null references runs (id) on delete cascade,
    iteration bigint not null check (iteration >= 0),
    "values" double precision[] not null,
    primary key (run_id, iteration)
);
