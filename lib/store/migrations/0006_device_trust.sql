-- Issue 9 (trust the device, not the packet). A hello or agent report that names a device's UUID
-- from another address than the one its run in flight uses is kept here, never used as the
-- device's contact: two addresses claiming one UUID. While one is not cleared by an operator the
-- device is DUPLICATE_UUID and its runs park before they send anything to it.
create table device_identity_conflicts (
  id bigserial primary key,
  device uuid not null references devices (uuid),
  -- The address the message came from, and the one the device's contact (and its run) uses.
  host text not null,
  known_host text not null,
  source text not null check (source in ('hello', 'agent')),
  -- The run in flight when the message came, if any.
  workflow_id text,
  seen_at timestamptz not null default now(),
  cleared_at timestamptz,
  cleared_by text,
  check ((cleared_at is null) = (cleared_by is null))
);
create index device_identity_conflicts_open on device_identity_conflicts (device) where cleared_at is null;

-- Issue 9: an in-band agent speaks only for its own computer. One credential per device, issued by
-- an operator (shown once; only its SHA-256 is kept) and revocable on its own; re-issuing replaces it.
create table agent_credentials (
  device uuid primary key references devices (uuid),
  token_sha256 text not null unique check (token_sha256 ~ '^[0-9a-f]{64}$'),
  issued_at timestamptz not null default now(),
  issued_by text not null,
  revoked_at timestamptz
);
