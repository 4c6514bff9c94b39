-- Core site database: settings profiles, collections, devices, credentials, directory objects,
-- OTP hashes and provisioning results. docs/data-model.md explains every table.
-- Values are validated in lib/store before they get here; the checks below keep the invariants
-- even against code that bypasses the repositories.

-- AMT settings profiles: everything stage two applies (spec OOB9, I8). Settings are jsonb validated
-- by lib/store/profile-settings.ts and hold no secret; the secrets (digest user passwords, wireless
-- passphrases, 802.1X passwords, the MEBx password) are sealed in profile_secrets.
create table settings_profiles (
  name text primary key,
  settings jsonb not null,
  -- Bumped on every save, so a result can say which settings a device received (UPD1).
  revision integer not null default 1 check (revision > 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table profile_secrets (
  profile text not null references settings_profiles (name) on update cascade on delete cascade,
  name text not null,
  -- SecretBox v1 (AES-256-GCM), associated data `profile-secret:<profile>:<revision>:<name>`.
  sealed text not null,
  primary key (profile, name)
);

-- Collections: automatic provisioning and the settings profile of their devices (spec DEP3, OOB9).
create table collections (
  name text primary key,
  automatic_provisioning boolean not null default false,
  settings_profile text references settings_profiles (name) on update cascade on delete restrict,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- A collection that provisions by itself must say with which settings.
  check (not automatic_provisioning or settings_profile is not null)
);

-- Devices, keyed by the SMBIOS UUID the firmware reports in its hello (OOB2). The uuid type makes
-- the key case-insensitive and canonical.
create table devices (
  uuid uuid primary key,
  host_name text not null,
  domain text not null,
  fqdn text generated always as (lower(host_name || '.' || domain)) stored,
  windows_computer_dn text,
  amt_version text,
  discovery_status text not null default 'unknown' check (
    discovery_status in ('unknown', 'not_supported', 'detected', 'not_provisioned', 'provisioned', 'externally_provisioned')
  ),
  provisioning_state text not null default 'unprovisioned' check (
    provisioning_state in ('unprovisioned', 'provisioning', 'provisioned', 'updating', 'removing', 'failed')
  ),
  -- Step id of the catalogue (e.g. OOB8.4) the last lifecycle run reached.
  provisioning_stage text,
  -- The per-device switch of DEP3/REN3; effective only together with the collection's flag.
  automatic_provisioning_enabled boolean not null default true,
  collection text references collections (name) on update cascade on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index devices_fqdn_idx on devices (fqdn);
create index devices_collection_idx on devices (collection);

-- Credentials under the write-ahead rule: a password is committed as `pending` before the device call
-- that sets it, becomes `current` once the device accepted it, and is `retired` when superseded.
-- `discarded` marks a pending value the device definitely refused.
create table credentials (
  id bigserial primary key,
  device uuid not null references devices (uuid),
  kind text not null check (kind in ('amt_admin', 'mebx', 'directory_account')),
  version integer not null check (version > 0),
  status text not null check (status in ('pending', 'current', 'retired', 'discarded')),
  username text,
  -- SecretBox v1 (AES-256-GCM), associated data `credential:<device>:<kind>:<version>`.
  sealed text not null,
  -- Workflow id + step of the activity that staged it: a retried activity gets the same version back.
  idempotency_key text not null unique,
  created_at timestamptz not null default now(),
  status_changed_at timestamptz not null default now(),
  unique (device, kind, version)
);
create unique index credentials_one_current_idx on credentials (device, kind) where status = 'current';

-- A password that may be in some firmware is never lost: rows are never deleted, their value and
-- identity never change, and the status only moves forward.
create function credentials_guard() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'credentials are never deleted';
  end if;
  if new.device <> old.device or new.kind <> old.kind or new.version <> old.version
     or new.sealed <> old.sealed or new.idempotency_key <> old.idempotency_key
     or new.username is distinct from old.username or new.created_at <> old.created_at then
    raise exception 'a credential is immutable except for its status';
  end if;
  if new.status <> old.status and not (
       (old.status = 'pending' and new.status in ('current', 'retired', 'discarded'))
       or (old.status = 'current' and new.status = 'retired')) then
    raise exception 'credential status cannot change from % to %', old.status, new.status;
  end if;
  return new;
end $$;
create trigger credentials_guard before update or delete on credentials
  for each row execute function credentials_guard();

-- The AMT account published in the directory for a device (spec I3, I4, OOB7). `pending` is written
-- before the directory write, so compensation knows what may exist there.
create table directory_objects (
  device uuid primary key references devices (uuid),
  dn text not null,
  spns text[] not null default '{}',
  windows_computer_dn text,
  key_version integer check (key_version >= 0),
  status text not null check (status in ('pending', 'published', 'deleted')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- One-time-password hashes reported by the in-band agent (spec IB2, IB5). Only the hash is stored.
create table otp_hashes (
  id bigserial primary key,
  device uuid not null references devices (uuid),
  algorithm text not null check (algorithm in ('sha1', 'sha256', 'sha384', 'sha512')),
  hash text not null check (hash ~ '^[0-9a-f]+$'),
  reported_amt_version text,
  wired_ip text,
  received_at timestamptz not null default now(),
  consumed_at timestamptz,
  -- Idempotency key of the verification that consumed it, so that verification can be retried.
  consumed_by text unique,
  check ((consumed_at is null) = (consumed_by is null))
);
create index otp_hashes_device_idx on otp_hashes (device, id);

-- What each lifecycle run reported at its end (spec OOB10, IB11).
create table provisioning_results (
  id bigserial primary key,
  device uuid not null references devices (uuid),
  operation text not null check (operation in ('provision', 'update', 'remove', 'rename_or_move')),
  workflow_id text not null,
  outcome text not null check (outcome in ('succeeded', 'failed', 'aborted')),
  stage_reached text,
  summary text not null,
  details jsonb not null default '{}'::jsonb,
  started_at timestamptz,
  finished_at timestamptz not null default now(),
  recorded_at timestamptz not null default now(),
  idempotency_key text not null unique
);
create index provisioning_results_device_idx on provisioning_results (device, id);
