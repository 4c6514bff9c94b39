-- Principals, their roles per collection and their API tokens (spec P7, issue 11 section 1).
-- A principal is a user or a service account. A role is held on one collection, or on '*': every
-- collection, the devices in none, and the site itself (profiles, principals, keys).
create table principals (
  id bigserial primary key,
  name text not null unique check (length(name) between 1 and 128),
  kind text not null check (kind in ('user', 'service')),
  created_at timestamptz not null default now(),
  disabled_at timestamptz
);

-- View management controllers < Manage management controllers < administrator; one role per
-- principal and collection, the higher including the lower (lib/rights.ts).
create table principal_roles (
  principal bigint not null references principals (id) on delete cascade,
  collection text not null check (length(collection) between 1 and 128),
  role text not null check (role in ('view', 'manage', 'administrator')),
  granted_at timestamptz not null default now(),
  primary key (principal, collection)
);

-- Bearer tokens: random, stored only as their SHA-256, revocable one by one. A revoked token stays
-- as a row, so the audit log's references to it keep their meaning.
create table api_tokens (
  id bigserial primary key,
  principal bigint not null references principals (id) on delete cascade,
  label text not null default '',
  sha256 text not null unique check (sha256 ~ '^[0-9a-f]{64}$'),
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index api_tokens_principal_idx on api_tokens (principal);
