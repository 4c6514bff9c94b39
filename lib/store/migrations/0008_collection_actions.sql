-- Collection actions and the scheduled flows (issue 11 §3–§4).

-- Two more lifecycle operations, each a run under the device's one workflow id: the AMT web-server
-- certificate renewed before it expires, and the AMT remote admin password rotated.
alter table provisioning_results drop constraint provisioning_results_operation_check;
alter table provisioning_results add constraint provisioning_results_operation_check check (
  operation in ('provision', 'update', 'remove', 'rename_or_move', 'renew_certificate', 'rotate_password')
);

-- Per-device outcome of a collection action (workflows/collection-action.ts), keyed by the action's
-- workflow id: a retried activity overwrites the row with the same or a later status.
create table collection_action_results (
  action_id text not null,
  device uuid not null references devices (uuid),
  status text not null check (status in ('started', 'busy', 'refused', 'succeeded', 'failed')),
  -- The lifecycle run's workflow id, when one was started.
  workflow_id text,
  -- Stable error code and message of a refusal or failure (secret-free, like every failure message).
  error_code text,
  error_message text,
  updated_at timestamptz not null default now(),
  primary key (action_id, device)
);
create index collection_action_results_status_idx on collection_action_results (action_id, status);
