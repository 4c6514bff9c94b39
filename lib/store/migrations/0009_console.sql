-- Console operations (spec OPS1, OPS3; issue 13).

-- OPS1: when each device's AMT status (devices.discovery_status) was last determined.
alter table devices add column discovery_seen_at timestamptz;

-- OPS1 over an address range: what answered at each address and port pair, known device or not.
-- One row per address (the last sweep's finding); `device` when the address is a known device's contact.
create table discovered_addresses (
  host text not null,
  http_port integer not null check (http_port between 1 and 65535),
  tls_port integer not null check (tls_port between 1 and 65535),
  device uuid references devices (uuid),
  status text not null check (
    status in ('unknown', 'not_supported', 'detected', 'not_provisioned', 'provisioned', 'externally_provisioned')
  ),
  amt_version text,
  -- What the status rests on, e.g. {"http": "answered 200", "tls": "refused before HTTP", "login": "amt_admin:1"}.
  evidence jsonb not null default '{}'::jsonb,
  -- Workflow id of the sweep that saw it.
  seen_by text not null,
  seen_at timestamptz not null default now(),
  primary key (host, http_port, tls_port)
);
create index discovered_addresses_device_idx on discovered_addresses (device);

-- OPS3: every redirection session an operator opened (P7 audit beside the audit log): who, which
-- device, what kind, when it started and ended, and how. Credentials never appear here.
create table redirection_sessions (
  id bigserial primary key,
  device uuid not null references devices (uuid),
  kind text not null check (kind in ('sol', 'ider')),
  actor text not null,
  started_at timestamptz not null default now(),
  -- Deadline the broker enforces (time-limited sessions).
  expires_at timestamptz not null,
  ended_at timestamptz,
  outcome text check (outcome in ('closed', 'expired', 'failed', 'refused')),
  details jsonb not null default '{}'::jsonb,
  check ((ended_at is null) = (outcome is null))
);
create index redirection_sessions_device_idx on redirection_sessions (device, id);
