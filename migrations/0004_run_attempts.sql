-- How many times a run was started. A process that dies during a run leaves it `running`; the
-- next start runs it again, unless it has been started MAX_ATTEMPTS (3) times already: then it
-- is `failed`, so a run that kills the server cannot kill it on every restart.
alter table runs add column attempts integer not null default 0;
