-- Start-up recovery finds the runs left queued or running, oldest first; the retention task
-- finds old failed and cancelled runs.
create index runs_status_created_at on runs (status, created_at);
