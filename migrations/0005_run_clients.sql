-- Who submitted a run (the client's address), so that admission can bound the runs one client
-- has queued or running (MAX_RUNS_PER_CLIENT); the partial index keeps that count cheap.
alter table runs add column client text;
create index runs_active_by_client on runs (client) where status in ('queued', 'running');
