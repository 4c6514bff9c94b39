-- Key rotation (lib/crypto/kek.ts): `npm run secrets:reseal` seals every stored credential again
-- under the newest key-encryption key. The value stays the same — the command opens each one and
-- seals that very plaintext, under the same associated data — but its ciphertext changes, which the
-- guard refused. It now allows a new `sealed` (and nothing else) in a transaction that declared
-- itself a reseal with `set_config('amtflow.reseal', 'on', true)`.
create or replace function credentials_guard() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
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
