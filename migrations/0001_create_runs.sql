-- A run: what was asked (model, settings), who may cancel or delete it (only a hash of the
-- owner token), where it is (status, progress) and what came out (summary, warnings, error).
create table runs (
    id uuid primary key,
    owner_token_hash bytea not null,
    model jsonb not null,
    -- The effective settings: the model's own, overridden by the request's, limits applied.
    settings jsonb not null,
    -- SHA-256 (hex) of the model and the effective settings: equal hashes, equal results.
    spec_hash text not null,
    engine text not null,
    status text not null default 'queued'
        check (status in ('queued', 'running', 'completed', 'converged', 'timed_out', 'cancelled', 'failed')),
    iterations_total bigint not null check (iterations_total > 0),
    iterations_done bigint not null default 0 check (iterations_done >= 0),
    -- The summary document exactly as the engine printed it: text, not jsonb, so that its bytes
    -- are kept.
    summary text,
    warnings jsonb,
    error text,
    elapsed_ms bigint,
    sample_rows integer not null default 0,
    created_at timestamptz not null default now(),
    started_at timestamptz,
    finished_at timestamptz
);
