-- Certificates issued to AMT devices by the built-in CA (spec I1, I2, UPD3, DEP2).
-- device_uuid is plain text, not a foreign key: the devices table belongs to another migration,
-- and a certificate's record must outlive the device row (the CRL still lists it).
create table certificates (
  serial text primary key check (serial ~ '^[0-9a-f]+$'),
  -- Idempotency key of the activity that asked for it: a retry finds this row instead of a second
  -- certificate. The fingerprint (template, device, name, key) tells a retry from a reuse.
  request_id text not null unique,
  request_fingerprint text not null,
  template text not null check (template in ('amt-web-server', 'ieee8021x-client')),
  device_uuid text not null,
  dns_name text not null,
  subject text not null,
  -- SHA-256 of the issuing CA certificate: the CRL of that CA lists this row once revoked.
  issuer_sha256 text not null,
  key_source text not null check (key_source in ('device', 'amtflow')),
  certificate_pem text not null,
  not_before timestamptz not null,
  not_after timestamptz not null,
  issued_at timestamptz not null default now(),
  status text not null default 'issued' check (status in ('issued', 'revoked')),
  revocation_reason text check (revocation_reason in (
    'unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded',
    'cessationOfOperation', 'privilegeWithdrawn')),
  revoked_at timestamptz,
  constraint certificates_revocation_complete
    check ((status = 'revoked') = (revocation_reason is not null and revoked_at is not null))
);
create index certificates_device_idx on certificates (device_uuid, status);
create index certificates_revoked_idx on certificates (issuer_sha256, serial) where status = 'revoked';

-- Private keys amtflow generated for firmware that cannot make its own, sealed with the secret box
-- (associated data `certificate-key:<serial>`). Deleted once the firmware holds the key.
create table certificate_private_keys (
  serial text primary key references certificates (serial),
  sealed_key text not null,
  created_at timestamptz not null default now()
);

-- The current CRL of each issuing CA. Numbers come from a sequence so that they only ever grow,
-- across processes and even when a transaction that drew one rolls back.
create sequence certificate_crl_number;
create table certificate_revocation_lists (
  issuer_sha256 text primary key,
  crl_number bigint not null,
  this_update timestamptz not null,
  next_update timestamptz not null,
  der bytea not null
);
