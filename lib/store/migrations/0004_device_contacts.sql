-- Where each device was last heard from, and what it said: the hello's source address and root
-- hashes (OOB1–OOB3), or the wired IP the in-band agent reported (IB2). Device-facing activities
-- connect to `host`; ports differ from 16992/16993 only for emulated devices on shared addresses.
create table device_contacts (
  device uuid primary key references devices (uuid),
  host text not null,
  http_port integer not null default 16992 check (http_port between 1 and 65535),
  tls_port integer not null default 16993 check (tls_port between 1 and 65535),
  source text not null check (source in ('hello', 'agent', 'operator')),
  -- [{ "algorithm": "sha256", "hex": "…" }] from the last hello; empty for other sources.
  root_hashes jsonb not null default '[]'::jsonb,
  admin_credentials_set boolean,
  hellos integer not null default 0 check (hellos >= 0),
  seen_at timestamptz not null default now()
);
