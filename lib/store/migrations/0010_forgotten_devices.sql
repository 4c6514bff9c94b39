-- Forget a device that is gone (issue 11 §2): scrapped, stolen, lost, or its board replaced (a new
-- SMBIOS UUID). amtflow drops the device and its secrets without touching the firmware; what stays
-- is the audit log, the certificate records (revoked: the CRL lists them) and this row, which says
-- what was forgotten, when, by whom and why.
create table forgotten_devices (
  id bigserial primary key,
  device uuid not null,
  fqdn text not null,
  collection text,
  reason text not null check (reason in ('scrapped', 'stolen', 'lost', 'replaced')),
  note text,
  forgotten_by text not null,
  workflow_id text not null,
  -- Workflow id + step: a retried forget finds this row instead of writing a second one.
  idempotency_key text not null unique,
  forgotten_at timestamptz not null default now()
);
create index forgotten_devices_device_idx on forgotten_devices (device);

-- The forget flow is one more lifecycle operation under the device's workflow id.
alter table provisioning_results drop constraint provisioning_results_operation_check;
alter table provisioning_results add constraint provisioning_results_operation_check check (
  operation in ('provision', 'update', 'remove', 'rename_or_move', 'renew_certificate', 'rotate_password', 'forget')
);

-- Credentials stay never-deleted, with one exception: the transaction that forgets their device,
-- which declares it with `set_config('amtflow.forget', '<device uuid>', true)` after writing the
-- forgotten_devices row. A stray delete, or one for another device, is still refused.
create or replace function credentials_guard() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    if coalesce(current_setting('amtflow.forget', true), '') = old.device::text
       and exists (select 1 from forgotten_devices f where f.device = old.device) then
      return old;
    end if;
    raise exception 'credentials are never deleted';
  end if;
  if new.device <> old.device or new.kind <> old.kind or new.version <> old.version
     or new.idempotency_key <> old.idempotency_key
     or new.username is distinct from old.username or new.created_at <> old.created_at then
    raise exception 'a credential is immutable except for its status';
  end if;
  if new.sealed <> old.sealed and coalesce(current_setting('amtflow.reseal', true), '') <> 'on' then
    raise exception 'a credential is immutable except for its status';
  end if;
  if new.status <> old.status and not (
       (old.status = 'pending' and new.status in ('current', 'retired', 'discarded'))
       or (old.status = 'current' and new.status = 'retired')) then
    raise exception 'credential status cannot change from % to %', old.status, new.status;
  end if;
  return new;
end $$;
