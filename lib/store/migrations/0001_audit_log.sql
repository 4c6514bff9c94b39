-- Append-only audit log: who did what to which target, when, and how it ended (spec P7).
create table audit_log (
  id bigserial primary key,
  at timestamptz not null default now(),
  actor text not null,
  action text not null,
  target text not null,
  outcome text not null check (outcome in ('success', 'failure', 'denied')),
  details jsonb not null default '{}'::jsonb
);
create index audit_log_target_idx on audit_log (target, at);

-- Rows are never changed or removed: the log is evidence.
create function audit_log_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only';
end $$;
create trigger audit_log_no_update before update or delete on audit_log
  for each statement execute function audit_log_append_only();
